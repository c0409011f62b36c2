//! A "Resumable Uploads for HTTP" server in memory: the rules of
//! [`ietf`](crate::ietf) applied to whole bodies, with scripted
//! [`IetfFault`]s and the caller's virtual wall clock. Each request's
//! [`Exchange`] holds the `104` heads the server would have sent before its
//! final answer. A request that breaks the protocol is logged in
//! [`IetfServer::violations`] and refused, never guessed at.

use std::collections::HashMap;
use std::time::SystemTime;

use bytes::Bytes;
use http::HeaderMap;

use super::{
    Answer, Arrival, BodyEnd, Interop, Progress, Rejection, Route, Told, appended, body_end,
    cancelled, check_cancel, check_head, check_interop, created, digest_mismatch, expired, gone,
    head_answer, interim_created, interim_progress, limit_field, max_age, options, plan_append,
    plan_create, progress_marks, read_append, repr_mismatch, route, sha256_of, status, unknown,
};
use super::{IetfOptions, fields};
use crate::Reply;

/// The creation resource.
pub const IETF_ENDPOINT: &str = "https://ietf.sim/files/";

/// What the model does wrong with one request, on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IetfFault {
    /// Behave.
    None,
    /// Answer this status without processing (no `104` either).
    Status(u16),
    /// Process the request, then answer this status instead.
    StatusAfter(u16),
    /// The connection resets before the server sees the request.
    Reset,
    /// The server processes the request; the final answer is lost (reset),
    /// the `104`s before it arrived.
    LostResponse,
    /// Only this many of the body's bytes arrive and are persisted; then
    /// the connection resets.
    PersistBytes(u64),
    /// The answer's `Upload-Offset` says this; what is stored stays true.
    OffsetLie(u64),
    /// A byte of the body is damaged on its way to the server.
    Corrupt,
    /// The upload expires before this request.
    Expire,
}

/// One upload resource.
#[derive(Debug, Clone)]
pub struct IetfUpload {
    /// The bytes persisted so far.
    pub data: Vec<u8>,
    /// The length, once told.
    pub length: Option<u64>,
    /// Whether a request completing it was fully processed.
    pub complete: bool,
    /// The creation's `Repr-Digest` (sha-256), checked on completion.
    pub repr_digest: Option<[u8; 32]>,
    /// Complete, but its bytes did not match `repr_digest`.
    pub failed: bool,
    /// When it stops being resumable.
    pub expires_at: Option<SystemTime>,
    /// Expired or cancelled.
    pub gone: bool,
    /// Cancelled with `DELETE`.
    pub cancelled: bool,
}

impl IetfUpload {
    fn new(length: Option<u64>, expires_at: Option<SystemTime>) -> Self {
        Self {
            data: Vec::new(),
            length,
            complete: false,
            repr_digest: None,
            failed: false,
            expires_at,
            gone: false,
            cancelled: false,
        }
    }

    /// What the rules read of it.
    pub fn progress(&self) -> Progress {
        Progress {
            offset: self.data.len() as u64,
            length: self.length,
            complete: self.complete,
        }
    }
}

/// What the server sent for one request: the `104` heads, in order, then
/// its final answer (or a reset, after those heads).
#[derive(Debug)]
pub struct Exchange {
    /// The interim `104 (Upload Resumption Supported)` heads.
    pub interim: Vec<http::Response<()>>,
    /// The final answer.
    pub reply: Reply,
}

/// The server's whole state.
#[derive(Debug, Default)]
pub struct IetfServer {
    /// What it speaks.
    pub options: IetfOptions,
    /// Uploads by absolute URL.
    pub uploads: HashMap<String, IetfUpload>,
    /// What the client did wrong, in order.
    pub violations: Vec<String>,
    /// Requests served.
    pub requests: u64,
    /// Body bytes received.
    pub bytes_received: u64,
    /// Requests refused for a `Content-Digest` mismatch.
    pub digest_mismatches: u64,
    next_id: u64,
}

fn head_of(answer: &Answer) -> Option<http::Response<()>> {
    answer.builder().body(()).ok()
}

