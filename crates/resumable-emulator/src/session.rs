//! Upload sessions: their state, and the summary the stats endpoint shows.

use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use resumable_sim::gcs::{Progress, Standing};

use crate::object::Object;
use crate::precondition::Preconditions;
use crate::storage::{Digest, Part};

/// Where a session stands.
#[derive(Debug)]
pub(crate) enum SessionState {
    Active,
    Complete(Arc<Object>),
    Cancelled,
    Killed,
    Expired,
}

impl SessionState {
    /// The standing the protocol rules route by.
    pub(crate) fn standing(&self) -> Standing {
        match self {
            SessionState::Active => Standing::Active,
            SessionState::Complete(_) => Standing::Complete,
            SessionState::Cancelled => Standing::Cancelled,
            SessionState::Killed => Standing::Killed,
            SessionState::Expired => Standing::Expired,
        }
    }
}

/// One resumable upload session.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) number: u64,
    pub(crate) bucket: String,
    pub(crate) name: String,
    pub(crate) content_type: String,
    /// The initiation's `ifGenerationMatch` and kin, checked again at finalize.
    pub(crate) preconditions: Preconditions,
    pub(crate) expires_at: SystemTime,
    pub(crate) state: SessionState,
    /// Bytes persisted, the total a request named, the length promised at
    /// creation (`file_size`, `X-Upload-Content-Length`).
    pub(crate) progress: Progress,
    pub(crate) digest: Digest,
    pub(crate) part: Part,
    pub(crate) bytes_received: u64,
    pub(crate) requests: u64,
}

impl Session {
    /// Active but past its lifetime: becomes expired.
    pub(crate) fn check_expiry(&mut self, now: SystemTime) {
        if matches!(self.state, SessionState::Active) && now >= self.expires_at {
            self.state = SessionState::Expired;
        }
    }

    pub(crate) fn info(&self) -> SessionInfo {
        SessionInfo {
            number: self.number,
            bucket: self.bucket.clone(),
            name: self.name.clone(),
            state: match self.state {
                SessionState::Active => SessionStatus::Active,
                SessionState::Complete(_) => SessionStatus::Complete,
                SessionState::Cancelled => SessionStatus::Cancelled,
                SessionState::Killed => SessionStatus::Killed,
                SessionState::Expired => SessionStatus::Expired,
            },
            persisted: self.progress.persisted,
            total: self.progress.known_total(),
            bytes_received: self.bytes_received,
            requests: self.requests,
            expires_at: crate::time::rfc3339(self.expires_at),
        }
    }
}

/// Where a session stands, as reported by [`SessionInfo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SessionStatus {
    /// Accepting data.
    Active,
    /// The object is finalized.
    Complete,
    /// Cancelled by `DELETE`: 404 from then on.
    Cancelled,
    /// Killed by a fault: 404 from then on.
    Killed,
    /// Past its lifetime (or expired by a fault): 410 from then on.
    Expired,
}

/// A summary of one upload session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionInfo {
    /// 1 for the first session created, and so on.
    pub number: u64,
    /// The bucket.
    pub bucket: String,
    /// The object name.
    pub name: String,
    /// Where it stands.
    pub state: SessionStatus,
    /// Bytes persisted.
    pub persisted: u64,
    /// The total, once declared or named by a request.
    pub total: Option<u64>,
    /// Body bytes received over all its requests (resent bytes counted again).
    pub bytes_received: u64,
    /// Requests made on it (not counting its creation).
    pub requests: u64,
    /// When it expires, RFC 3339.
    pub expires_at: String,
}
