//! What an upload is: where the bytes go, how they are split, how failures are retried.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::backoff::RetryPolicy;
use crate::chunk::Chunking;
use crate::secret::{Secret, SessionUrl};

/// Everything [`crate::Upload::new`] needs. Build one with
/// [`Config::file_api`], [`Config::gcs_session`] or [`Config::gcs_initiate`],
/// then adjust the public fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Where the upload goes.
    pub target: Target,
    /// The source's size, when known up front (the file API needs it).
    pub total: Option<u64>,
    /// The source's identity, kept in checkpoints so a changed source is
    /// refused on resume. Drivers fill it from the file's metadata.
    pub fingerprint: Option<Fingerprint>,
    /// How the bytes are split into requests.
    pub chunking: Chunking,
    /// How failures are retried.
    pub retry: RetryPolicy,
    /// Seed of the backoff jitter. Drivers pass a random one; tests a fixed one.
    pub jitter_seed: u64,
    /// How many times a gone session is replaced before giving up.
    pub max_session_restarts: u32,
    /// Whether the source can be read again from offset 0, as a session
    /// restart needs. A one-pass stream cannot.
    pub restartable_source: bool,
    /// Before the final chunk, ask the driver to hash it ahead (with
    /// [`crate::Action::Checksum`]) when at most this many bytes are left
    /// unhashed, so the request carries `X-Goog-Hash` and the server refuses
    /// to finalize corrupted data. 0 turns it off.
    pub checksum_ahead_limit: u64,
    /// The source's MD5 when the caller knows it; the final object's
    /// `md5Hash` is then checked too.
    pub expected_md5: Option<[u8; 16]>,
    /// Refuse a final object that carries no CRC32C (in its JSON or its
    /// `x-goog-hash` header). On by default: without it only the size
    /// could be checked.
    pub require_crc32c: bool,
    /// Extra headers on every request to the upload host (signed-URL
    /// sessions, proxies). Never sent to the file API.
    pub upload_headers: http::HeaderMap,
    /// On [`crate::Upload::resume`], read the source's bytes that the
    /// checkpoint's CRC32C covers again ([`crate::Action::Checksum`]) and
    /// compare, before any request: a source rewritten with its size and
    /// modification time kept (`rsync -t`, `tar -x`, an image tool) would
    /// otherwise resume into an object of old and new bytes whose running
    /// CRC32C agrees with it, since it hashed what was sent. A mismatch
    /// ends the upload with [`crate::SourceError::Changed`].
    ///
    /// On by default. Turn it off for a source that cannot be read again
    /// from its start (a one-pass stream), or when reading it costs more
    /// than sending it again; the fingerprint is then the only check.
    pub verify_resumed_prefix: bool,
}

/// Where an upload goes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Target {
    /// The application file API: ask for a session, upload, register.
    FileApi(FileApi),
    /// A GCS bucket through the JSON API: initiate a session, upload.
    GcsInitiate(GcsInitiate),
    /// An existing resumable session URL: upload (starting with a status
    /// query, since it may hold bytes already).
    GcsSession(SessionUrl),
}

/// The file-API flow's parameters.
#[derive(Debug, Clone)]
pub struct FileApi {
    /// The API's base URL, e.g. `https://api.aitronos.com`.
    pub api_base: String,
    /// The organization the file belongs to.
    pub organization: String,
    /// The key, sent as `X-API-Key` to the API host only.
    pub api_key: Secret,
    /// The file's name, 1 to 255 characters.
    pub filename: String,
    /// The file's MIME type.
    pub mime_type: String,
}

/// Parameters to initiate a session with the GCS JSON API.
#[derive(Debug, Clone)]
pub struct GcsInitiate {
    /// The API endpoint, e.g. `https://storage.googleapis.com`.
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// The object's name.
    pub object: String,
    /// The object's content type.
    pub content_type: Option<String>,
    /// An OAuth bearer token for the initiation (the session URL needs none).
    pub bearer_token: Option<Secret>,
}

/// What identifies a source's content cheaply: its size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, when the platform has one.
    pub modified: Option<SystemTime>,
}

impl Config {
    fn with_target(target: Target, total: Option<u64>) -> Self {
        Self {
            target,
            total,
            fingerprint: None,
            chunking: Chunking::Auto,
            retry: RetryPolicy::default(),
            jitter_seed: 0,
            max_session_restarts: 3,
            restartable_source: true,
            checksum_ahead_limit: 32 * 1024 * 1024,
            expected_md5: None,
            require_crc32c: true,
            upload_headers: http::HeaderMap::new(),
            verify_resumed_prefix: true,
        }
    }

    /// The file-API flow for a source of `size` bytes.
    #[must_use]
    pub fn file_api(api: FileApi, size: u64) -> Self {
        Self::with_target(Target::FileApi(api), Some(size))
    }

    /// An upload to an existing session; `total` is `None` for a stream whose
    /// length is found at its end (see [`crate::Upload::set_total`]).
    #[must_use]
    pub fn gcs_session(url: SessionUrl, total: Option<u64>) -> Self {
        Self::with_target(Target::GcsSession(url), total)
    }

    /// An upload that first initiates a session with the GCS JSON API.
    #[must_use]
    pub fn gcs_initiate(initiate: GcsInitiate, total: Option<u64>) -> Self {
        Self::with_target(Target::GcsInitiate(initiate), total)
    }
}
