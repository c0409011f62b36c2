//! One module per command.

pub(crate) mod cancel;
#[cfg(feature = "emulator")]
pub(crate) mod demo;
pub(crate) mod dry_run;
#[cfg(feature = "emulator")]
pub(crate) mod emulator;
pub(crate) mod endpoint_upload;
pub(crate) mod gcs;
pub(crate) mod generate;
pub(crate) mod http;
pub(crate) mod status;
pub(crate) mod tus;
pub(crate) mod upload;
