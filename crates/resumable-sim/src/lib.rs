//! IO-free models of the servers the engine talks to, for tests, fuzzing,
//! benches and the emulator: the application file API, Google Cloud
//! Storage's resumable upload host, a tus 1.0 server and a "Resumable
//! Uploads for HTTP" (IETF draft) server.
//!
//! The protocol rules are written once, as pure functions over headers and
//! a session's progress: [`gcs`] (which requests a session takes, what a
//! `PUT` asks for, how it ends), [`tus`] (the same for tus 1.0 and its
//! extensions), [`ietf`] (the same for the IETF draft, interop versions 6
//! and 8, with its `104` interim heads) and [`file_api`] (the key, the JSON bodies, what a
//! registration must match), refusing with a [`Refusal`]. Two servers apply
//! them: [`Server`], [`TusServer`] and [`IetfServer`] here, with whole bodies in memory,
//! scripted faults and the caller's virtual wall clock; and the emulator,
//! which streams bodies to storage over real sockets.
//!
//! The models read requests with their own parsers ([`wire`]), not the
//! client's codecs, so they are an independent oracle: a client header
//! built wrong is refused and logged in [`Server::violations`], whatever
//! the client's own parser would have made of it.
//!
//! A test feeds [`Server::serve`] each request the engine hands out, with
//! the body bytes it streamed and the fault to apply, and hands the
//! [`Reply`] back to the engine.

mod answer;
mod fault;
pub mod file_api;
pub mod gcs;
pub mod ietf;
mod refusal;
mod server;
#[cfg(test)]
mod test_support;
pub mod tus;
pub mod wire;

pub use answer::{Answer, Arrival};
pub use fault::Fault;
pub use gcs::UNIT;
pub use ietf::{Exchange, IETF_ENDPOINT, IetfFault, IetfOptions, IetfServer, IetfUpload, Interop};
pub use refusal::Refusal;
pub use server::{API, KEY, MAX_FILE_SIZE, Reply, Server, SimSession, Violations};
pub use tus::{TUS_ENDPOINT, TusFault, TusOptions, TusServer, TusUpload};
