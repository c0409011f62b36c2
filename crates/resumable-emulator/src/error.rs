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
    /// A tus checksum algorithm given to the builder is not one the
    /// emulator computes.
    #[error("{0:?} is not a tus checksum algorithm the emulator computes (sha1, md5, crc32)")]
    UnknownTusChecksum(String),
    /// There is no such object.
    #[error("no object named {0:?}")]
    NoObject(String),
    /// The sink storage keeps no object data.
    #[error("the sink storage keeps no object data, only sizes and checksums")]
    NotStored,
    /// There is no tus upload at this URL.
    #[error("no tus upload at {0:?}")]
    NoTusUpload(String),
    /// The tus upload at this URL does not hold every byte of a known
    /// length (yet, or any more: expired, terminated).
    #[error("the tus upload at {url:?} is not complete: {offset} bytes of {length:?}, {state}")]
    TusIncomplete {
        /// Its URL.
        url: String,
        /// The bytes it holds.
        offset: u64,
        /// Its length, once told.
        length: Option<u64>,
        /// Where it stands, e.g. `active`, `expired`.
        state: &'static str,
    },
    /// A request on the tus upload at this URL is in flight: ask again once
    /// its answer is in.
    #[error("a request on the tus upload at {0:?} is in flight; ask again once it is answered")]
    TusBusy(String),
    /// There is no IETF draft upload at this URL.
    #[error("no IETF draft upload at {0:?}")]
    NoIetfUpload(String),
    /// The IETF draft upload at this URL is not complete (yet, or any more:
    /// expired, cancelled), or failed its `Repr-Digest`.
    #[error("the IETF draft upload at {url:?} is not complete: {offset} bytes, {state}")]
    IetfIncomplete {
        /// Its URL.
        url: String,
        /// The bytes it holds.
        offset: u64,
        /// Where it stands, e.g. `active`, `failed`.
        state: &'static str,
    },
    /// A request on the IETF draft upload at this URL is in flight: ask
    /// again once its answer is in.
    #[error(
        "a request on the IETF draft upload at {0:?} is in flight; ask again once it is answered"
    )]
    IetfBusy(String),
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