fn respond(answer: &Answer, body: Option<String>) -> Reply {
    match answer
        .builder()
        .body(body.map(Bytes::from).unwrap_or_default())
    {
        Ok(r) => Reply::Response(r),
        // Only the rules' own well-formed headers go in: never happens.
        Err(_) => Reply::Reset,
    }
}

/// A request's outcome before faults: the final answer and its body.
struct Outcome {
    answer: Answer,
    body: Option<String>,
}

impl Outcome {
    fn plain(answer: Answer) -> Self {
        Self { answer, body: None }
    }
}

impl IetfServer {
    /// A server speaking both interop versions, with no limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// A server with these options.
    pub fn with_options(options: IetfOptions) -> Self {
        Self {
            options,
            ..Self::default()
        }
    }

    /// Creates an upload as another client would have (careful creation,
    /// no content); returns its URL.
    pub fn open_upload(&mut self, length: Option<u64>, now: SystemTime) -> String {
        let url = self.new_url();
        let upload = IetfUpload::new(length, self.options.expiry(now));
        self.uploads.insert(url.clone(), upload);
        url
    }

    /// The bytes of the upload at `url`, once complete (and not failed).
    pub fn completed(&self, url: &str) -> Option<&[u8]> {
        self.uploads
            .get(url)
            .filter(|u| u.complete && !u.failed && !u.gone)
            .map(|u| u.data.as_slice())
    }

    fn new_url(&mut self) -> String {
        self.next_id += 1;
        format!("{IETF_ENDPOINT}u{:04}", self.next_id)
    }

    fn location(&self, url: &str) -> String {
        if self.options.relative_location {
            url.strip_prefix("https://ietf.sim")
                .unwrap_or(url)
                .to_owned()
        } else {
            url.to_owned()
        }
    }

    fn refuse(&mut self, r: &Rejection, interop: Option<Interop>) -> Outcome {
        if r.violation {
            self.violations.push(r.detail.clone());
        }
        Outcome {
            answer: r.answer(interop),
            body: Some(r.body()),
        }
    }

    fn told<'a>(&self, upload: &'a IetfUpload, limit: Option<&'a str>) -> Told<'a> {
        Told {
            progress: upload.progress(),
            limit,
            repr_digest: upload.complete.then(|| sha256_of(&upload.data)),
            want_content_digest: self.options.want_content_digest,
        }
    }

    /// Serves one request. `body` is the bytes the client streamed; `now`
    /// the virtual wall-clock time.
    pub fn serve<T>(
        &mut self,
        req: &http::Request<T>,
        body: &[u8],
        fault: IetfFault,
        now: SystemTime,
    ) -> Exchange {
        self.requests += 1;
        let url = req.uri().to_string();
        let mut interim = Vec::new();
        match fault {
            IetfFault::Reset => {
                return Exchange {
                    interim,
                    reply: Reply::Reset,
                };
            }
            IetfFault::Status(s) => {
                return Exchange {
                    interim,
                    reply: respond(&status(s, None), None),
                };
            }
            IetfFault::Expire => {
                if let Some(u) = self.uploads.get_mut(&url) {
                    u.expires_at = Some(now);
                }
            }
            _ => {}
        }
        let (body, arrival) = match fault {
            IetfFault::PersistBytes(n) => (
                &body[..usize::try_from(n).unwrap_or(usize::MAX).min(body.len())],
                Arrival::CutOff,
            ),
            _ => (body, Arrival::Whole),
        };
        self.bytes_received += body.len() as u64;
        let damaged;
        let body = if fault == IetfFault::Corrupt && !body.is_empty() {
            let mut copy = body.to_vec();
            copy[0] ^= 0xff;
            damaged = copy;
            &damaged[..]
        } else {
            body
        };
        let outcome = self.serve_request(req, &url, body, arrival, now, &mut interim);
        let reply = match (fault, arrival) {
            (_, Arrival::CutOff) | (IetfFault::LostResponse, _) => Reply::Reset,
            (IetfFault::StatusAfter(s), _) => respond(&status(s, None), None),
            (IetfFault::OffsetLie(n), _) => {
                let mut answer = outcome.answer;
                answer.replace("upload-offset", fields::write_integer(n));
                respond(&answer, outcome.body)
            }
            _ => respond(&outcome.answer, outcome.body),
        };
        Exchange { interim, reply }
    }

