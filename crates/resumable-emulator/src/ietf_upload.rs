//! Upload resources of the IETF draft mode: their state, and the summary
//! the stats endpoint shows.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use resumable_sim::ietf::{Interop, Progress, Sha256};

use crate::storage::{Digest, Part};

/// Where an upload resource stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IetfState {
    /// Taking bytes, or complete.
    Live,
    /// Past its lifetime (or expired by a fault).
    Expired,
    /// Cancelled with `DELETE`.
    Cancelled,
    /// Dropped by a `kill` fault, or never announced: 404, as if it never was.
    Killed,
}

/// One upload resource.
#[derive(Debug)]
pub(crate) struct IetfResource {
    pub(crate) number: u64,
    /// Its URL, as the creation's `Location` gave it.
    pub(crate) url: String,
    /// The interop version of its creation.
    pub(crate) interop: Interop,
    pub(crate) progress: Progress,
    pub(crate) expires_at: Option<SystemTime>,
    pub(crate) state: IetfState,
    /// The creation's `Repr-Digest` (sha-256), checked on completion.
    pub(crate) repr_declared: Option<[u8; 32]>,
    /// The sha-256 of the bytes kept so far.
    pub(crate) repr: Sha256,
    /// Complete, but its bytes did not match `repr_declared`.
    pub(crate) failed: bool,
    /// CRC32C and MD5 of the bytes kept.
    pub(crate) digest: Digest,
    pub(crate) part: Part,
    pub(crate) bytes_received: u64,
    pub(crate) requests: u64,
}

impl IetfResource {
    /// Live but past its lifetime at `now`: becomes expired.
    pub(crate) fn check_expiry(&mut self, now: SystemTime) {
        if self.state == IetfState::Live
            && resumable_sim::ietf::expired(self.expires_at, self.progress.complete, now)
        {
            self.state = IetfState::Expired;
        }
    }

    pub(crate) fn info(&self) -> IetfUploadInfo {
        IetfUploadInfo {
            number: self.number,
            url: self.url.clone(),
            interop: self.interop.number(),
            state: match self.state {
                IetfState::Live if self.failed => IetfStatus::Failed,
                IetfState::Live if self.progress.complete => IetfStatus::Complete,
                IetfState::Live => IetfStatus::Active,
                IetfState::Expired => IetfStatus::Expired,
                IetfState::Cancelled => IetfStatus::Cancelled,
                IetfState::Killed => IetfStatus::Killed,
            },
            offset: self.progress.offset,
            length: self.progress.length,
            crc32c: self.digest.crc32c(),
            bytes_received: self.bytes_received,
            requests: self.requests,
            expires_at: self.expires_at.map(crate::time::rfc3339),
        }
    }
}

/// Where an upload resource stands, as reported by [`IetfUploadInfo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum IetfStatus {
    /// Taking bytes.
    Active,
    /// A request with `Upload-Complete: ?1` was fully processed.
    Complete,
    /// Complete, but its bytes do not match the creation's `Repr-Digest`.
    Failed,
    /// Past its lifetime, or expired by a fault.
    Expired,
    /// Cancelled by `DELETE`.
    Cancelled,
    /// Dropped by a `kill` fault, or created by a request cut off before
    /// its `104` went out: 404 from then on.
    Killed,
}

impl IetfStatus {
    /// The word for it, as in the stats' JSON.
    pub(crate) fn word(self) -> &'static str {
        match self {
            IetfStatus::Active => "active",
            IetfStatus::Complete => "complete",
            IetfStatus::Failed => "failed",
            IetfStatus::Expired => "expired",
            IetfStatus::Cancelled => "cancelled",
            IetfStatus::Killed => "killed",
        }
    }
}

/// A summary of one upload resource of the IETF draft mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IetfUploadInfo {
    /// 1 for the first created, and so on.
    pub number: u64,
    /// Its URL, as its creation's `Location` (and `104`) gave it.
    pub url: String,
    /// The interop version of its creation.
    pub interop: u64,
    /// Where it stands.
    pub state: IetfStatus,
    /// Bytes kept (its `Upload-Offset`).
    pub offset: u64,
    /// Its length, once told.
    pub length: Option<u64>,
    /// CRC32C of the bytes kept.
    pub crc32c: u32,
    /// Body bytes received over all its requests, its creation's included.
    pub bytes_received: u64,
    /// Requests made on its URL (not counting its creation).
    pub requests: u64,
    /// When it expires, RFC 3339.
    pub expires_at: Option<String>,
}
