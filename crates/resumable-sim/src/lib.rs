//! IO-free models of the servers the engine talks to, for tests, fuzzing
//! and benches: the application file API and Google Cloud Storage's
//! resumable upload host in one [`Server`], with scripted [`Fault`]s and
//! the caller's virtual wall clock.
//!
//! The models read requests with their own parsers ([`wire`]), not the
//! client's codecs, so they are an independent oracle: a client header
//! built wrong is refused and logged in [`Server::violations`], whatever
//! the client's own parser would have made of it.
//!
//! A test feeds [`Server::serve`] each request the engine hands out, with
//! the body bytes it streamed and the fault to apply, and hands the
//! [`Reply`] back to the engine.

mod fault;
mod server;
mod tus;
pub mod wire;

pub use fault::Fault;
pub use server::{API, KEY, Reply, Server, SimSession, UNIT, Violations};
pub use tus::{TUS_ENDPOINT, TusFault, TusOptions, TusServer, TusUpload};
