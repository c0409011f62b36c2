//! Bad input, async driver: the catalogue of lying servers and bad local
//! files in `resumable_conformance::bad_input`, run through this driver.
//! Each case ends with its typed error, no panic, nothing registered.
#![cfg(all(unix, feature = "hyper"))]

use resumable_conformance::drivers::Tokio;

resumable_conformance::bad_input_tests!(Tokio);
