//! The crate's error type.

use std::io;
use std::net::SocketAddr;

use crate::faults::FaultSpecError;

/// What can go wrong starting the emulator or reading from it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The storage directory could not be prepared.
    #[error("cannot prepare the storage: {0}")]
    Storage(#[source] io::Error),
    /// The background runtime could not be started.
    #[error("cannot start the background runtime: {0}")]
    Runtime(#[source] io::Error),
    /// A fault spec does not parse.
    #[error(transparent)]
    FaultSpec(#[from] FaultSpecError),
    /// A bucket name given to the builder is not one Cloud Storage allows.
    #[error("{0:?} is not a bucket name: {1}")]
    BadBucket(String, &'static str),
    /// There is no such object.
    #[error("no object named {0:?}")]
    NoObject(String),
    /// The sink storage keeps no object data.
    #[error("the sink storage keeps no object data, only sizes and checksums")]
    NotStored,
    /// An object's bytes could not be read.
    #[error("cannot read object {name:?}: {source}")]
    Read {
        /// The object name.
        name: String,
        /// Why.
        #[source]
        source: io::Error,
    },
}
