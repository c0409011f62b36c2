//! What an upload is: where the bytes go, how they are split, how failures are retried.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::backoff::RetryPolicy;
use crate::checkpoint::Protocol;
use crate::chunk::Chunking;
use crate::protocol::ietf::InteropVersion;
use crate::secret::{Secret, SessionUrl};

/// Everything [`crate::Upload::new`] needs. Build one with
/// [`Config::file_api`], [`Config::gcs_session`], [`Config::gcs_initiate`],
/// [`Config::tus_create`], [`Config::tus_upload`], [`Config::ietf_create`]
/// or [`Config::ietf_upload`], then adjust the public
/// fields. Its `Debug` shows the names of the extra upload headers, never
/// their values (they carry credentials).
#[derive(Clone)]
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
    /// `x-goog-hash` header). On by default for GCS: without it only the
    /// size could be checked. Off for tus, whose servers report none.
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
    /// Allow plain `http` to hosts other than loopback. Off by default:
    /// requests carry credentials (the API key, the session URL), so every
    /// URL the core sends to must be `https`, or `http` to a loopback host
    /// ([`crate::url_policy`]). A configured URL that breaks the rule fails
    /// [`crate::Upload::new`]; one a server hands out (a session's
    /// `upload_url`, an initiation's `Location`) ends the upload when it
    /// arrives; both with [`crate::Error::Insecure`], nothing sent to it.
    pub allow_insecure_http: bool,
    /// The least time between two checkpoints that only record progress
    /// (a higher persisted offset); zero, the default: one after every
    /// chunk. A checkpoint that records a new session, an object stored but
    /// not registered, or anything else a resume needs is handed out at
    /// once, and so is the last one when the upload stops; only progress
    /// waits, so a driver writes (and syncs) one checkpoint per interval
    /// rather than one per chunk between an answer and the next request. A
    /// source that cannot be read again ([`Config::restartable_source`] off)
    /// gets one after every chunk still: its checkpoint is also when the
    /// driver lets go of the bytes the server holds, so its buffer stays one
    /// chunk long.
    ///
    /// Zero by default because adaptive chunks ([`Chunking::Adaptive`])
    /// leave few checkpoints to write (a handful per GiB once they have
    /// grown), and a checkpoint at the server's offset is what lets
    /// [`Config::verify_resumed_prefix`] cover every byte the server holds:
    /// behind it, a file rewritten with its size and modification time kept
    /// is found only by the final CRC32C, after its bytes were sent. Set it
    /// for many small fixed chunks on a disk whose `fsync` is slow.
    ///
    /// What a crash costs, by where it strikes (a resume always asks the
    /// server for its offset first, a GCS status query or tus's `HEAD`, and
    /// goes on from what the server says, never from the checkpoint alone):
    ///
    /// | the crash comes | the next run |
    /// |---|---|
    /// | before the session's checkpoint is written | starts a new session; the old one is left to expire (GCS), or left on the server (tus: a creation cannot be told apart from a new one) |
    /// | mid-chunk | sends again what the server did not keep of that chunk (GCS keeps the whole 256 KiB units that arrived), at most one chunk |
    /// | between two progress checkpoints (an interval set) | reads (hashes) again the bytes between the checkpoint's offset and the server's, at most one interval's worth; sends none of them |
    /// | after the last byte, before the stored object's checkpoint | learns from the status query that the object is stored (its final answer again) and goes on to register |
    /// | after the stored object's checkpoint | registers without a request to the upload host |
    pub checkpoint_interval: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            target,
            total,
            fingerprint,
            chunking,
            retry,
            jitter_seed,
            max_session_restarts,
            restartable_source,
            checksum_ahead_limit,
            expected_md5,
            require_crc32c,
            upload_headers,
            verify_resumed_prefix,
            allow_insecure_http,
            checkpoint_interval,
        } = self;
        let header_names: Vec<&str> = upload_headers
            .keys()
            .map(http::HeaderName::as_str)
            .collect();
        f.debug_struct("Config")
            .field("target", target)
            .field("total", total)
            .field("fingerprint", fingerprint)
            .field("chunking", chunking)
            .field("retry", retry)
            .field("jitter_seed", jitter_seed)
            .field("max_session_restarts", max_session_restarts)
            .field("restartable_source", restartable_source)
            .field("checksum_ahead_limit", checksum_ahead_limit)
            .field("expected_md5", expected_md5)
            .field("require_crc32c", require_crc32c)
            .field("upload_headers", &header_names)
            .field("verify_resumed_prefix", verify_resumed_prefix)
            .field("allow_insecure_http", allow_insecure_http)
            .field("checkpoint_interval", checkpoint_interval)
            .finish()
    }
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
    /// A tus 1.0 server: create an upload at its endpoint, upload.
    TusCreate(TusCreate),
    /// An existing tus upload URL: upload (starting with a `HEAD`, since it
    /// may hold bytes already).
    TusUpload(SessionUrl),
    /// A resource that takes resumable uploads of the IETF draft
    /// (draft-ietf-httpbis-resumable-upload): create an upload resource
    /// with the first request, upload.
    IetfCreate(IetfCreate),
    /// An existing upload resource of the IETF draft, and the interop
    /// version it was created with: upload (starting with a `HEAD`).
    IetfUpload(SessionUrl, InteropVersion),
}

