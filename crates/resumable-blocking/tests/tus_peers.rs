//! The blocking driver against independent tus 1.0 servers, over real
//! sockets; every upload is verified by reading the server's own storage.
//! The cases are the catalogue `resumable_conformance::tus_peers`.

use resumable_conformance::drivers::Blocking;

resumable_conformance::tus_peers_tests!(Blocking);
