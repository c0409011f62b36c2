//! One module per command.

pub(crate) mod cancel;
pub(crate) mod demo;
pub(crate) mod emulator;
pub(crate) mod gcs;
pub(crate) mod status;
pub(crate) mod upload;