/// How an upload of the IETF draft creates its upload resource (the
/// draft's §11).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum IetfStrategy {
    /// Careful creation (§11.2), the default: an empty request with
    /// `Upload-Complete: ?0` creates the upload resource, whose `201`
    /// names it (and its `Upload-Limit`), then `PATCH`es carry the bytes.
    /// One round trip more, and every byte is sent resumably, whatever the
    /// driver: the one to use where the HTTP client does not hand `1xx`
    /// responses over (the blocking driver's ureq).
    #[default]
    Careful,
    /// Optimistic creation (§11.1): the creation request carries the first
    /// chunk, the whole source when it fits in one (with `Upload-Complete:
    /// ?1`, an ordinary upload the server may upgrade). Resumable only once
    /// a `104 (Upload Resumption Supported)` with `Location` arrives, which
    /// the driver hands to [`crate::Upload::handle_informational`]: a
    /// failure after it resumes with a `HEAD`, one before it sends the
    /// creation again. The tokio driver hands them over; without them (the
    /// blocking driver) an optimistic creation cut off is sent again from
    /// the start.
    Optimistic,
}

/// Parameters to start an upload to a resource that takes resumable
/// uploads of the IETF draft.
///
/// ```
/// use resumable_core::{Config, IetfCreate, IetfStrategy};
///
/// let create = IetfCreate {
///     content_type: Some("video/mp4".into()),
///     strategy: IetfStrategy::Careful,
///     ..IetfCreate::new("https://upload.example/project/123/files")
/// };
/// let config = Config::ietf_create(create, Some(1_000_000));
/// ```
#[derive(Debug, Clone)]
pub struct IetfCreate {
    /// The target resource, e.g. `https://example.com/project/123/files`:
    /// the creation request goes there, and its final answer (to the
    /// request that completes the upload) is that resource's. A relative
    /// `Location` is resolved against it.
    pub endpoint: String,
    /// The creation request's method: `POST` by default; any method that
    /// carries content (`PUT`, `PATCH`) as the resource takes it (§4.2.1).
    pub method: http::Method,
    /// The representation's media type, sent as the creation's
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// How the upload resource is created.
    pub strategy: IetfStrategy,
    /// The draft iteration spoken, the latest by default.
    pub interop: InteropVersion,
}

impl IetfCreate {
    /// A careful creation by `POST` to `endpoint`, in the latest interop
    /// version, with no content type.
    #[must_use]
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            method: http::Method::POST,
            content_type: None,
            strategy: IetfStrategy::default(),
            interop: InteropVersion::default(),
        }
    }
}

/// Parameters to create an upload on a tus 1.0 server (its creation
/// extension).
///
/// `filename` and `filetype` go into `Upload-Metadata` first, then the
/// caller's own `metadata` pairs in their order; every value is sent
/// Base64-encoded, keys as they are. A key must be visible ASCII without a
/// comma, and appear once; [`crate::Upload::new`] refuses others with
/// [`crate::ConfigError::BadHeader`].
///
/// ```
/// use resumable_core::{Config, TusCreate};
///
/// let create = TusCreate {
///     filename: Some("video.mp4".into()),
///     filetype: Some("video/mp4".into()),
///     metadata: vec![("album".into(), "holidays".into())],
///     ..TusCreate::new("https://tus.example/files/")
/// };
/// let config = Config::tus_create(create, Some(1_000_000));
/// ```
#[derive(Debug, Clone)]
pub struct TusCreate {
    /// The creation endpoint, e.g. `https://tus.example/files/`. A
    /// relative `Location` in its answer is resolved against it.
    pub endpoint: String,
    /// The file's name (metadata `filename`).
    pub filename: Option<String>,
    /// The file's MIME type (metadata `filetype`).
    pub filetype: Option<String>,
    /// Further metadata pairs, in order.
    pub metadata: Vec<(String, String)>,
    /// Send the first chunk in the creation request when the server lists
    /// `creation-with-upload` (one round trip less; default `true`). Not
    /// when each `PATCH` carries a checksum: the creation request carries
    /// none, so those bytes go in a verified `PATCH` instead.
    pub upload_with_creation: bool,
}

