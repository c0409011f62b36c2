//! The tokio driver against the emulator's mode for Resumable Uploads for
//! HTTP (the IETF draft), over real sockets: faults met as the draft says,
//! every upload checked against the emulator's stored bytes. The cases are
//! the catalogue `resumable_conformance::ietf_emulator`.

use resumable_conformance::drivers::Tokio;

resumable_conformance::ietf_emulator_tests!(Tokio);
