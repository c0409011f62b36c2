//! Bad input, blocking driver: the catalogue of lying servers and bad
//! local files in `resumable_conformance::bad_input`, run through this
//! driver. Each case ends with its typed error, no panic, nothing
//! registered.
#![cfg(unix)]

use resumable_conformance::drivers::Blocking;

resumable_conformance::bad_input_tests!(Blocking);
