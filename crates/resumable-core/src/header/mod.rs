//! Codecs for the headers of the resumable-upload protocol.
//!
//! Each submodule is a pure parser and builder for one header, with a small
//! `Copy` error type. They never panic on any input and never allocate beyond
//! the value they return, so they are safe to feed anything a server sends.

pub mod content_range;
pub mod goog_hash;
pub mod range;
pub mod retry_after;

/// Drops optional whitespace (spaces and tabs) at both ends of a header value.
pub(crate) fn trim_ows(mut text: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = text {
        text = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = text {
        text = rest;
    }
    text
}

/// Names of the non-standard headers the protocol uses, lowercase.
pub mod names {
    /// `Content-Range` of a data or status-query PUT.
    pub const CONTENT_RANGE: &str = "content-range";
    /// `X-Goog-Hash`: `crc32c=…,md5=…` on the final chunk and the final response.
    pub const X_GOOG_HASH: &str = "x-goog-hash";
    /// `X-GUploader-UploadID`: the server's id of the upload, safe to log.
    pub const X_GUPLOADER_UPLOADID: &str = "x-guploader-uploadid";
    /// `X-Http-Status-Code-Override`: a `200` carrying it with `308` means `308`.
    pub const X_HTTP_STATUS_CODE_OVERRIDE: &str = "x-http-status-code-override";
    /// `X-API-Key`: the application API's key. Sent to the API host only.
    pub const X_API_KEY: &str = "x-api-key";
    /// `X-Upload-Content-Type` on a session initiation.
    pub const X_UPLOAD_CONTENT_TYPE: &str = "x-upload-content-type";
    /// `X-Upload-Content-Length` on a session initiation.
    pub const X_UPLOAD_CONTENT_LENGTH: &str = "x-upload-content-length";
}
