//! What runs before and after the transfer. Three flows exist:
//!
//! - a bare session URL: nothing before (the transfer starts with an offset
//!   query, since the session may hold bytes already), nothing after;
//! - a protocol-native creation (a GCS initiation): the protocol's own
//!   create step, then the transfer;
//! - the application file API ([`file_api`]): `upload-url` hands out a
//!   session, the transfer fills it, `register` records the File.
//!
//! The engine (`upload.rs`) keeps every transition; this module holds the
//! file API's requests and reads its answers.

pub(crate) mod file_api;
