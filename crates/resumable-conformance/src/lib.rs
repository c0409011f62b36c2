//! What every driver's tests run, written once: each catalogue is a module,
//! and each driver's `tests/` holds only the small runner that carries a
//! case out with that driver's API (blocking or async) and hands the result
//! back to the catalogue's checks.
//!
//! - [`soak`]: seeded random fault scripts for the emulator, each with the
//!   outcome the retry budget dictates, and the counts of a run.
//! - [`bad_input`]: lying or hostile servers and bad local sources, each
//!   with the typed error it must end the upload with.
//! - [`secrets`]: the strings that must never show in a log, an error or a
//!   checkpoint, and the searches for them.
//! - [`peers`]: independent GCS emulators from PyPI, installed on first use.
//!
//! The catalogues that need only the file API's calls run a driver through
//! the [`Driver`] trait, so their cases are written once; a driver's test
//! calls each case with its implementation from [`drivers`].

#[cfg(unix)]
pub mod bad_input;
mod driver;
pub mod drivers;
pub mod peers;
pub mod secrets;
pub mod soak;

pub use driver::{Driver, OnEvent, Setup};
