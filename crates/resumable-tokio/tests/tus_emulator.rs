//! The tokio driver against the emulator's tus 1.0 mode, over real
//! sockets: faults met as the protocol says, every upload checked against
//! the emulator's stored bytes. The cases are the catalogue
//! `resumable_conformance::tus_emulator`.

use resumable_conformance::drivers::Tokio;

resumable_conformance::tus_emulator_tests!(Tokio);
