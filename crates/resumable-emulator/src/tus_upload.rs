//! tus uploads: their state, and the summary the stats endpoint shows.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use resumable_sim::tus::Progress;

use crate::storage::{Digest, Part};

/// Where a tus upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TusState {
    /// Taking bytes, or complete (its offset at its length).
    Live,
    /// Past its `Upload-Expires` (or expired by a fault): 410.
    Expired,
    /// Terminated with `DELETE`: 410.
    Terminated,
    /// Dropped by a `kill` fault: 404, as if it never was.
    Killed,
}

/// One tus upload resource.
#[derive(Debug)]
pub(crate) struct TusResource {
    pub(crate) number: u64,
    /// Its URL, as the creation's `Location` gave it.
    pub(crate) url: String,
    pub(crate) progress: Progress,
    pub(crate) metadata: Vec<(String, Vec<u8>)>,
    pub(crate) expires_at: Option<SystemTime>,
    pub(crate) state: TusState,
    /// CRC32C and MD5 of the bytes kept.
    pub(crate) digest: Digest,
    pub(crate) part: Part,
    pub(crate) bytes_received: u64,
    pub(crate) requests: u64,
}

impl TusResource {
    /// Live but past its expiry at `now`: becomes expired.
    pub(crate) fn check_expiry(&mut self, now: SystemTime) {
        if self.state == TusState::Live
            && resumable_sim::tus::expired(self.expires_at, self.progress.complete(), now)
        {
            self.state = TusState::Expired;
        }
    }

    pub(crate) fn info(&self) -> TusUploadInfo {
        TusUploadInfo {
            number: self.number,
            url: self.url.clone(),
            state: match self.state {
                TusState::Live if self.progress.complete() => TusStatus::Complete,
                TusState::Live => TusStatus::Active,
                TusState::Expired => TusStatus::Expired,
                TusState::Terminated => TusStatus::Terminated,
                TusState::Killed => TusStatus::Killed,
            },
            offset: self.progress.offset,
            length: self.progress.length,
            metadata: self
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
                .collect(),
            crc32c: self.digest.crc32c(),
            bytes_received: self.bytes_received,
            requests: self.requests,
            expires_at: self.expires_at.map(crate::time::rfc3339),
        }
    }
}

/// Where a tus upload stands, as reported by [`TusUploadInfo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TusStatus {
    /// Taking bytes.
    Active,
    /// Every byte of its length is in.
    Complete,
    /// Past its `Upload-Expires`, or expired by a fault: 410 from then on.
    Expired,
    /// Terminated by `DELETE`: 410 from then on.
    Terminated,
    /// Dropped by a `kill` fault: 404 from then on.
    Killed,
}

impl TusStatus {
    /// The word for it, as in the stats' JSON.
    pub(crate) fn word(self) -> &'static str {
        match self {
            TusStatus::Active => "active",
            TusStatus::Complete => "complete",
            TusStatus::Expired => "expired",
            TusStatus::Terminated => "terminated",
            TusStatus::Killed => "killed",
        }
    }
}

/// A summary of one tus upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TusUploadInfo {
    /// 1 for the first tus upload created, and so on.
    pub number: u64,
    /// Its URL, as its creation's `Location` gave it.
    pub url: String,
    /// Where it stands.
    pub state: TusStatus,
    /// Bytes kept (its `Upload-Offset`).
    pub offset: u64,
    /// Its length, once told.
    pub length: Option<u64>,
    /// Its creation's `Upload-Metadata`, decoded (bytes that are not UTF-8
    /// replaced).
    pub metadata: BTreeMap<String, String>,
    /// CRC32C of the bytes kept.
    pub crc32c: u32,
    /// Body bytes received over all its requests, its creation's included
    /// (resent bytes counted again).
    pub bytes_received: u64,
    /// Requests made on its URL (not counting its creation).
    pub requests: u64,
    /// Its `Upload-Expires`, RFC 3339, under the expiration extension.
    pub expires_at: Option<String>,
}