    fn serve_request<T>(
        &mut self,
        req: &http::Request<T>,
        url: &str,
        body: &[u8],
        arrival: Arrival,
        now: SystemTime,
        interim: &mut Vec<http::Response<()>>,
    ) -> Outcome {
        let headers = req.headers();
        let at_endpoint = url == IETF_ENDPOINT;
        let route = match route(req.method(), at_endpoint, url) {
            Ok(r) => r,
            Err(r) => return self.refuse(&r, None),
        };
        if route == Route::Options && !headers.contains_key(super::INTEROP_HEADER) {
            return Outcome::plain(self.options_answer(None));
        }
        let interop = match check_interop(headers, &self.options) {
            Ok(v) => v,
            Err(r) => return self.refuse(&r, None),
        };
        if arrival == Arrival::Whole
            && let Ok(Some(len)) = crate::wire::content_length(headers)
            && len != body.len() as u64
        {
            let r = Rejection::bad(format!("Content-Length {len} for a body of {}", body.len()));
            return self.refuse(&r, Some(interop));
        }
        let result = match route {
            Route::Options => Ok(Outcome::plain(self.options_answer(Some(interop)))),
            Route::Create => self.create(headers, body, arrival, interop, now, interim),
            Route::Head => check_head(headers, interop).and_then(|()| self.head(url, interop, now)),
            Route::Append => self.append(url, headers, body, arrival, interop, now, interim),
            Route::Cancel => {
                check_cancel(headers, interop).and_then(|()| self.cancel(url, interop, now))
            }
        };
        result.unwrap_or_else(|r| self.refuse(&r, Some(interop)))
    }

    fn options_answer(&self, interop: Option<Interop>) -> Answer {
        let limit = limit_field(
            &self.options.limits,
            interop.unwrap_or(Interop::LATEST),
            None,
        )
        .unwrap_or_default();
        options(&limit, interop, &self.options)
    }

    fn limit(&self, upload: &IetfUpload, interop: Interop, now: SystemTime) -> Option<String> {
        limit_field(
            &self.options.limits,
            interop,
            max_age(upload.expires_at, now),
        )
    }

    /// Appends `body` (as it arrived) to `upload`, holding the progress
    /// `104`s it earns; returns how the body ended.
    #[allow(clippy::too_many_arguments)]
    fn take_body(
        &mut self,
        url: &str,
        complete: bool,
        content_digest: Option<&[u8; 32]>,
        length: Option<u64>,
        body: &[u8],
        arrival: Arrival,
        interop: Interop,
        interim: &mut Vec<http::Response<()>>,
    ) -> Result<BodyEnd, Rejection> {
        let every = self.options.progress_every;
        let upload = self.uploads.get_mut(url).ok_or_else(|| unknown(url))?;
        let held = upload.data.len() as u64;
        let end = body_end(
            complete,
            content_digest,
            held,
            length,
            body.len() as u64,
            arrival,
            || sha256_of(body),
        );
        if let BodyEnd::Keep { bytes, complete } = end {
            let keep = usize::try_from(bytes).unwrap_or(usize::MAX).min(body.len());
            // Bytes checked against a Content-Digest only once all are in
            // are not told as progress while they arrive.
            let every = every.filter(|_| content_digest.is_none());
            for mark in progress_marks(every, held, held.saturating_add(keep as u64)) {
                interim.extend(head_of(&interim_progress(mark, interop)));
            }
            upload.data.extend_from_slice(&body[..keep]);
            if length.is_some() {
                upload.length = length;
            }
            if complete {
                upload.complete = true;
                upload.length = Some(upload.data.len() as u64);
                if upload
                    .repr_digest
                    .is_some_and(|d| d != sha256_of(&upload.data))
                {
                    upload.failed = true;
                }
            }
        }
        Ok(end)
    }

