//! The blocking driver against independent GCS emulators from PyPI, over
//! real sockets; every upload is verified by downloading the object. The
//! cases are the catalogue `resumable_conformance::peers`.

use resumable_conformance::drivers::Blocking;

resumable_conformance::peers_tests!(Blocking);
