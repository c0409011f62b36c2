//! The blocking driver against the emulator, over real sockets: sizes,
//! every scripted fault, stalls, streams, resume, cancel, one upload of a
//! file at a time. The cases are the catalogue
//! `resumable_conformance::emulator`; this file only names the driver.

use resumable_conformance::drivers::Blocking;

resumable_conformance::emulator_tests!(Blocking);