impl TusCreate {
    /// A creation at `endpoint`, with no metadata.
    #[must_use]
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            filename: None,
            filetype: None,
            metadata: Vec::new(),
            upload_with_creation: true,
        }
    }

    /// Every metadata pair, as sent: `filename`, `filetype`, then the rest.
    pub(crate) fn metadata_pairs(&self) -> impl Iterator<Item = (&str, &[u8])> {
        let named = [("filename", &self.filename), ("filetype", &self.filetype)];
        named
            .into_iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (k, v.as_bytes())))
            .chain(
                self.metadata
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_bytes())),
            )
    }
}

/// The file-API flow's parameters.
#[derive(Debug, Clone)]
pub struct FileApi {
    /// The API's base URL, e.g. `https://api.example.com`.
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
///
/// Build it with literal syntax, leaving what is not needed to
/// `..Default::default()`:
///
/// ```
/// use resumable_core::{GcsInitiate, Preconditions};
///
/// let init = GcsInitiate {
///     bucket: "my-bucket".into(),
///     object: "backups/2024.tar".into(),
///     // Only if no such object exists yet: never overwrite.
///     preconditions: Preconditions::object_absent(),
///     ..Default::default()
/// };
/// ```
///
/// # Retries and preconditions
///
/// Every request of the session (chunks, status queries) is retried on
/// 408/429/5xx and transport failures, whether or not preconditions are
/// set. That is safe because a resumable session is idempotent: bytes sent
/// again below the persisted offset are ignored, and the object is written
/// once, when the session finalizes. Google's retry guidance (and its
/// client libraries' retry-conformance tests) retry a *non-resumable*
/// insert only when it carries a precondition such as
/// `ifGenerationMatch`, because re-sending such an insert may write the
/// object twice; a resumable session has no such hazard, so the engine
/// needs no precondition to retry it.
///
/// The preconditions guard the object's state instead: the server checks
/// them when the session is initiated and again when it finalizes, and a
/// failed one ends the upload with [`crate::Error::PreconditionFailed`],
/// never retried.
#[derive(Debug, Clone)]
pub struct GcsInitiate {
    /// The API endpoint, e.g. [`GCS_ENDPOINT`] (the default).
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// The object's name.
    pub object: String,
    /// The object's content type.
    pub content_type: Option<String>,
    /// An OAuth bearer token for the initiation (the session URL needs none).
    pub bearer_token: Option<Secret>,
    /// Conditions on the object's current generation and metageneration,
    /// sent as query parameters of the initiation. None by default.
    pub preconditions: Preconditions,
}

/// The JSON API's public endpoint.
pub const GCS_ENDPOINT: &str = "https://storage.googleapis.com";

impl Default for GcsInitiate {
    /// Google's endpoint ([`GCS_ENDPOINT`]), no bucket or object yet, no
    /// content type, token or preconditions.
    fn default() -> Self {
        Self {
            endpoint: GCS_ENDPOINT.to_owned(),
            bucket: String::new(),
            object: String::new(),
            content_type: None,
            bearer_token: None,
            preconditions: Preconditions::default(),
        }
    }
}

/// Conditions on the object a GCS upload replaces, as the JSON API's
/// `ifGenerationMatch`, `ifGenerationNotMatch`, `ifMetagenerationMatch` and
/// `ifMetagenerationNotMatch` query parameters (what `gcloud storage cp
/// --if-generation-match` sends).
///
/// Generations are GCS's int64s; generation 0 means "no live object", so
/// `if_generation_match: Some(0)` uploads only if the object does not exist
/// ([`Preconditions::object_absent`]). When a condition fails, the server
/// answers `412 Precondition Failed` and the upload ends with
/// [`crate::Error::PreconditionFailed`]; nothing was written.
///
/// These four are all the JSON API has for an upload, so the struct is
/// complete and built with literal syntax and `..Default::default()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Preconditions {
    /// Write only if the object's generation is this one (0: only if there
    /// is no live object).
    pub if_generation_match: Option<i64>,
    /// Write only if the object's generation is not this one (0: only if
    /// there is a live object).
    pub if_generation_not_match: Option<i64>,
    /// Write only if the object's metageneration is this one.
    pub if_metageneration_match: Option<i64>,
    /// Write only if the object's metageneration is not this one.
    pub if_metageneration_not_match: Option<i64>,
}

impl Preconditions {
    /// Only if no live object has the name: the upload never overwrites.
    #[must_use]
    pub fn object_absent() -> Self {
        Self {
            if_generation_match: Some(0),
            ..Self::default()
        }
    }

