//! A tus 1.0 server (tus.io): the core protocol and the creation,
//! creation-with-upload, creation-defer-length, expiration, checksum (sha1,
//! md5, crc32) and termination extensions, strictly. A request that breaks
//! the protocol is logged in [`TusServer::violations`] and refused, never
//! guessed at.
//!
//! Its parsers are its own, written from the spec apart from the client's
//! codecs, so a header the client builds wrong is caught here.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{Method, Response};
use md5::Digest as _;

use crate::Reply;

/// The creation endpoint.
pub const TUS_ENDPOINT: &str = "https://tus.sim/files/";
/// The version the server speaks unless told otherwise.
const VERSION: &str = "1.0.0";
/// The content type of every `PATCH` (and of a creation with data).
const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

/// What the tus model does wrong with one request, on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TusFault {
    /// Behave.
    None,
    /// Answer this status without processing.
    Status(u16),
    /// Process the request, then answer this status instead.
    StatusAfter(u16),
    /// The connection resets before the server sees the request.
    Reset,
    /// The server processes the request; the answer is lost (reset).
    LostResponse,
    /// Keep only this many of a `PATCH`'s bytes, and say so.
    PersistBytes(u64),
    /// A byte of the body is damaged on its way to the server.
    Corrupt,
    /// The upload expires before this request.
    Expire,
    /// The upload disappears before this request.
    Kill,
}

/// What the server supports and how it answers.
#[derive(Debug, Clone)]
pub struct TusOptions {
    /// The versions it speaks, most preferred first.
    pub versions: Vec<String>,
    /// Whether it answers `OPTIONS` at all (else `405`).
    pub answers_options: bool,
    /// The extensions it announces and honours.
    pub extensions: Vec<&'static str>,
    /// The checksum algorithms it announces and checks.
    pub checksum_algorithms: Vec<&'static str>,
    /// The largest upload it takes.
    pub max_size: Option<u64>,
    /// How long an unfinished upload lives (the expiration extension).
    pub lifetime: Option<Duration>,
    /// Answer a creation with a relative `Location` (`/files/{id}`).
    pub relative_location: bool,
}

impl Default for TusOptions {
    /// Every extension, all three checksums, no size limit, uploads that
    /// live a day, absolute locations.
    fn default() -> Self {
        Self {
            versions: vec![VERSION.to_owned()],
            answers_options: true,
            extensions: vec![
                "creation",
                "creation-with-upload",
                "creation-defer-length",
                "expiration",
                "checksum",
                "termination",
            ],
            checksum_algorithms: vec!["sha1", "md5", "crc32"],
            max_size: None,
            lifetime: Some(Duration::from_secs(24 * 3600)),
            relative_location: false,
        }
    }
}

/// One upload resource.
#[derive(Debug, Default, Clone)]
pub struct TusUpload {
    /// The bytes kept so far.
    pub data: Vec<u8>,
    /// The length, once told.
    pub length: Option<u64>,
    /// The metadata of its creation, decoded.
    pub metadata: Vec<(String, Vec<u8>)>,
    /// When it stops being resumable.
    pub expires_at: Option<SystemTime>,
    /// Expired, terminated or killed.
    pub gone: bool,
    /// Terminated with `DELETE`.
    pub terminated: bool,
}

impl TusUpload {
    /// Whether every byte of a known length is here.
    pub fn complete(&self) -> bool {
        self.length == Some(self.data.len() as u64)
    }
}

/// The server's whole state.
#[derive(Debug, Default)]
pub struct TusServer {
    /// What it supports.
    pub options: TusOptions,
    /// Uploads by absolute URL.
    pub uploads: HashMap<String, TusUpload>,
    /// What the client did wrong, in order.
    pub violations: Vec<String>,
    /// Requests served.
    pub requests: u64,
    /// Body bytes received.
    pub bytes_received: u64,
    /// `PATCH`es refused with `460`.
    pub checksum_mismatches: u64,
    next_id: u64,
}

/// An answer being built, with `Tus-Resumable` on it.
fn tus(status: u16) -> http::response::Builder {
    Response::builder()
        .status(status)
        .header("tus-resumable", VERSION)
}

fn respond(builder: http::response::Builder) -> Reply {
    match builder.body(Bytes::new()) {
        Ok(r) => Reply::Response(r),
        // Only the model's own well-formed headers go in: never happens.
        Err(_) => Reply::Reset,
    }
}