    /// The refusal a kept body's end calls for: a digest mismatch, or a
    /// completed upload that failed its `Repr-Digest`.
    fn after_body(&mut self, url: &str, end: BodyEnd) -> Result<(), Rejection> {
        match end {
            BodyEnd::DigestMismatch => {
                self.digest_mismatches += 1;
                Err(digest_mismatch())
            }
            BodyEnd::Refuse(r) => Err(r),
            BodyEnd::Keep { .. } if self.uploads.get(url).is_some_and(|u| u.failed) => {
                Err(repr_mismatch())
            }
            BodyEnd::Keep { .. } => Ok(()),
        }
    }

    fn create(
        &mut self,
        headers: &HeaderMap,
        body: &[u8],
        arrival: Arrival,
        interop: Interop,
        now: SystemTime,
        interim: &mut Vec<http::Response<()>>,
    ) -> Result<Outcome, Rejection> {
        let len = match arrival {
            Arrival::Whole => Some(body.len() as u64),
            Arrival::CutOff => crate::wire::content_length(headers).ok().flatten(),
        };
        let creation = plan_create(headers, len, interop, &self.options)?;
        let url = self.new_url();
        let mut upload = IetfUpload::new(creation.length, self.options.expiry(now));
        upload.repr_digest = creation.repr_digest;
        let location = self.location(&url);
        let limit = self.limit(&upload, interop, now);
        if self.options.interim {
            interim.extend(head_of(&interim_created(
                &location,
                limit.as_deref(),
                interop,
            )));
        }
        self.uploads.insert(url.clone(), upload);
        let end = self.take_body(
            &url,
            creation.complete,
            creation.content_digest.as_ref(),
            creation.length,
            body,
            arrival,
            interop,
            interim,
        )?;
        if !self.options.interim && !matches!(end, BodyEnd::Keep { .. }) {
            // Its client never learns the URL: nothing was created.
            self.uploads.remove(&url);
        }
        self.after_body(&url, end)?;
        let upload = self.uploads.get(&url).ok_or_else(|| unknown(&url))?;
        let answer = created(&location, &self.told(upload, limit.as_deref()), interop);
        Ok(Outcome::plain(answer))
    }

    /// The upload at `url` when it can still be used.
    fn live(
        &mut self,
        url: &str,
        interop: Interop,
        now: SystemTime,
    ) -> Result<&mut IetfUpload, Rejection> {
        let Some(upload) = self.uploads.get_mut(url) else {
            return Err(unknown(url));
        };
        if expired(upload.expires_at, upload.complete, now) {
            upload.gone = true;
        }
        if upload.gone {
            return Err(gone(url, interop));
        }
        Ok(upload)
    }

    fn head(&mut self, url: &str, interop: Interop, now: SystemTime) -> Result<Outcome, Rejection> {
        let upload = self.live(url, interop, now)?.clone();
        let limit = self.limit(&upload, interop, now);
        Ok(Outcome::plain(head_answer(
            &self.told(&upload, limit.as_deref()),
            interop,
        )))
    }

    #[allow(clippy::too_many_arguments)]
    fn append(
        &mut self,
        url: &str,
        headers: &HeaderMap,
        body: &[u8],
        arrival: Arrival,
        interop: Interop,
        now: SystemTime,
        interim: &mut Vec<http::Response<()>>,
    ) -> Result<Outcome, Rejection> {
        let ask = read_append(headers)?;
        let len = match arrival {
            Arrival::Whole => Some(body.len() as u64),
            Arrival::CutOff => crate::wire::content_length(headers).ok().flatten(),
        };
        let options = self.options.clone();
        let progress = self.live(url, interop, now)?.progress();
        let length = plan_append(&ask, progress, len, interop, &options)?;
        // The whole upload's digest may come with any request; the last one
        // told is checked once the upload completes (§10.1).
        if let Some(digest) = ask.repr_digest
            && let Some(upload) = self.uploads.get_mut(url)
        {
            upload.repr_digest = Some(digest);
        }
        let end = self.take_body(
            url,
            ask.complete,
            ask.content_digest.as_ref(),
            length,
            body,
            arrival,
            interop,
            interim,
        )?;
        self.after_body(url, end)?;
        let upload = self.uploads.get(url).ok_or_else(|| unknown(url))?;
        let limit = self.limit(upload, interop, now);
        Ok(Outcome::plain(appended(
            &self.told(upload, limit.as_deref()),
            interop,
        )))
    }