    /// The conditions set, as the JSON API's query parameters, in a fixed
    /// order.
    pub fn query_pairs(&self) -> impl Iterator<Item = (&'static str, i64)> {
        [
            ("ifGenerationMatch", self.if_generation_match),
            ("ifGenerationNotMatch", self.if_generation_not_match),
            ("ifMetagenerationMatch", self.if_metageneration_match),
            ("ifMetagenerationNotMatch", self.if_metageneration_not_match),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
    }
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
            chunking: Chunking::default(),
            retry: RetryPolicy::default(),
            jitter_seed: 0,
            max_session_restarts: 3,
            restartable_source: true,
            checksum_ahead_limit: 32 * 1024 * 1024,
            expected_md5: None,
            require_crc32c: true,
            upload_headers: http::HeaderMap::new(),
            verify_resumed_prefix: true,
            allow_insecure_http: false,
            checkpoint_interval: Duration::ZERO,
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

    /// An upload that first creates an upload on a tus server; `total` is
    /// `None` for a stream whose length is found at its end (the upload is
    /// then created with `Upload-Defer-Length: 1`, and the length told with
    /// the first `PATCH` once known).
    ///
    /// A tus server reports no digest of the whole upload, so
    /// [`Config::require_crc32c`] is off: the upload ends when the server's
    /// offset reaches the source's length, each `PATCH` carries the
    /// strongest `Upload-Checksum` both sides support, and the source's own
    /// CRC32C is in the outcome.
    #[must_use]
    pub fn tus_create(create: TusCreate, total: Option<u64>) -> Self {
        let mut config = Self::with_target(Target::TusCreate(create), total);
        config.require_crc32c = false;
        config
    }

    /// An upload to an existing tus upload URL, as [`Config::tus_create`]
    /// verifies it. An upload created elsewhere with a deferred length gets
    /// it told with the first `PATCH` once known.
    #[must_use]
    pub fn tus_upload(url: SessionUrl, total: Option<u64>) -> Self {
        let mut config = Self::with_target(Target::TusUpload(url), total);
        config.require_crc32c = false;
        config
    }

    /// An upload to a session created earlier in `protocol`: what
    /// [`Config::gcs_session`], [`Config::tus_upload`] or
    /// [`Config::ietf_upload`] builds. For a session a checkpoint names, to
    /// go on with it or to delete it.
    #[must_use]
    pub fn session_in(protocol: Protocol, url: SessionUrl, total: Option<u64>) -> Self {
        match protocol {
            Protocol::Gcs => Self::gcs_session(url, total),
            Protocol::Tus => Self::tus_upload(url, total),
            Protocol::Ietf { interop } => Self::ietf_upload(url, interop, total),
        }
    }

    /// An upload that first creates an upload resource of the IETF draft
    /// at `create`'s target resource; `total` is `None` for a stream
    /// (the request that carries its last bytes then declares the length).
    ///
    /// The draft's server reports no digest of the whole upload, so
    /// [`Config::require_crc32c`] is off; instead the request that completes
    /// the upload carries the source's `Repr-Digest` (SHA-256), for the
    /// server to refuse a corrupted representation, and each `PATCH` its
    /// `Content-Digest` when the server asks (`Want-Content-Digest`).
    #[must_use]
    pub fn ietf_create(create: IetfCreate, total: Option<u64>) -> Self {
        let mut config = Self::with_target(Target::IetfCreate(create), total);
        config.require_crc32c = false;
        config
    }

    /// An upload to an existing upload resource of the IETF draft, created
    /// in `interop`'s version, as [`Config::ietf_create`] verifies it.
    #[must_use]
    pub fn ietf_upload(url: SessionUrl, interop: InteropVersion, total: Option<u64>) -> Self {
        let mut config = Self::with_target(Target::IetfUpload(url, interop), total);
        config.require_crc32c = false;
        config
    }

    /// An upload that first initiates a session with the GCS JSON API.
    #[must_use]
    pub fn gcs_initiate(initiate: GcsInitiate, total: Option<u64>) -> Self {
        Self::with_target(Target::GcsInitiate(initiate), total)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn debug_names_the_upload_headers_but_never_shows_their_values() {
        let mut config = Config::tus_create(TusCreate::new("https://tus.example/files/"), None);
        config.upload_headers.insert(
            http::header::AUTHORIZATION,
            "Bearer s3cret-token".parse().unwrap(),
        );
        for shown in [format!("{config:?}"), format!("{config:#?}")] {
            assert!(shown.contains("authorization"), "{shown}");
            assert!(!shown.contains("s3cret-token"), "{shown}");
            assert!(shown.contains("tus.example"), "{shown}");
        }
    }
}