impl TusServer {
    /// A server with every extension and no uploads.
    pub fn new() -> Self {
        Self::default()
    }

    /// A server with these options.
    pub fn with_options(options: TusOptions) -> Self {
        Self {
            options,
            ..Self::default()
        }
    }

    /// Creates an upload as another client would have; returns its URL.
    pub fn open_upload(&mut self, length: Option<u64>, now: SystemTime) -> String {
        let url = self.new_url();
        let upload = TusUpload {
            length,
            expires_at: self.options.lifetime.map(|l| now + l),
            ..TusUpload::default()
        };
        self.uploads.insert(url.clone(), upload);
        url
    }

    /// The bytes of the upload at `url`, once complete.
    pub fn completed(&self, url: &str) -> Option<&[u8]> {
        self.uploads
            .get(url)
            .filter(|u| u.complete() && !u.gone)
            .map(|u| u.data.as_slice())
    }

    fn new_url(&mut self) -> String {
        self.next_id += 1;
        format!("{TUS_ENDPOINT}u{:04}", self.next_id)
    }

    fn violation(&mut self, v: String) {
        self.violations.push(v);
    }

    /// Serves one request. `body` is the bytes the client streamed; `now`
    /// the virtual wall-clock time.
    pub fn serve<T>(
        &mut self,
        req: &http::Request<T>,
        body: &[u8],
        fault: TusFault,
        now: SystemTime,
    ) -> Reply {
        self.requests += 1;
        self.bytes_received += body.len() as u64;
        let url = req.uri().to_string();
        match fault {
            TusFault::Reset => return Reply::Reset,
            TusFault::Status(s) => return respond(self.status_answer(s)),
            TusFault::Expire => {
                if let Some(u) = self.uploads.get_mut(&url) {
                    u.expires_at = Some(now);
                }
            }
            TusFault::Kill => {
                if let Some(u) = self.uploads.get_mut(&url) {
                    u.gone = true;
                }
            }
            _ => {}
        }
        let damaged;
        let body = if fault == TusFault::Corrupt && !body.is_empty() {
            let mut copy = body.to_vec();
            copy[0] ^= 0xff;
            damaged = copy;
            &damaged[..]
        } else {
            body
        };
        let real = self.serve_request(req, &url, body, fault, now);
        match fault {
            TusFault::LostResponse => Reply::Reset,
            TusFault::StatusAfter(s) => respond(self.status_answer(s)),
            _ => respond(real),
        }
    }

    /// A status sent as a fault: `412` names the versions, as it must.
    fn status_answer(&self, status: u16) -> http::response::Builder {
        let r = tus(status);
        if status == 412 {
            r.header("tus-version", self.options.versions.join(","))
        } else {
            r
        }
    }

    fn serve_request<T>(
        &mut self,
        req: &http::Request<T>,
        url: &str,
        body: &[u8],
        fault: TusFault,
        now: SystemTime,
    ) -> http::response::Builder {
        let headers = req.headers();
        if req.method() == Method::OPTIONS {
            if headers.contains_key("tus-resumable") {
                self.violation("Tus-Resumable on an OPTIONS request".into());
            }
            return self.options_answer();
        }
        match text(headers, "tus-resumable") {
            None => {
                self.violation(format!("{} without Tus-Resumable", req.method()));
                return self.status_answer(412);
            }
            Some(v) if !self.options.versions.iter().any(|s| s == v) => {
                return self.status_answer(412);
            }
            Some(_) => {}
        }
        if let Some(len) = text(headers, "content-length")
            && number(len) != Some(body.len() as u64)
        {
            self.violation(format!("Content-Length {len} for a body of {}", body.len()));
            return tus(400);
        }
        let result = match *req.method() {
            Method::POST if url == TUS_ENDPOINT => self.create(headers, body, now),
            Method::HEAD => self.head(url, now),
            Method::PATCH => self.patch(url, headers, body, fault, now),
            Method::DELETE => self.delete(url, now),
            ref m => Err((405, format!("{m} to {url}"))),
        };
        result.unwrap_or_else(|(status, why)| {
            if status == 400 || status == 415 {
                self.violation(why);
            }
            tus(status)
        })
    }

