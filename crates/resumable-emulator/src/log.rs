//! The request log: what each request asked and how it was answered.

use serde::{Deserialize, Serialize};

/// What a request was, as the emulator classified it from its method, path and headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RequestKind {
    /// `POST /v1/organizations/{org}/files/upload-url`.
    UploadUrl,
    /// `POST /v1/organizations/{org}/files`.
    Register,
    /// `POST /upload/storage/v1/b/{bucket}/o?uploadType=resumable`: a new session.
    Initiate,
    /// A `PUT` with data that does not end the upload.
    Chunk,
    /// A `PUT` with data whose range ends at the total (or with no `Content-Range`).
    Final,
    /// A `PUT` with `Content-Range: bytes */T` or `bytes */*`.
    Query,
    /// A `PUT` whose `Content-Range` does not parse.
    Put,
    /// `DELETE` of a session.
    Delete,
    /// Any other request on the upload endpoint.
    Upload,
    /// An object metadata or download `GET`.
    Object,
    /// tus `OPTIONS` (discovery) of the endpoint or an upload.
    TusOptions,
    /// tus `POST` to the endpoint: a new upload (creation).
    TusCreate,
    /// tus `HEAD` of an upload: its offset.
    TusHead,
    /// tus `PATCH` of an upload: bytes at an offset.
    TusPatch,
    /// tus `DELETE` of an upload (termination).
    TusTerminate,
    /// Any other request under the tus endpoint.
    TusOther,
    /// IETF draft `OPTIONS` of the creation resource or an upload.
    IetfOptions,
    /// IETF draft creation: content to `/ietf/files/`.
    IetfCreate,
    /// IETF draft offset retrieval: `HEAD` (or `GET`) of an upload.
    IetfHead,
    /// IETF draft append: `PATCH` of an upload.
    IetfAppend,
    /// IETF draft cancellation: `DELETE` of an upload.
    IetfCancel,
    /// Any other request under the IETF draft endpoint.
    IetfOther,
    /// A request that matched no route.
    Other,
}

impl RequestKind {
    /// Whether the request went to the upload endpoint (`/upload/...`).
    pub fn is_upload_endpoint(self) -> bool {
        use RequestKind as K;
        matches!(
            self,
            K::Initiate | K::Chunk | K::Final | K::Query | K::Put | K::Delete | K::Upload
        )
    }

    /// Whether the request went to the IETF draft endpoint (`/ietf/files/...`).
    pub fn is_ietf(self) -> bool {
        use RequestKind as K;
        matches!(
            self,
            K::IetfOptions
                | K::IetfCreate
                | K::IetfHead
                | K::IetfAppend
                | K::IetfCancel
                | K::IetfOther
        )
    }

    /// Whether the request went to the tus endpoint (`/tus/files/...`).
    pub fn is_tus(self) -> bool {
        use RequestKind as K;
        matches!(
            self,
            K::TusOptions | K::TusCreate | K::TusHead | K::TusPatch | K::TusTerminate | K::TusOther
        )
    }
}

/// One request as the emulator saw it. Secrets are not kept: the `upload_id` value is
/// replaced by `REDACTED` in `path`, and of `X-API-Key` and `Authorization` only their
/// presence is noted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestRecord {
    /// Arrival order, from 1, over every logged request.
    pub seq: u64,
    /// What the request was.
    pub kind: RequestKind,
    /// The HTTP method.
    pub method: String,
    /// Path and query, with the `upload_id` value redacted.
    pub path: String,
    /// The `Host` header.
    pub host: Option<String>,
    /// The `Content-Range` header.
    pub content_range: Option<String>,
    /// The `Content-Length` header.
    pub content_length: Option<u64>,
    /// Whether the body was framed by `Transfer-Encoding: chunked` (then it
    /// has no `Content-Length`).
    #[serde(default)]
    pub chunked: bool,
    /// Whether an `X-API-Key` header was sent (it must not be, to the upload endpoint).
    pub x_api_key: bool,
    /// Whether an `Authorization` header was sent.
    pub authorization: bool,
    /// The `X-Goog-Hash` header.
    pub x_goog_hash: Option<String>,
    /// The session's number (1 for the first session created), when the
    /// request named one; for a tus request, the tus upload's number (1 for
    /// the first tus upload created).
    pub session: Option<u64>,
    /// The status answered; `None` when the connection was reset or the body cut off.
    pub status: Option<u16>,
    /// The `Range` header answered.
    pub range: Option<String>,
    /// Body bytes read from the request.
    pub bytes_received: u64,
    /// Bytes persisted in the session after the request.
    pub persisted: Option<u64>,
    /// The fault rule applied, as written.
    pub fault: Option<String>,
    /// A short word on how the request ended, e.g. `ok`, `refused`, `cut-off`, `reset`.
    pub outcome: String,
}
