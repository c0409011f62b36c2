//! The async driver against independent GCS emulators from PyPI, over real
//! sockets; every upload is verified by downloading the object. A peer that
//! cannot be installed or started fails the test. The cases are the
//! catalogue `resumable_conformance::peers`.
#![cfg(feature = "hyper")]

use resumable_conformance::drivers::Tokio;

resumable_conformance::peers_tests!(Tokio);
