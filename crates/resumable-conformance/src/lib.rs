//! What every driver's tests run, written once: each catalogue is a module
//! of cases generic over the [`Driver`] trait, and a driver's test file runs
//! a whole catalogue with one line (`emulator_tests!(Blocking)` and the
//! like: one `#[test]` per case, named as the case) beside the few tests
//! that only that driver has.
//!
//! - [`emulator`]: the drivers against the emulator over real sockets:
//!   sizes, faults, stalls, streams, resume, cancel, one upload at a time.
//! - [`soak`]: seeded random fault scripts for the emulator, each with the
//!   outcome the retry budget dictates, and the counts of a run.
//! - [`bad_input`]: lying or hostile servers and bad local sources, each
//!   with the typed error it must end the upload with.
//! - [`secrets`]: the strings that must never show in a log, an error or a
//!   checkpoint, and the searches for them; the plain-`http` rule.
//! - [`peers`]: independent GCS emulators from PyPI, installed on first use.
//! - [`tus_emulator`]: the drivers against the emulator's tus 1.0 mode:
//!   faults met as the protocol says, every upload checked byte for byte.
//! - [`tus_soak`]: seeded random fault scripts for the emulator's tus mode,
//!   every upload stored whole with no rule of the protocol broken.
//! - [`sim`]: a tokio transport over `resumable-sim`'s in-memory server,
//!   with faults scripted per request, for a driver's own tests.
//!
//! The drivers themselves are in [`drivers`].

#[cfg(unix)]
pub mod bad_input;
mod driver;
pub mod drivers;
pub mod emulator;
pub mod ietf_emulator;
pub mod ietf_soak;
pub mod peers;
pub mod secrets;
pub mod sim;
pub mod soak;
pub mod tus_emulator;
pub mod tus_peers;
pub mod tus_soak;

pub use driver::{Call, Driver, Interrupt, Noted, Notes, OnEvent, Setup, Source, Wire};

/// One `#[test]` per case named, each running `$module::$case` with
/// `$driver`; a case may carry attributes (`#[ignore = "…"]`). The
/// catalogues' own macros (`emulator_tests!` …) call it with their lists.
#[doc(hidden)]
#[macro_export]
macro_rules! tests_of {
    ($driver:ty, $module:ident: $($(#[$attr:meta])* $case:ident),* $(,)?) => {
        $(
            $(#[$attr])*
            #[test]
            fn $case() {
                $crate::$module::$case::<$driver>();
            }
        )*
    };
}