    fn cancel(
        &mut self,
        url: &str,
        interop: Interop,
        now: SystemTime,
    ) -> Result<Outcome, Rejection> {
        let upload = self.live(url, interop, now)?;
        upload.gone = true;
        upload.cancelled = true;
        Ok(Outcome::plain(cancelled(interop)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use http::{Method, Response};

    use super::super::{Limits, PARTIAL_UPLOAD, fields::write_sha256};
    use super::*;
    use crate::test_support::{header, request, response, t0};

    fn answer(e: Exchange) -> Response<Bytes> {
        response(e.reply)
    }

    fn append(url: &str, v: &str, offset: &str, complete: &str) -> http::Request<()> {
        request(
            Method::PATCH,
            url,
            &[
                (super::super::INTEROP_HEADER, v),
                ("content-type", PARTIAL_UPLOAD),
                ("upload-offset", offset),
                ("upload-complete", complete),
            ],
        )
    }

    #[test]
    fn careful_creation_then_appends_in_both_versions() {
        for (v, appended, done) in [("6", 201, 201), ("8", 204, 200)] {
            let mut s = IetfServer::new();
            let post = request(
                Method::POST,
                IETF_ENDPOINT,
                &[
                    (super::super::INTEROP_HEADER, v),
                    ("upload-complete", "?0"),
                    ("upload-length", "11"),
                ],
            );
            let e = s.serve(&post, b"", IetfFault::None, t0());
            assert_eq!(e.interim.len(), 1, "the 104 announcing the resource");
            assert_eq!(e.interim[0].status(), 104);
            let r = answer(e);
            assert_eq!(r.status(), 201);
            let url = header(&r, "location");
            assert_eq!(header(&r, "upload-complete"), "?0");
            let age = if v == "6" { "expires" } else { "max-age" };
            assert_eq!(header(&r, "upload-limit"), format!("{age}=86400"));
            let r = answer(s.serve(&append(&url, v, "0", "?0"), b"hello", IetfFault::None, t0()));
            assert_eq!(
                (r.status().as_u16(), header(&r, "upload-offset")),
                (appended, "5".into())
            );
            let r = answer(s.serve(
                &append(&url, v, "5", "?1"),
                b" world",
                IetfFault::None,
                t0(),
            ));
            assert_eq!(r.status(), done);
            assert_eq!(header(&r, "upload-complete"), "?1");
            assert_eq!(s.completed(&url), Some(&b"hello world"[..]));
            let head = request(Method::HEAD, &url, &[(super::super::INTEROP_HEADER, v)]);
            let r = answer(s.serve(&head, b"", IetfFault::None, t0()));
            assert_eq!(r.status(), 204);
            assert_eq!(header(&r, "upload-offset"), "11");
            assert_eq!(header(&r, "upload-length"), "11");
            assert_eq!(header(&r, "cache-control"), "no-store");
            assert!(s.violations.is_empty(), "{:?}", s.violations);
        }
    }

    #[test]
    fn optimistic_creation_cut_off_resumes_from_what_was_persisted() {
        let mut s = IetfServer::with_options(IetfOptions {
            progress_every: Some(4),
            ..IetfOptions::default()
        });
        let post = request(
            Method::POST,
            IETF_ENDPOINT,
            &[
                (super::super::INTEROP_HEADER, "8"),
                ("upload-complete", "?1"),
                ("content-length", "11"),
            ],
        );
        let e = s.serve(&post, b"hello world", IetfFault::PersistBytes(6), t0());
        assert!(matches!(e.reply, Reply::Reset));
        let statuses: Vec<_> = e.interim.iter().map(|h| h.status().as_u16()).collect();
        assert_eq!(statuses, [104, 104]);
        let url = e.interim[0].headers()["location"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(e.interim[1].headers()["upload-offset"], "4");
        assert!(!e.interim[1].headers().contains_key("location"));
        assert_eq!(e.interim[0].headers()[super::super::INTEROP_HEADER], "8");
        let head = request(Method::HEAD, &url, &[(super::super::INTEROP_HEADER, "8")]);
        let r = answer(s.serve(&head, b"", IetfFault::None, t0()));
        assert_eq!(header(&r, "upload-offset"), "6");
        assert_eq!(header(&r, "upload-complete"), "?0");
        // The length told by Content-Length with Upload-Complete: ?1 holds.
        assert_eq!(header(&r, "upload-length"), "11");
        let r = answer(s.serve(&append(&url, "8", "0", "?1"), b"rld", IetfFault::None, t0()));
        assert_eq!(r.status(), 409);
        assert_eq!(header(&r, "content-type"), super::super::PROBLEM_JSON);
        let doc: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(
            (
                doc["expected-offset"].as_u64(),
                doc["provided-offset"].as_u64()
            ),
            (Some(6), Some(0))
        );
        let r = answer(s.serve(
            &append(&url, "8", "6", "?1"),
            b"world",
            IetfFault::None,
            t0(),
        ));
        assert_eq!(r.status(), 200);
        assert_eq!(s.completed(&url), Some(&b"hello world"[..]));
        assert!(s.violations.is_empty(), "{:?}", s.violations);
    }

    #[test]
    fn digests_are_checked() {
        let mut s = IetfServer::new();
        let good = write_sha256(&sha256_of(b"hello world"));
        let post = request(
            Method::POST,
            IETF_ENDPOINT,
            &[
                (super::super::INTEROP_HEADER, "8"),
                ("upload-complete", "?1"),
                ("content-digest", &good),
                ("repr-digest", &good),
            ],
        );
        let r = answer(s.serve(&post, b"hello world", IetfFault::Corrupt, t0()));
        assert_eq!(r.status(), 400);
        assert_eq!(s.digest_mismatches, 1);
        let r = answer(s.serve(&post, b"hello world", IetfFault::None, t0()));
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "repr-digest"), good);
        // A Repr-Digest the whole upload does not match fails it.
        let url = s.open_upload(None, t0());
        if let Some(u) = s.uploads.get_mut(&url) {
            u.repr_digest = Some(sha256_of(b"something else"));
        }
        let r = answer(s.serve(
            &append(&url, "8", "0", "?1"),
            b"hello",
            IetfFault::None,
            t0(),
        ));
        assert_eq!(
            (r.status().as_u16(), header(&r, "upload-complete")),
            (400, "?1".into())
        );
        assert_eq!(s.completed(&url), None);
    }

    #[test]
    fn strictness_limits_faults_and_cancellation() {
        let mut s = IetfServer::with_options(IetfOptions {
            limits: Limits {
                max_append_size: Some(4),
                ..Limits::default()
            },
            interim: false,
            ..IetfOptions::default()
        });
        let url = s.open_upload(Some(10), t0());
        let bare = request(Method::HEAD, &url, &[]);
        let e = s.serve(&bare, b"", IetfFault::None, t0());
        assert!(e.interim.is_empty());
        assert_eq!(answer(e).status(), 400);
        let other = request(Method::HEAD, &url, &[(super::super::INTEROP_HEADER, "5")]);
        assert_eq!(
            answer(s.serve(&other, b"", IetfFault::None, t0())).status(),
            400
        );
        let r = answer(s.serve(
            &append(&url, "8", "0", "?0"),
            b"hello",
            IetfFault::None,
            t0(),
        ));
        assert_eq!(r.status(), 413);
        assert_eq!(header(&r, "upload-limit"), "max-append-size=4");
        let r = answer(s.serve(
            &append(&url, "8", "0", "?0"),
            b"hell",
            IetfFault::OffsetLie(9),
            t0(),
        ));
        assert_eq!(header(&r, "upload-offset"), "9");
        assert_eq!(s.uploads[&url].data, b"hell");
        let e = s.serve(
            &append(&url, "8", "4", "?0"),
            b"o wo",
            IetfFault::LostResponse,
            t0(),
        );
        assert!(matches!(e.reply, Reply::Reset));
        assert_eq!(s.uploads[&url].data, b"hello wo");
        let v6head = request(
            Method::HEAD,
            &url,
            &[(super::super::INTEROP_HEADER, "6"), ("upload-offset", "8")],
        );
        assert_eq!(
            answer(s.serve(&v6head, b"", IetfFault::None, t0())).status(),
            400
        );
        let delete = request(Method::DELETE, &url, &[(super::super::INTEROP_HEADER, "8")]);
        assert_eq!(
            answer(s.serve(&delete, b"", IetfFault::None, t0())).status(),
            204
        );
        assert!(s.uploads[&url].cancelled);
        let head = request(Method::HEAD, &url, &[(super::super::INTEROP_HEADER, "8")]);
        assert_eq!(
            answer(s.serve(&head, b"", IetfFault::None, t0())).status(),
            410
        );
        let head6 = request(Method::HEAD, &url, &[(super::super::INTEROP_HEADER, "6")]);
        assert_eq!(
            answer(s.serve(&head6, b"", IetfFault::None, t0())).status(),
            404
        );
        let url = s.open_upload(Some(10), t0());
        let head = request(Method::HEAD, &url, &[(super::super::INTEROP_HEADER, "8")]);
        assert_eq!(
            answer(s.serve(&head, b"", IetfFault::Expire, t0())).status(),
            410
        );
        let options = request(Method::OPTIONS, IETF_ENDPOINT, &[]);
        let r = answer(s.serve(&options, b"", IetfFault::None, t0()));
        assert_eq!(header(&r, "upload-limit"), "max-append-size=4");
        // The missing version and the v6 HEAD with Upload-Offset.
        assert_eq!(s.violations.len(), 2, "{:?}", s.violations);
    }

    #[test]
    fn no_request_makes_it_panic() {
        let odd = [
            "",
            "0",
            "-1",
            "?1",
            "?0",
            "1;a=b",
            "1.5",
            "\"x\"",
            "(1 2)",
            "sha-256=:AAAA:",
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
            "999999999999999",
            "18446744073709551615",
            "a=1, b",
        ];
        let names = [
            super::super::INTEROP_HEADER,
            "upload-offset",
            "upload-complete",
            "upload-length",
            "content-digest",
            "repr-digest",
            "content-length",
        ];
        let faults = [
            IetfFault::None,
            IetfFault::PersistBytes(1),
            IetfFault::Corrupt,
            IetfFault::OffsetLie(u64::MAX),
        ];
        let mut s = IetfServer::with_options(IetfOptions {
            progress_every: Some(1),
            limits: Limits {
                max_size: Some(3),
                min_append_size: Some(2),
                ..Limits::default()
            },
            ..IetfOptions::default()
        });
        let url = s.open_upload(None, t0());
        for method in [
            Method::POST,
            Method::PATCH,
            Method::HEAD,
            Method::DELETE,
            Method::OPTIONS,
            Method::GET,
        ] {
            for target in [IETF_ENDPOINT, url.as_str(), "https://ietf.sim/files/nope"] {
                for name in names {
                    for value in odd {
                        for (i, fault) in faults.iter().enumerate() {
                            let mut h = vec![
                                (super::super::INTEROP_HEADER, "8"),
                                ("content-type", PARTIAL_UPLOAD),
                                ("upload-offset", "0"),
                                ("upload-complete", if i % 2 == 0 { "?0" } else { "?1" }),
                            ];
                            h.retain(|(k, _)| *k != name);
                            h.push((name, value));
                            let req = request(method.clone(), target, &h);
                            let _ = s.serve(&req, &b"abcd"[..i], *fault, t0());
                        }
                    }
                }
            }
        }
        assert!(s.requests > 1000);
    }
}
