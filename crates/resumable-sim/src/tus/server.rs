//! A tus 1.0 server in memory: the rules of [`tus`](crate::tus) applied to
//! whole bodies, with scripted [`TusFault`]s and the caller's virtual wall
//! clock. A request that breaks the protocol is logged in
//! [`TusServer::violations`] and refused, never guessed at.

use std::collections::HashMap;
use std::time::SystemTime;

use bytes::Bytes;

use super::wire::text;
use super::{
    Answer, Arrival, PatchEnd, Progress, Route, TusOptions, created, creation_data, discovery,
    expired, expiry_after_patch, gone, head, is_discovery, is_violation, mismatch, patch_end,
    patched, plan_create, plan_patch, plan_terminate, read_patch, refused, route, status,
    terminated, unknown,
};
use crate::Reply;
use crate::refusal::Refusal;

/// The creation endpoint.
pub const TUS_ENDPOINT: &str = "https://tus.sim/files/";

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
        self.progress().complete()
    }

    /// What the rules read of it.
    fn progress(&self) -> Progress {
        Progress {
            offset: self.data.len() as u64,
            length: self.length,
        }
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

fn respond(answer: &Answer) -> Reply {
    match answer.builder().body(Bytes::new()) {
        Ok(r) => Reply::Response(r),
        // Only the rules' own well-formed headers go in: never happens.
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
            expires_at: self.options.expiry(now),
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

    /// Answers a refusal, logging it when it says the client broke a rule.
    fn refuse(&mut self, refusal: Refusal) -> Answer {
        let answer = refused(&refusal, &self.options);
        if is_violation(&refusal) {
            self.violation(refusal.message);
        }
        answer
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
            TusFault::Status(s) => return respond(&status(s, &self.options)),
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
            TusFault::StatusAfter(s) => respond(&status(s, &self.options)),
            _ => respond(&real),
        }
    }

    fn serve_request<T>(
        &mut self,
        req: &http::Request<T>,
        url: &str,
        body: &[u8],
        fault: TusFault,
        now: SystemTime,
    ) -> Answer {
        let headers = req.headers();
        if is_discovery(req.method()) {
            if headers.contains_key("tus-resumable") {
                self.violation("Tus-Resumable on an OPTIONS request".into());
            }
            return discovery(&self.options);
        }
        if let Err(r) = super::check_version(headers, req.method(), &self.options) {
            return self.refuse(r);
        }
        if let Some(len) = text(headers, "content-length")
            && super::wire::number(len) != Some(body.len() as u64)
        {
            self.violation(format!("Content-Length {len} for a body of {}", body.len()));
            return status(400, &self.options);
        }
        let result = match route(req.method(), url == TUS_ENDPOINT, url) {
            Ok(Route::Create) => self.create(headers, body, now),
            Ok(Route::Head) => self.head(url, now),
            Ok(Route::Patch) => self.patch(url, headers, body, fault, now),
            Ok(Route::Terminate) => self.delete(url, now),
            Err(r) => Err(r),
        };
        result.unwrap_or_else(|r| self.refuse(r))
    }

    fn create(
        &mut self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Answer, Refusal> {
        let creation = plan_create(headers, &self.options)?;
        creation_data(&creation, headers, &self.options, body.len() as u64)?;
        let url = self.new_url();
        let upload = TusUpload {
            data: body.to_vec(),
            length: creation.length,
            metadata: creation.metadata,
            expires_at: self.options.expiry(now),
            ..TusUpload::default()
        };
        let answer = created(&self.location(&url), body.len() as u64, upload.expires_at);
        self.uploads.insert(url, upload);
        Ok(answer)
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
    fn live(&mut self, url: &str, now: SystemTime) -> Result<&mut TusUpload, Refusal> {
        let Some(upload) = self.uploads.get_mut(url) else {
            return Err(unknown(url));
        };
        if expired(upload.expires_at, upload.complete(), now) {
            upload.gone = true;
        }
        if upload.gone {
            return Err(gone(url));
        }
        Ok(upload)
    }

    fn head(&mut self, url: &str, now: SystemTime) -> Result<Answer, Refusal> {
        let upload = self.live(url, now)?;
        Ok(head(upload.progress(), &upload.metadata, upload.expires_at))
    }

    fn patch(
        &mut self,
        url: &str,
        headers: &http::HeaderMap,
        body: &[u8],
        fault: TusFault,
        now: SystemTime,
    ) -> Result<Answer, Refusal> {
        let ask = read_patch(headers, &self.options)?;
        let options = self.options.clone();
        let upload = self.live(url, now)?;
        let held = upload.data.len() as u64;
        let length = plan_patch(&ask, upload.progress(), Some(body.len() as u64), &options)?;
        let end = patch_end(
            &ask,
            held,
            length,
            body.len() as u64,
            Arrival::Whole,
            || {
                ask.checksum
                    .as_ref()
                    .map(|c| c.algorithm.digest(body))
                    .unwrap_or_default()
            },
        );
        let keep = match end {
            PatchEnd::Keep(n) => usize::try_from(n).unwrap_or(usize::MAX),
            PatchEnd::Mismatch => {
                self.checksum_mismatches += 1;
                return Ok(mismatch());
            }
            PatchEnd::Refuse(r) => return Err(r),
        };
        let keep = match fault {
            TusFault::PersistBytes(n) => keep.min(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => keep,
        };
        upload.length = length;
        upload.data.extend_from_slice(&body[..keep]);
        upload.expires_at = expiry_after_patch(&options, upload.progress(), upload.expires_at, now);
        Ok(patched(upload.progress(), upload.expires_at))
    }

    fn delete(&mut self, url: &str, now: SystemTime) -> Result<Answer, Refusal> {
        plan_terminate(&self.options)?;
        let upload = self.live(url, now)?;
        upload.gone = true;
        upload.terminated = true;
        Ok(terminated())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::test_support::{header, request, response, t0};
    use crate::tus::OFFSET_OCTET_STREAM;
    use http::{Method, Response};
    use std::time::Duration;

    fn answer(reply: Reply) -> Response<Bytes> {
        response(reply)
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
}