    fn options_answer(&self) -> http::response::Builder {
        let o = &self.options;
        if !o.answers_options {
            return Response::builder().status(405);
        }
        let mut r = tus(204).header("tus-version", o.versions.join(","));
        if !o.extensions.is_empty() {
            r = r.header("tus-extension", o.extensions.join(","));
        }
        if self.supports("checksum") {
            r = r.header("tus-checksum-algorithm", o.checksum_algorithms.join(","));
        }
        if let Some(max) = o.max_size {
            r = r.header("tus-max-size", max);
        }
        r
    }

    fn supports(&self, extension: &str) -> bool {
        self.options.extensions.contains(&extension)
    }

    fn create(
        &mut self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<http::response::Builder, (u16, String)> {
        if !self.supports("creation") {
            return Err((405, "creation is not supported".into()));
        }
        let length = match (
            text(headers, "upload-length"),
            text(headers, "upload-defer-length"),
        ) {
            (Some(l), None) => {
                Some(number(l).ok_or((400, format!("Upload-Length {l:?} is not a byte count")))?)
            }
            (None, Some("1")) if self.supports("creation-defer-length") => None,
            (None, Some(d)) => return Err((400, format!("Upload-Defer-Length {d:?}"))),
            (Some(_), Some(_)) => {
                return Err((400, "both Upload-Length and Upload-Defer-Length".into()));
            }
            (None, None) => {
                return Err((
                    400,
                    "a creation with neither Upload-Length nor Upload-Defer-Length".into(),
                ));
            }
        };
        if let (Some(l), Some(max)) = (length, self.options.max_size)
            && l > max
        {
            return Err((413, format!("{l} bytes, more than {max}")));
        }
        let metadata = match text(headers, "upload-metadata") {
            Some(v) => parse_metadata(v).map_err(|e| (400, e))?,
            None if headers.contains_key("upload-metadata") => {
                return Err((400, "Upload-Metadata is not text".into()));
            }
            None => Vec::new(),
        };
        if !body.is_empty() {
            if !self.supports("creation-with-upload") {
                return Err((
                    400,
                    "data in a creation without creation-with-upload".into(),
                ));
            }
            if text(headers, "content-type") != Some(OFFSET_OCTET_STREAM) {
                return Err((415, "a creation with data of another content type".into()));
            }
        }
        if length.is_some_and(|l| (body.len() as u64) > l) {
            return Err((400, "a creation with more data than its length".into()));
        }
        let url = self.new_url();
        let upload = TusUpload {
            data: body.to_vec(),
            length,
            metadata,
            expires_at: self.expiry(now),
            ..TusUpload::default()
        };
        let mut r = tus(201).header("location", self.location(&url));
        if !body.is_empty() {
            r = r.header("upload-offset", body.len());
        }
        if let Some(at) = upload.expires_at {
            r = r.header("upload-expires", http_date(at));
        }
        self.uploads.insert(url, upload);
        Ok(r)
    }

    fn expiry(&self, now: SystemTime) -> Option<SystemTime> {
        self.supports("expiration")
            .then_some(self.options.lifetime)
            .flatten()
            .map(|l| now + l)
    }

    fn location(&self, url: &str) -> String {
        if self.options.relative_location {
            url.strip_prefix("https://tus.sim")
                .unwrap_or(url)
                .to_owned()
        } else {
            url.to_owned()
        }
    }

    /// The upload at `url` when it can still be used; `404`, or `410` for
    /// one it remembers as expired or terminated.
    fn live(&mut self, url: &str, now: SystemTime) -> Result<&mut TusUpload, (u16, String)> {
        let Some(upload) = self.uploads.get_mut(url) else {
            return Err((404, format!("no upload at {url}")));
        };
        if upload.expires_at.is_some_and(|t| t <= now) && !upload.complete() {
            upload.gone = true;
        }
        if upload.gone {
            return Err((410, format!("the upload at {url} is gone")));
        }
        Ok(upload)
    }

    fn head(
        &mut self,
        url: &str,
        now: SystemTime,
    ) -> Result<http::response::Builder, (u16, String)> {
        let upload = self.live(url, now)?;
        let mut r = tus(200)
            .header("cache-control", "no-store")
            .header("upload-offset", upload.data.len());
        r = match upload.length {
            Some(l) => r.header("upload-length", l),
            None => r.header("upload-defer-length", "1"),
        };
        if !upload.metadata.is_empty() {
            r = r.header("upload-metadata", write_metadata(&upload.metadata));
        }
        if let Some(at) = upload.expires_at {
            r = r.header("upload-expires", http_date(at));
        }
        Ok(r)
    }

    fn patch(
        &mut self,
        url: &str,
        headers: &http::HeaderMap,
        body: &[u8],
        fault: TusFault,
        now: SystemTime,
    ) -> Result<http::response::Builder, (u16, String)> {
        if text(headers, "content-type") != Some(OFFSET_OCTET_STREAM) {
            return Err((
                415,
                "a PATCH without Content-Type: application/offset+octet-stream".into(),
            ));
        }
        let offset = text(headers, "upload-offset")
            .and_then(number)
            .ok_or((400, "a PATCH without a valid Upload-Offset".into()))?;
        let declared = match text(headers, "upload-length") {
            Some(l) => Some(number(l).ok_or((400, format!("Upload-Length {l:?}")))?),
            None => None,
        };
        let checksum = match text(headers, "upload-checksum") {
            Some(v) => Some(self.parse_checksum(v)?),
            None => None,
        };
        let expires_at = self.expiry(now);
        let upload = self.live(url, now)?;
        let held = upload.data.len() as u64;
        if offset != held {
            let why = format!("PATCH at offset {offset}, the upload holds {held}");
            self.violation(why.clone());
            return Err((409, why));
        }
        let length = match (declared, upload.length) {
            (Some(_), Some(_)) => {
                return Err((
                    400,
                    "Upload-Length on a PATCH of an upload whose length is known".into(),
                ));
            }
            (Some(l), None) if l < held + body.len() as u64 => {
                return Err((400, format!("Upload-Length {l} below the bytes sent")));
            }
            (told, known) => told.or(known),
        };
        if length.is_some_and(|l| held + body.len() as u64 > l) {
            return Err((400, "a PATCH past the upload's length".into()));
        }
        // A mismatch changes nothing, not even a length told with it.
        if let Some((algorithm, expected)) = checksum
            && digest(algorithm, body) != expected
        {
            self.checksum_mismatches += 1;
            return Ok(tus(460));
        }
        let upload = self.live(url, now)?;
        upload.length = length;
        let keep = match fault {
            TusFault::PersistBytes(n) => body.len().min(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => body.len(),
        };
        upload.data.extend_from_slice(&body[..keep]);
        if !upload.complete() && expires_at.is_some() {
            upload.expires_at = expires_at;
        }
        let mut r = tus(204).header("upload-offset", upload.data.len());
        if let (false, Some(at)) = (upload.complete(), upload.expires_at) {
            r = r.header("upload-expires", http_date(at));
        }
        Ok(r)
    }

    fn parse_checksum(&self, value: &str) -> Result<(&'static str, Vec<u8>), (u16, String)> {
        if !self.supports("checksum") {
            return Err((400, "Upload-Checksum without the checksum extension".into()));
        }
        let (name, encoded) = value.split_once(' ').ok_or((
            400,
            format!("Upload-Checksum {value:?} is not `algorithm digest`"),
        ))?;
        let algorithm = self
            .options
            .checksum_algorithms
            .iter()
            .find(|a| **a == name)
            .ok_or((400, format!("checksum algorithm {name:?} is not supported")))?;
        let digest = STANDARD
            .decode(encoded)
            .map_err(|_| (400, format!("checksum digest {encoded:?} is not Base64")))?;
        Ok((algorithm, digest))
    }

    fn delete(
        &mut self,
        url: &str,
        now: SystemTime,
    ) -> Result<http::response::Builder, (u16, String)> {
        if !self.supports("termination") {
            return Err((405, "termination is not supported".into()));
        }
        let upload = self.live(url, now)?;
        upload.gone = true;
        upload.terminated = true;
        Ok(tus(204))
    }
}

/// A header's value as text, when it is text.
fn text<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A tus byte count: decimal digits only, nothing else.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `Upload-Metadata`: `key base64`, comma-separated; keys unique, without
/// spaces; a value may be left out.
fn parse_metadata(value: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    for pair in value.split(',') {
        let pair = pair.trim();
        let (key, encoded) = pair.split_once(' ').unwrap_or((pair, ""));
        if key.is_empty() {
            return Err(format!("Upload-Metadata {value:?} has an empty key"));
        }
        if pairs.iter().any(|(k, _)| k == key) {
            return Err(format!("Upload-Metadata repeats the key {key:?}"));
        }
        let decoded = STANDARD
            .decode(encoded)
            .map_err(|_| format!("Upload-Metadata value of {key:?} is not Base64"))?;
        pairs.push((key.to_owned(), decoded));
    }
    Ok(pairs)
}

fn write_metadata(pairs: &[(String, Vec<u8>)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k} {}", STANDARD.encode(v))
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The digest a checksum algorithm makes of `body`, as sent on the wire.
fn digest(algorithm: &str, body: &[u8]) -> Vec<u8> {
    match algorithm {
        "sha1" => sha1::Sha1::digest(body).to_vec(),
        "md5" => md5::Md5::digest(body).to_vec(),
        _ => crc32fast::hash(body).to_be_bytes().to_vec(),
    }
}

/// An HTTP date (RFC 9110 IMF-fixdate).
fn http_date(at: SystemTime) -> String {
    jiff::Timestamp::try_from(at)
        .ok()
        .and_then(|t| {
            jiff::fmt::rfc2822::DateTimePrinter::new()
                .timestamp_to_rfc9110_string(&t)
                .ok()
        })
        .unwrap_or_else(|| "Fri, 31 Dec 9999 23:59:59 GMT".to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn request(method: Method, url: &str, headers: &[(&str, &str)]) -> http::Request<()> {
        let mut b = http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    fn answer(reply: Reply) -> Response<Bytes> {
        match reply {
            Reply::Response(r) => r,
            Reply::Reset => panic!("reset"),
        }
    }

    fn header(r: &Response<Bytes>, name: &str) -> String {
        r.headers()[name].to_str().unwrap().to_owned()
    }

    #[test]
    fn the_spec_walkthrough_with_a_checksum() {
        let mut s = TusServer::new();
        let post = request(
            Method::POST,
            TUS_ENDPOINT,
            &[
                ("tus-resumable", "1.0.0"),
                ("content-length", "0"),
                ("upload-length", "11"),
                ("upload-metadata", "filename d29ybGQ=,is_confidential"),
            ],
        );
        let r = answer(s.serve(&post, b"", TusFault::None, t0()));
        assert_eq!(r.status(), 201);
        let url = header(&r, "location");
        assert_eq!(
            s.uploads[&url].metadata,
            [
                ("filename".to_owned(), b"world".to_vec()),
                ("is_confidential".to_owned(), vec![])
            ]
        );
        let patch = |offset: &str, checksum: &str| {
            request(
                Method::PATCH,
                &url,
                &[
                    ("tus-resumable", "1.0.0"),
                    ("content-type", OFFSET_OCTET_STREAM),
                    ("upload-offset", offset),
                    ("upload-checksum", checksum),
                ],
            )
        };
        let good = "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=";
        let r = answer(s.serve(&patch("0", good), b"hello world", TusFault::Corrupt, t0()));
        assert_eq!(r.status(), 460);
        assert!(s.uploads[&url].data.is_empty(), "nothing kept");
        let r = answer(s.serve(&patch("0", good), b"hello world", TusFault::None, t0()));
        assert_eq!(
            (r.status().as_u16(), header(&r, "upload-offset")),
            (204, "11".into())
        );
        assert_eq!(s.completed(&url), Some(&b"hello world"[..]));
        let head = request(Method::HEAD, &url, &[("tus-resumable", "1.0.0")]);
        let r = answer(s.serve(&head, b"", TusFault::None, t0()));
        assert_eq!(header(&r, "upload-offset"), "11");
        assert_eq!(header(&r, "upload-length"), "11");
        assert_eq!(header(&r, "cache-control"), "no-store");
        assert!(s.violations.is_empty(), "{:?}", s.violations);
    }

    #[test]
    fn strictness_is_logged() {
        let mut s = TusServer::new();
        let url = s.open_upload(Some(10), t0());
        let bare = request(Method::HEAD, &url, &[]);
        assert_eq!(
            answer(s.serve(&bare, b"", TusFault::None, t0())).status(),
            412
        );
        let wrong_type = request(
            Method::PATCH,
            &url,
            &[("tus-resumable", "1.0.0"), ("upload-offset", "0")],
        );
        assert_eq!(
            answer(s.serve(&wrong_type, b"x", TusFault::None, t0())).status(),
            415
        );
        let ahead = request(
            Method::PATCH,
            &url,
            &[
                ("tus-resumable", "1.0.0"),
                ("content-type", OFFSET_OCTET_STREAM),
                ("upload-offset", "3"),
            ],
        );
        assert_eq!(
            answer(s.serve(&ahead, b"x", TusFault::None, t0())).status(),
            409
        );
        let options = request(Method::OPTIONS, TUS_ENDPOINT, &[("tus-resumable", "1.0.0")]);
        let r = answer(s.serve(&options, b"", TusFault::None, t0()));
        assert_eq!(header(&r, "tus-checksum-algorithm"), "sha1,md5,crc32");
        assert_eq!(s.violations.len(), 4, "{:?}", s.violations);
    }

    #[test]
    fn uploads_expire_and_terminate() {
        let mut s = TusServer::new();
        let url = s.open_upload(Some(10), t0());
        let head = request(Method::HEAD, &url, &[("tus-resumable", "1.0.0")]);
        let later = t0() + Duration::from_secs(2 * 24 * 3600);
        assert_eq!(
            answer(s.serve(&head, b"", TusFault::None, later)).status(),
            410
        );
        let url = s.open_upload(None, t0());
        let delete = request(
            Method::DELETE,
            &url,
            &[("tus-resumable", "1.0.0"), ("content-length", "0")],
        );
        assert_eq!(
            answer(s.serve(&delete, b"", TusFault::None, t0())).status(),
            204
        );
        assert!(s.uploads[&url].terminated);
        assert!(s.violations.is_empty(), "{:?}", s.violations);
    }

    #[test]
    fn creation_with_upload_then_a_deferred_length_told_once() {
        let mut s = TusServer::with_options(TusOptions {
            relative_location: true,
            ..TusOptions::default()
        });
        let post = request(
            Method::POST,
            TUS_ENDPOINT,
            &[
                ("tus-resumable", "1.0.0"),
                ("upload-defer-length", "1"),
                ("content-type", OFFSET_OCTET_STREAM),
            ],
        );
        let r = answer(s.serve(&post, b"hello", TusFault::None, t0()));
        assert_eq!(r.status(), 201);
        assert_eq!(header(&r, "upload-offset"), "5");
        let location = header(&r, "location");
        assert!(location.starts_with("/files/"), "{location}");
        let url = format!("https://tus.sim{location}");
        let patch = |offset: &str, length: Option<&str>| {
            let mut h = vec![
                ("tus-resumable", "1.0.0"),
                ("content-type", OFFSET_OCTET_STREAM),
                ("upload-offset", offset),
            ];
            h.extend(length.map(|l| ("upload-length", l)));
            request(Method::PATCH, &url, &h)
        };
        let r = answer(s.serve(&patch("5", None), b" wor", TusFault::PersistBytes(2), t0()));
        assert_eq!(header(&r, "upload-offset"), "7");
        let r = answer(s.serve(&patch("7", Some("11")), b"orld", TusFault::None, t0()));
        assert_eq!(r.status(), 204);
        assert_eq!(s.completed(&url), Some(&b"hello world"[..]));
        let url2 = s.open_upload(None, t0());
        let told = request(
            Method::PATCH,
            &url2,
            &[
                ("tus-resumable", "1.0.0"),
                ("content-type", OFFSET_OCTET_STREAM),
                ("upload-offset", "0"),
                ("upload-length", "11"),
                ("upload-checksum", "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0="),
            ],
        );
        let r = answer(s.serve(&told, b"hello world", TusFault::Corrupt, t0()));
        assert_eq!(r.status(), 460);
        assert_eq!(s.uploads[&url2].length, None, "a 460 changes nothing");
        let again = answer(s.serve(&patch("11", Some("11")), b"", TusFault::None, t0()));
        assert_eq!(again.status(), 400, "a length is told once");
        assert_eq!(s.violations.len(), 1, "{:?}", s.violations);
    }

    #[test]
    fn own_parsers() {
        assert_eq!(number("070"), Some(70));
        assert_eq!(number("+1"), None);
        assert_eq!(number(""), None);
        assert!(parse_metadata("a aGk=,a").is_err());
        assert!(parse_metadata("a aGk").is_err());
        assert_eq!(
            http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(1_403_712_000)),
            "Wed, 25 Jun 2014 16:00:00 GMT"
        );
        assert_eq!(
            digest("crc32", b"hello world"),
            0x0d4a_1185u32.to_be_bytes()
        );
    }
}
