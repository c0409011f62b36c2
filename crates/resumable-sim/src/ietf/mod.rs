//! The server rules of "Resumable Uploads for HTTP"
//! (draft-ietf-httpbis-resumable-upload), written once: which request an
//! upload resource takes, what a creation's or an append's headers ask for,
//! how a body ends given the bytes received and their digest, and the
//! answers' heads — the `104 (Upload Resumption Supported)` interim heads
//! included.
//!
//! Two interop versions are spoken, each strictly ([`Interop`]): version 6
//! (draft -04/-05, what tus-js-client's IETF mode and tusd speak) and
//! version 8, the latest whose text was readable here (the working group's
//! editor's copy after draft -11). Section numbers cite that latest text
//! ("§4.4") and draft -05 ("-05 §6") where the two differ.
//!
//! [`IetfServer`] applies the rules to whole bodies in memory; the
//! emulator applies the same functions to bodies it streams to storage.
//! Each function reads headers, [`IetfOptions`] and an upload's state and
//! returns a decision, an [`Answer`] or a [`Rejection`]; none does IO or
//! keeps state, and none panics on any request.

mod fields;
mod server;

use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method};
use sha2::Digest as _;

use crate::answer::{Answer, Arrival};
use fields::{Field, boolean, integer, sha256, write_bool, write_dictionary, write_integer};

pub use server::{Exchange, IETF_ENDPOINT, IetfFault, IetfServer, IetfUpload};

/// The media type of an append's content (§6; -05 §9).
pub const PARTIAL_UPLOAD: &str = "application/partial-upload";
/// The media type of every refusal's body (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";
/// The header naming the interop version (Appendix "Draft Version
/// Identification"; -05 §4.2).
pub const INTEROP_HEADER: &str = "upload-draft-interop-version";

/// An interop version of the draft: what a client names in
/// `Upload-Draft-Interop-Version` and a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Interop {
    /// Interop version 6: drafts -04 and -05. Limits name the lifetime
    /// `expires`; an append is acknowledged `201`; `HEAD` and `DELETE`
    /// refuse the upload fields; an inactive upload is `404`.
    V6,
    /// Interop version 8: drafts -09 onwards, the latest readable here.
    /// The lifetime is `max-age`; an append is acknowledged `204`, a
    /// completion `200`; an expired or cancelled upload is `410`.
    V8,
}

impl Interop {
    /// The latest version the servers speak.
    pub const LATEST: Interop = Interop::V8;

    /// Every version the servers speak, oldest first.
    pub const ALL: [Interop; 2] = [Interop::V6, Interop::V8];

    /// Its number on the wire.
    pub fn number(self) -> u64 {
        match self {
            Interop::V6 => 6,
            Interop::V8 => 8,
        }
    }

    /// The version numbered `n`, when the servers know it.
    pub fn from_number(n: u64) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.number() == n)
    }
}

/// The limits a server announces in `Upload-Limit` and enforces (§4.1.4;
/// -05 §8.2). `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// The largest representation, in bytes.
    pub max_size: Option<u64>,
    /// The smallest representation it offers resumability for (announced
    /// only: every creation is made resumable).
    pub min_size: Option<u64>,
    /// The most content one creation or append carries.
    pub max_append_size: Option<u64>,
    /// The least content one append (or creation) that does not complete
    /// the upload carries.
    pub min_append_size: Option<u64>,
}

/// What a server speaks and how it answers.
#[derive(Debug, Clone)]
pub struct IetfOptions {
    /// The interop versions it speaks; a request naming another is refused.
    pub versions: Vec<Interop>,
    /// The limits it announces and enforces.
    pub limits: Limits,
    /// How long an upload resource lives after its creation (`max-age`).
    pub lifetime: Option<Duration>,
    /// Whether it sends the `104` announcing a creation's upload resource
    /// before reading its content (§4.2.2). Off: a server that cannot send
    /// interim responses.
    pub interim: bool,
    /// Send a progress `104` with `Upload-Offset` each time this many more
    /// bytes are persisted while content streams in (§4.2.2, §4.4.2).
    pub progress_every: Option<u64>,
    /// Announce `Want-Content-Digest: sha-256=10` (RFC 9530 §4), inviting
    /// clients to send `Content-Digest`.
    pub want_content_digest: bool,
    /// Answer a creation with a relative `Location`.
    pub relative_location: bool,
}

impl Default for IetfOptions {
    /// Both interop versions, no limits, uploads that live a day, `104`s
    /// on creation, no progress `104`s, absolute locations.
    fn default() -> Self {
        Self {
            versions: Interop::ALL.to_vec(),
            limits: Limits::default(),
            lifetime: Some(Duration::from_secs(24 * 3600)),
            interim: true,
            progress_every: None,
            want_content_digest: false,
            relative_location: false,
        }
    }
}

impl IetfOptions {
    /// When an upload created at `now` stops being resumable.
    pub fn expiry(&self, now: SystemTime) -> Option<SystemTime> {
        self.lifetime.and_then(|l| now.checked_add(l))
    }
}

/// A problem type of the draft (§7; -05 §10), or none of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemType {
    /// `mismatching-upload-offset`: the append's `Upload-Offset` is not the
    /// resource's (§7.1).
    MismatchingOffset,
    /// `inconsistent-upload-length`: two indications of the length
    /// disagree (§7.2).
    InconsistentLength,
    /// `completed-upload`: an append to a completed upload (-05 §10.2).
    CompletedUpload,
    /// `about:blank`: the status says it all (RFC 9457 §4.2.1).
    Blank,
}

impl ProblemType {
    /// Its URI, the problem document's `type`.
    pub fn uri(self) -> &'static str {
        match self {
            ProblemType::MismatchingOffset => {
                "https://iana.org/assignments/http-problem-types#mismatching-upload-offset"
            }
            ProblemType::InconsistentLength => {
                "https://iana.org/assignments/http-problem-types#inconsistent-upload-length"
            }
            ProblemType::CompletedUpload => {
                "https://iana.org/assignments/http-problem-types#completed-upload"
            }
            ProblemType::Blank => "about:blank",
        }
    }
}

/// A refused request: its status, the problem document it answers with
/// (RFC 9457) and the headers the draft asks of that refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The status.
    pub status: u16,
    /// The problem type.
    pub problem: ProblemType,
    /// The problem document's `title`.
    pub title: &'static str,
    /// What exactly was wrong (`detail`).
    pub detail: String,
    /// Extension members (`expected-offset`, `provided-offset`).
    pub members: Vec<(&'static str, u64)>,
    /// Headers besides the problem's content type (`Upload-Offset`,
    /// `Upload-Complete`, `Upload-Limit`).
    pub headers: Vec<(&'static str, String)>,
    /// Whether the client broke the protocol (a strict server logs it), as
    /// opposed to an answer a correct client can get (`404`, `409`, a limit).
    pub violation: bool,
}

impl Rejection {
    fn new(status: u16, problem: ProblemType, title: &'static str, detail: String) -> Self {
        Self {
            status,
            problem,
            title,
            detail,
            members: Vec::new(),
            headers: Vec::new(),
            violation: false,
        }
    }

    /// `400` for a request that breaks the protocol.
    fn bad(detail: impl Into<String>) -> Self {
        Self {
            violation: true,
            ..Self::new(400, ProblemType::Blank, "Bad Request", detail.into())
        }
    }

    /// The draft's form of a generic refusal (a request's framing that
    /// does not parse, say): its status, as a violation when it is `400`.
    pub fn from_refusal(r: &crate::Refusal) -> Self {
        Self {
            violation: r.status == 400,
            ..Self::new(
                r.status,
                ProblemType::Blank,
                "Bad Request",
                r.message.clone(),
            )
        }
    }

    fn with(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The problem document, as the body's JSON.
    pub fn document(&self) -> serde_json::Value {
        let mut doc = serde_json::json!({
            "type": self.problem.uri(),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        });
        if let Some(map) = doc.as_object_mut() {
            for (k, v) in &self.members {
                map.insert((*k).to_owned(), (*v).into());
            }
        }
        doc
    }

    /// [`Rejection::document`] as the bytes of a body.
    pub fn body(&self) -> String {
        self.document().to_string()
    }

    /// The answer's head: the status, the interop version when the request
    /// named one the server speaks, the problem's content type, the
    /// refusal's own headers.
    pub fn answer(&self, interop: Option<Interop>) -> Answer {
        let mut a = head(self.status, interop).with("content-type", PROBLEM_JSON);
        a.headers.extend(self.headers.iter().cloned());
        a
    }
}

/// An answer of `status` carrying the interop version, when known.
fn head(status: u16, interop: Option<Interop>) -> Answer {
    let a = Answer::new(status);
    match interop {
        Some(v) => a.with(INTEROP_HEADER, v.number()),
        None => a,
    }
}

/// An answer of `status` alone (a scripted fault's), with the interop
/// version when known.
pub fn status(status: u16, interop: Option<Interop>) -> Answer {
    head(status, interop)
}

/// What a request asks for, by its method and whether it names the
/// creation resource or an upload resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `OPTIONS`: the limits ([`options`]).
    Options,
    /// Content to the creation resource (`POST`, `PUT` or `PATCH`):
    /// [`plan_create`] (§4.2).
    Create,
    /// `HEAD` (or `GET`) of an upload: [`head_answer`] (§4.3).
    Head,
    /// `PATCH` of an upload: [`read_append`], then [`plan_append`] (§4.4).
    Append,
    /// `DELETE` of an upload: [`cancelled`] (§4.5).
    Cancel,
}

/// The route of a request with `method` to the creation resource
/// (`at_endpoint`) or to the upload `url`; `405` for any other method.
pub fn route(method: &Method, at_endpoint: bool, url: &str) -> Result<Route, Rejection> {
    match (method, at_endpoint) {
        (&Method::OPTIONS, _) => Ok(Route::Options),
        (&Method::POST | &Method::PUT | &Method::PATCH, true) => Ok(Route::Create),
        (&Method::HEAD | &Method::GET, false) => Ok(Route::Head),
        (&Method::PATCH, false) => Ok(Route::Append),
        (&Method::DELETE, false) => Ok(Route::Cancel),
        (m, _) => Err(Rejection {
            headers: vec![(
                "allow",
                if at_endpoint {
                    "OPTIONS, POST, PUT, PATCH"
                } else {
                    "HEAD, GET, PATCH, DELETE, OPTIONS"
                }
                .to_owned(),
            )],
            ..Rejection::new(
                405,
                ProblemType::Blank,
                "Method Not Allowed",
                format!("{m} to {url}"),
            )
        }),
    }
}

/// The interop version a request names, which the server must speak
/// (Appendix "Draft Version Identification"; -05 §4.2). A request without
/// one (or with one that is no Integer) breaks the draft; one naming a
/// version the server does not speak is another draft's client. Both are
/// refused with `400`, and neither ever gets a `104`, as the draft demands.
pub fn check_interop(headers: &HeaderMap, options: &IetfOptions) -> Result<Interop, Rejection> {
    match integer(headers, INTEROP_HEADER) {
        Field::Absent => Err(Rejection::bad(
            "a request without Upload-Draft-Interop-Version",
        )),
        Field::Invalid => Err(Rejection::bad(
            "Upload-Draft-Interop-Version is not a non-negative Integer",
        )),
        Field::Value(n) => match Interop::from_number(n) {
            Some(v) if options.versions.contains(&v) => Ok(v),
            _ => Err(Rejection::new(
                400,
                ProblemType::Blank,
                "Unsupported Interop Version",
                format!(
                    "Upload-Draft-Interop-Version {n} is not one this server speaks ({})",
                    speaks(options)
                ),
            )),
        },
    }
}

fn speaks(options: &IetfOptions) -> String {
    options
        .versions
        .iter()
        .map(|v| v.number().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What an upload's answers tell of it (§4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The bytes persisted, from offset 0.
    pub offset: u64,
    /// The length, once told.
    pub length: Option<u64>,
    /// Whether a request with `Upload-Complete: ?1` was fully processed.
    pub complete: bool,
}

/// What a valid creation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creation {
    /// `Upload-Complete`: its content is the whole representation.
    pub complete: bool,
    /// The length, from `Upload-Length` or `Content-Length` with
    /// `Upload-Complete: ?1` (§4.1.3).
    pub length: Option<u64>,
    /// `Content-Digest`'s sha-256, to check its content against (§10.2).
    pub content_digest: Option<[u8; 32]>,
    /// `Repr-Digest`'s sha-256, to check the whole upload against once it
    /// is complete (§10.1).
    pub repr_digest: Option<[u8; 32]>,
}

/// The sha-256 of an RFC 9530 digest field, when sent: `400` when it is
/// sent but malformed; a field naming only other algorithms is ignored.
fn digest_field(headers: &HeaderMap, name: &str) -> Result<Option<[u8; 32]>, Rejection> {
    match sha256(headers, name) {
        Field::Absent => Ok(None),
        Field::Value(d) => Ok(d),
        Field::Invalid => Err(Rejection::bad(format!(
            "{name} is not an RFC 9530 Dictionary with a 32-byte sha-256 Byte Sequence"
        ))),
    }
}

/// `400 inconsistent-upload-length` (§7.2).
fn inconsistent(detail: String, complete: bool) -> Rejection {
    Rejection {
        violation: true,
        ..Rejection::new(
            400,
            ProblemType::InconsistentLength,
            "inconsistent length values for upload",
            detail,
        )
    }
    .with("upload-complete", write_bool(complete))
}

/// The length a request indicates (§4.1.3): `Upload-Length`, and with
/// `Upload-Complete: ?1` the offset plus `Content-Length`; these and a
/// length already `recorded` must agree.
fn indicated_length(
    told: Option<u64>,
    complete: bool,
    offset: u64,
    len: Option<u64>,
    recorded: Option<u64>,
) -> Result<Option<u64>, Rejection> {
    let by_content = match (complete, len) {
        (true, Some(n)) => Some(
            offset
                .checked_add(n)
                .ok_or_else(|| Rejection::bad("a length past any byte count"))?,
        ),
        _ => None,
    };
    let mut length = recorded;
    for (what, l) in [("Upload-Length", told), ("Content-Length", by_content)] {
        match (length, l) {
            (Some(a), Some(b)) if a != b => {
                return Err(inconsistent(
                    format!("{what} indicates a length of {b}, the upload's is {a}"),
                    false,
                ));
            }
            (None, Some(b)) => length = Some(b),
            _ => {}
        }
    }
    Ok(length)
}

/// `413`, with the limits, for content past a limit (§4.1.4).
fn too_large(detail: String, limits: &Limits, interop: Interop) -> Rejection {
    let r = Rejection::new(413, ProblemType::Blank, "Content Too Large", detail);
    match limit_field(limits, interop, None) {
        Some(v) => r.with("upload-limit", v),
        None => r,
    }
}

/// Checks a chunked body's `received` bytes, appended at `offset`, against
/// the limits once it is in, as [`plan_create`] and [`plan_append`] check
/// a body whose length the framing tells.
pub fn plan_limits(
    limits: &Limits,
    interop: Interop,
    offset: u64,
    received: u64,
    length: Option<u64>,
    complete: bool,
) -> Result<(), Rejection> {
    within_limits(limits, interop, offset, Some(received), length, complete)
}

/// Checks content of `len` bytes (`None`: chunked, checked as it arrives)
/// appended at `offset` against the limits, for an upload of `length`.
fn within_limits(
    limits: &Limits,
    interop: Interop,
    offset: u64,
    len: Option<u64>,
    length: Option<u64>,
    complete: bool,
) -> Result<(), Rejection> {
    if let (Some(max), Some(l)) = (limits.max_size, length)
        && l > max
    {
        return Err(too_large(
            format!("a length of {l}, more than max-size {max}"),
            limits,
            interop,
        ));
    }
    let Some(n) = len else { return Ok(()) };
    if let Some(max) = limits.max_append_size
        && n > max
    {
        return Err(too_large(
            format!("{n} bytes in one request, more than max-append-size {max}"),
            limits,
            interop,
        ));
    }
    let end = offset.saturating_add(n);
    if let Some(max) = limits.max_size
        && end > max
    {
        return Err(too_large(
            format!("{end} bytes, more than max-size {max}"),
            limits,
            interop,
        ));
    }
    if let Some(min) = limits.min_append_size
        && !complete
        && n > 0
        && n < min
    {
        return Err(Rejection::bad(format!(
            "{n} bytes in a request that does not complete the upload, fewer than min-append-size {min}"
        )));
    }
    if let Some(l) = length
        && end > l
    {
        return Err(Rejection::bad(format!(
            "content up to {end} bytes, past the upload's length {l}"
        )));
    }
    Ok(())
}

/// Checks a creation's headers (§4.2; -05 §4), its content `len` bytes
/// when known before it is read. Only a request with `Upload-Complete`
/// creates an upload resource; at the creation resource, which serves
/// nothing else, one without it is refused.
pub fn plan_create(
    headers: &HeaderMap,
    len: Option<u64>,
    interop: Interop,
    options: &IetfOptions,
) -> Result<Creation, Rejection> {
    let complete = boolean(headers, "upload-complete")
        .ignoring_invalid()
        .ok_or_else(|| Rejection::bad("a creation without a Boolean Upload-Complete"))?;
    match integer(headers, "upload-offset") {
        Field::Absent | Field::Value(0) => {}
        _ => return Err(Rejection::bad("a creation with an Upload-Offset (-05 §4)")),
    }
    let told = integer(headers, "upload-length").ignoring_invalid();
    let length = indicated_length(told, complete, 0, len, None)?;
    within_limits(&options.limits, interop, 0, len, length, complete)?;
    Ok(Creation {
        complete,
        length,
        content_digest: digest_field(headers, "content-digest")?,
        repr_digest: digest_field(headers, "repr-digest")?,
    })
}

/// What an append's headers ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendAsk {
    /// `Upload-Offset`: where its content goes.
    pub offset: u64,
    /// `Upload-Complete`: its content ends the representation.
    pub complete: bool,
    /// `Upload-Length`, when told.
    pub length: Option<u64>,
    /// `Content-Digest`'s sha-256.
    pub content_digest: Option<[u8; 32]>,
    /// `Repr-Digest`'s sha-256: the whole upload's, to check once it is
    /// complete (§10.1), as a creation's is.
    pub repr_digest: Option<[u8; 32]>,
}

/// Reads an append's headers, before the upload is looked at (§4.4.1;
/// -05 §6): `415` without `application/partial-upload`, `400` without a
/// valid `Upload-Offset` or `Upload-Complete`.
pub fn read_append(headers: &HeaderMap) -> Result<AppendAsk, Rejection> {
    let media = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if !media.is_some_and(|m| m.eq_ignore_ascii_case(PARTIAL_UPLOAD)) {
        return Err(Rejection {
            violation: true,
            ..Rejection::new(
                415,
                ProblemType::Blank,
                "Unsupported Media Type",
                format!("an append's Content-Type is {PARTIAL_UPLOAD}"),
            )
        });
    }
    let offset = integer(headers, "upload-offset")
        .ignoring_invalid()
        .ok_or_else(|| Rejection::bad("an append without a valid Upload-Offset"))?;
    let complete = boolean(headers, "upload-complete")
        .ignoring_invalid()
        .ok_or_else(|| Rejection::bad("an append without a Boolean Upload-Complete"))?;
    Ok(AppendAsk {
        offset,
        complete,
        length: integer(headers, "upload-length").ignoring_invalid(),
        content_digest: digest_field(headers, "content-digest")?,
        repr_digest: digest_field(headers, "repr-digest")?,
    })
}

/// `409 mismatching-upload-offset` (§7.1): the resource's offset in
/// `Upload-Offset` and the problem's members, `Upload-Complete: ?0`.
fn mismatching(expected: u64, provided: u64) -> Rejection {
    Rejection {
        members: vec![("expected-offset", expected), ("provided-offset", provided)],
        ..Rejection::new(
            409,
            ProblemType::MismatchingOffset,
            "offset from request does not match offset of resource",
            format!("an append at {provided}, the upload holds {expected}"),
        )
    }
    .with("upload-offset", write_integer(expected))
    .with("upload-complete", write_bool(false))
}

/// Checks an append against the live upload's `progress`, its content
/// `len` bytes when known before it is read (§4.4.2; -05 §6). Returns the
/// upload's length once the append is kept.
pub fn plan_append(
    ask: &AppendAsk,
    progress: Progress,
    len: Option<u64>,
    interop: Interop,
    options: &IetfOptions,
) -> Result<Option<u64>, Rejection> {
    if progress.complete {
        let problem = match interop {
            Interop::V6 => ProblemType::CompletedUpload,
            Interop::V8 => ProblemType::Blank,
        };
        return Err(Rejection::new(
            400,
            problem,
            "upload is already completed",
            "an append to a completed upload".to_owned(),
        )
        .with("upload-complete", write_bool(false)));
    }
    if ask.offset != progress.offset {
        return Err(mismatching(progress.offset, ask.offset));
    }
    let length = indicated_length(ask.length, ask.complete, ask.offset, len, progress.length)?;
    within_limits(
        &options.limits,
        interop,
        ask.offset,
        len,
        length,
        ask.complete,
    )?;
    Ok(length)
}

/// How a body ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyEnd {
    /// Keep this many of the request's bytes; `complete` when the upload
    /// is complete with them. A body cut off gets no answer.
    Keep {
        /// Bytes kept.
        bytes: u64,
        /// Whether the upload is complete.
        complete: bool,
    },
    /// `Content-Digest` does not match: nothing kept ([`digest_mismatch`]).
    DigestMismatch,
    /// Refused: nothing kept.
    Refuse(Rejection),
}

/// How a creation or append asking `complete`, with a declared
/// `content_digest`, on an upload holding `held` bytes of `length`, ends,
/// its body having brought `received` bytes. `digest` gives the sha-256 of
/// those bytes, asked for only when one was declared and the body arrived
/// whole. A body cut off keeps what arrived, never completing the upload
/// (§4.4.2) — except with a declared digest: bytes that cannot be verified
/// are not kept (§10.2).
pub fn body_end(
    complete: bool,
    content_digest: Option<&[u8; 32]>,
    held: u64,
    length: Option<u64>,
    received: u64,
    arrival: Arrival,
    digest: impl FnOnce() -> [u8; 32],
) -> BodyEnd {
    let room = length.map_or(u64::MAX, |l| l.saturating_sub(held));
    match arrival {
        Arrival::CutOff if content_digest.is_some() => BodyEnd::Keep {
            bytes: 0,
            complete: false,
        },
        Arrival::CutOff => BodyEnd::Keep {
            bytes: received.min(room),
            complete: false,
        },
        Arrival::Whole if received > room => {
            BodyEnd::Refuse(Rejection::bad("content past the upload's length"))
        }
        Arrival::Whole => {
            if content_digest.is_some_and(|d| *d != digest()) {
                return BodyEnd::DigestMismatch;
            }
            let end = held.saturating_add(received);
            if let (true, Some(l)) = (complete, length)
                && end != l
            {
                return BodyEnd::Refuse(inconsistent(
                    format!("the upload completes at {end}, its length is {l}"),
                    false,
                ));
            }
            BodyEnd::Keep {
                bytes: received,
                complete,
            }
        }
    }
}

/// The sha-256 of `bytes`, as `Content-Digest` and `Repr-Digest` carry it.
pub fn sha256_of(bytes: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(bytes).into()
}

/// A running sha-256, for content that arrives in pieces.
#[derive(Debug, Clone, Default)]
pub struct Sha256(sha2::Sha256);

impl Sha256 {
    /// Feeds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest of everything fed.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// `400` for content that does not match its `Content-Digest` (§10.2: the
/// transfer failed, nothing appended; RFC 9530 names no status, so the
/// client's fault it is).
pub fn digest_mismatch() -> Rejection {
    Rejection::new(
        400,
        ProblemType::Blank,
        "Content-Digest mismatch",
        "the content does not match its Content-Digest; nothing of it was kept".to_owned(),
    )
    .with("upload-complete", write_bool(false))
}

/// `400` for a completed upload whose bytes do not match the creation's
/// `Repr-Digest` (§10.1): the upload failed; `Upload-Complete: ?1`, since
/// this is the outcome of processing the representation.
pub fn repr_mismatch() -> Rejection {
    Rejection::new(
        400,
        ProblemType::Blank,
        "Repr-Digest mismatch",
        "the uploaded representation does not match the creation's Repr-Digest".to_owned(),
    )
    .with("upload-complete", write_bool(true))
}

/// `Upload-Limit` (§4.1.4; -05 §8.2): the limits, and the upload's
/// remaining lifetime (`max-age`, `expires` in version 6) when it has one;
/// `min-size=0` when there are none, as the draft asks.
pub fn limit_field(limits: &Limits, interop: Interop, max_age: Option<u64>) -> Option<String> {
    let age = match interop {
        Interop::V6 => "expires",
        Interop::V8 => "max-age",
    };
    let members: Vec<(&'static str, u64)> = [
        ("max-size", limits.max_size),
        ("min-size", limits.min_size),
        ("max-append-size", limits.max_append_size),
        ("min-append-size", limits.min_append_size),
        (age, max_age),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    write_dictionary(&members).or_else(|| write_dictionary(&[("min-size", 0)]))
}

/// The seconds from `now` to `expires_at`, for `max-age`.
pub fn max_age(expires_at: Option<SystemTime>, now: SystemTime) -> Option<u64> {
    expires_at.map(|t| t.duration_since(now).map_or(0, |d| d.as_secs()))
}

/// Whether an upload past `expires_at` at `now` has expired: a complete
/// one never does.
pub fn expired(expires_at: Option<SystemTime>, complete: bool, now: SystemTime) -> bool {
    expires_at.is_some_and(|t| t <= now) && !complete
}

/// `404` for an upload resource that never was (-05 §5: also for one no
/// longer active).
pub fn unknown(url: &str) -> Rejection {
    Rejection::new(
        404,
        ProblemType::Blank,
        "Not Found",
        format!("no upload at {url}"),
    )
}

/// The refusal of a request to an upload that expired or was cancelled:
/// `410` (`404` in version 6, which knows no other).
pub fn gone(url: &str, interop: Interop) -> Rejection {
    match interop {
        Interop::V6 => unknown(url),
        Interop::V8 => Rejection::new(
            410,
            ProblemType::Blank,
            "Gone",
            format!("the upload at {url} expired or was cancelled"),
        ),
    }
}

/// Checks an offset retrieval's headers: version 6 refuses one carrying
/// `Upload-Offset`, `Upload-Complete` or `Upload-Length` (-05 §5).
pub fn check_head(headers: &HeaderMap, interop: Interop) -> Result<(), Rejection> {
    bare(
        headers,
        interop,
        &["upload-offset", "upload-complete", "upload-length"],
        "an offset retrieval",
    )
}

/// Checks a cancellation's headers: version 6 refuses one carrying
/// `Upload-Offset` or `Upload-Complete` (-05 §7).
pub fn check_cancel(headers: &HeaderMap, interop: Interop) -> Result<(), Rejection> {
    bare(
        headers,
        interop,
        &["upload-offset", "upload-complete"],
        "a cancellation",
    )
}

fn bare(
    headers: &HeaderMap,
    interop: Interop,
    names: &[&str],
    what: &str,
) -> Result<(), Rejection> {
    match names.iter().find(|n| headers.contains_key(**n)) {
        Some(n) if interop == Interop::V6 => Err(Rejection::bad(format!("{what} with {n}"))),
        _ => Ok(()),
    }
}

/// The `104` announcing a creation's upload resource (§4.2.2, §5; -05
/// §4): the interop version, `Location` and `Upload-Limit`.
pub fn interim_created(location: &str, limit: Option<&str>, interop: Interop) -> Answer {
    let a = head(104, Some(interop)).with("location", location);
    match limit {
        Some(l) => a.with("upload-limit", l),
        None => a,
    }
}

/// A progress `104` while content streams in (§4.4.2, §5): the interop
/// version and `Upload-Offset`, never `Location`.
pub fn interim_progress(offset: u64, interop: Interop) -> Answer {
    head(104, Some(interop)).with("upload-offset", write_integer(offset))
}

/// The offsets at which progress `104`s fall, every `every` bytes, as
/// persisted bytes go from `before` to `after`: each multiple of `every`
/// strictly between them (the final answer tells `after`).
pub fn progress_marks(every: Option<u64>, before: u64, after: u64) -> Vec<u64> {
    let Some(every) = every.filter(|e| *e > 0) else {
        return Vec::new();
    };
    let first = (before / every + 1).saturating_mul(every);
    (0..)
        .map_while(|i: u64| first.checked_add(i.checked_mul(every)?))
        .take_while(|m| *m < after)
        .collect()
}

/// What answers tell besides the status: the upload's state, its limits,
/// the representation's digest once complete.
#[derive(Debug, Clone, Copy)]
pub struct Told<'a> {
    /// The upload.
    pub progress: Progress,
    /// `Upload-Limit`'s value.
    pub limit: Option<&'a str>,
    /// The sha-256 of the bytes stored, told once complete (§10.1): what
    /// the server computed, for the client to compare with its own.
    pub repr_digest: Option<[u8; 32]>,
    /// Announce `Want-Content-Digest`.
    pub want_content_digest: bool,
}

fn tell(mut a: Answer, told: &Told<'_>) -> Answer {
    let p = told.progress;
    a = a
        .with("upload-complete", write_bool(p.complete))
        .with("upload-offset", write_integer(p.offset));
    if let Some(l) = told.limit {
        a = a.with("upload-limit", l);
    }
    if told.want_content_digest && !p.complete {
        a = a.with("want-content-digest", "sha-256=10");
    }
    if let (true, Some(d)) = (p.complete, told.repr_digest) {
        a = a.with("repr-digest", fields::write_sha256(&d));
    }
    a
}

/// The final answer of a creation kept (§4.2.2; -05 §4): `201` with
/// `Location` while the upload is incomplete; once complete, version 8
/// answers `200` (what the target resource answers, here its receipt),
/// version 6 `201`.
pub fn created(location: &str, told: &Told<'_>, interop: Interop) -> Answer {
    let code = match (told.progress.complete, interop) {
        (true, Interop::V8) => 200,
        _ => 201,
    };
    tell(head(code, Some(interop)).with("location", location), told)
}

/// The final answer of an append kept (§4.4.2; -05 §6): version 8 answers
/// `204` while incomplete, `200` once complete; version 6 `201`.
pub fn appended(told: &Told<'_>, interop: Interop) -> Answer {
    let code = match (told.progress.complete, interop) {
        (_, Interop::V6) => 201,
        (false, Interop::V8) => 204,
        (true, Interop::V8) => 200,
    };
    tell(head(code, Some(interop)), told)
}

/// The offset retrieval's answer (§4.3.2; -05 §5): `204` with
/// `Upload-Offset`, `Upload-Complete`, `Upload-Length` once known,
/// `Upload-Limit` and `Cache-Control: no-store`.
pub fn head_answer(told: &Told<'_>, interop: Interop) -> Answer {
    let mut a = tell(head(204, Some(interop)), told);
    if let Some(l) = told.progress.length {
        a = a.with("upload-length", write_integer(l));
    }
    a.with("cache-control", "no-store")
}

/// `204`: the upload is cancelled (§4.5; -05 §7).
pub fn cancelled(interop: Interop) -> Answer {
    head(204, Some(interop))
}

/// The `OPTIONS` answer (§4.1.4): `204` with `Upload-Limit`, and
/// `Want-Content-Digest` when announced.
pub fn options(limit: &str, interop: Option<Interop>, options: &IetfOptions) -> Answer {
    let a = head(204, interop).with("upload-limit", limit);
    if options.want_content_digest {
        a.with("want-content-digest", "sha-256=10")
    } else {
        a
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::test_support::headers;

    #[test]
    fn interop_versions_are_strict() {
        let o = IetfOptions::default();
        let v = |s: &str| check_interop(&headers(&[(INTEROP_HEADER, s)]), &o);
        assert_eq!(v("6"), Ok(Interop::V6));
        assert_eq!(v("8"), Ok(Interop::V8));
        let unknown = v("7").unwrap_err();
        assert_eq!((unknown.status, unknown.violation), (400, false));
        assert!(v("?1").unwrap_err().violation);
        let missing = check_interop(&HeaderMap::new(), &o).unwrap_err();
        assert!(missing.violation);
        let only6 = IetfOptions {
            versions: vec![Interop::V6],
            ..o
        };
        assert!(check_interop(&headers(&[(INTEROP_HEADER, "8")]), &only6).is_err());
    }

    #[test]
    fn creations_indicate_their_length_once() {
        let o = IetfOptions::default();
        let c = plan_create(
            &headers(&[("upload-complete", "?1"), ("upload-length", "100")]),
            Some(100),
            Interop::V8,
            &o,
        )
        .unwrap();
        assert_eq!((c.complete, c.length), (true, Some(100)));
        let r = plan_create(
            &headers(&[("upload-complete", "?1"), ("upload-length", "100")]),
            Some(25),
            Interop::V8,
            &o,
        )
        .unwrap_err();
        assert_eq!(
            (r.status, r.problem),
            (400, ProblemType::InconsistentLength)
        );
        // Careful creation: no content, length told.
        let c = plan_create(
            &headers(&[("upload-complete", "?0"), ("upload-length", "100")]),
            Some(0),
            Interop::V6,
            &o,
        )
        .unwrap();
        assert_eq!((c.complete, c.length), (false, Some(100)));
        // Without Upload-Complete (or with one that is no Boolean): refused.
        assert_eq!(
            plan_create(&HeaderMap::new(), Some(0), Interop::V8, &o)
                .unwrap_err()
                .status,
            400
        );
        assert!(plan_create(&headers(&[("upload-complete", "1")]), None, Interop::V8, &o).is_err());
        // An Upload-Length that is no Integer is ignored (§4.1.3).
        let c = plan_create(
            &headers(&[("upload-complete", "?0"), ("upload-length", "ten")]),
            None,
            Interop::V8,
            &o,
        )
        .unwrap();
        assert_eq!(c.length, None);
    }

    #[test]
    fn limits_refuse_with_413_and_name_themselves() {
        let o = IetfOptions {
            limits: Limits {
                max_size: Some(1000),
                max_append_size: Some(100),
                min_append_size: Some(10),
                ..Limits::default()
            },
            ..IetfOptions::default()
        };
        let big = plan_create(
            &headers(&[("upload-complete", "?0"), ("upload-length", "1001")]),
            Some(0),
            Interop::V8,
            &o,
        )
        .unwrap_err();
        assert_eq!(big.status, 413);
        let limit = big.answer(Some(Interop::V8));
        assert_eq!(
            limit.header("upload-limit"),
            Some("max-size=1000, max-append-size=100, min-append-size=10")
        );
        assert_eq!(limit.header("content-type"), Some(PROBLEM_JSON));
        let ask = AppendAsk {
            offset: 0,
            complete: false,
            length: None,
            content_digest: None,
            repr_digest: None,
        };
        let p = Progress {
            offset: 0,
            length: Some(1000),
            complete: false,
        };
        assert_eq!(
            plan_append(&ask, p, Some(101), Interop::V8, &o)
                .unwrap_err()
                .status,
            413
        );
        assert_eq!(
            plan_append(&ask, p, Some(9), Interop::V8, &o)
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            plan_append(&ask, p, Some(100), Interop::V8, &o),
            Ok(Some(1000))
        );
        let last = AppendAsk {
            complete: true,
            offset: 995,
            ..ask
        };
        let p = Progress { offset: 995, ..p };
        assert_eq!(
            plan_append(&last, p, Some(5), Interop::V8, &o),
            Ok(Some(1000))
        );
        assert_eq!(
            limit_field(&Limits::default(), Interop::V6, Some(60)).as_deref(),
            Some("expires=60")
        );
        assert_eq!(
            limit_field(&Limits::default(), Interop::V8, None).as_deref(),
            Some("min-size=0")
        );
    }

    #[test]
    fn a_mismatching_offset_is_a_409_problem() {
        let ask = read_append(&headers(&[
            ("content-type", PARTIAL_UPLOAD),
            ("upload-offset", "25000000"),
            ("upload-complete", "?0"),
        ]))
        .unwrap();
        let p = Progress {
            offset: 12_500_000,
            length: None,
            complete: false,
        };
        let r = plan_append(&ask, p, Some(10), Interop::V8, &IetfOptions::default()).unwrap_err();
        assert_eq!(r.status, 409);
        let doc = r.document();
        assert_eq!(doc["type"], ProblemType::MismatchingOffset.uri());
        assert_eq!(doc["expected-offset"], 12_500_000);
        assert_eq!(doc["provided-offset"], 25_000_000);
        let a = r.answer(Some(Interop::V8));
        assert_eq!(a.header("upload-offset"), Some("12500000"));
        assert_eq!(a.header("upload-complete"), Some("?0"));
        assert!(!r.violation);
        let done = Progress {
            complete: true,
            ..p
        };
        let r = plan_append(&ask, done, Some(1), Interop::V6, &IetfOptions::default()).unwrap_err();
        assert_eq!((r.status, r.problem), (400, ProblemType::CompletedUpload));
        assert_eq!(
            read_append(&headers(&[
                ("upload-offset", "0"),
                ("upload-complete", "?0")
            ]))
            .unwrap_err()
            .status,
            415
        );
        assert!(
            read_append(&headers(&[
                ("content-type", PARTIAL_UPLOAD),
                ("upload-offset", "0")
            ]))
            .is_err()
        );
    }

    #[test]
    fn bodies_end_by_arrival_and_digest() {
        let good = sha256_of(b"hello world");
        let unasked = || -> [u8; 32] { panic!("not hashed") };
        assert_eq!(
            body_end(true, Some(&good), 0, Some(11), 11, Arrival::Whole, || good),
            BodyEnd::Keep {
                bytes: 11,
                complete: true
            }
        );
        assert_eq!(
            body_end(true, Some(&good), 0, Some(11), 11, Arrival::Whole, || {
                sha256_of(b"hello w0rld")
            }),
            BodyEnd::DigestMismatch
        );
        assert_eq!(
            body_end(true, Some(&good), 0, Some(11), 4, Arrival::CutOff, unasked),
            BodyEnd::Keep {
                bytes: 0,
                complete: false
            }
        );
        assert_eq!(
            body_end(true, None, 0, Some(11), 4, Arrival::CutOff, unasked),
            BodyEnd::Keep {
                bytes: 4,
                complete: false
            }
        );
        assert!(matches!(
            body_end(true, None, 0, Some(11), 10, Arrival::Whole, unasked),
            BodyEnd::Refuse(r) if r.problem == ProblemType::InconsistentLength
        ));
        assert!(matches!(
            body_end(false, None, 5, Some(11), 7, Arrival::Whole, unasked),
            BodyEnd::Refuse(r) if r.status == 400
        ));
    }

    #[test]
    fn answers_per_version() {
        let told = Told {
            progress: Progress {
                offset: 25,
                length: Some(100),
                complete: false,
            },
            limit: Some("max-size=1000"),
            repr_digest: None,
            want_content_digest: true,
        };
        let a = created("https://x/u1", &told, Interop::V8);
        assert_eq!(a.status, 201);
        assert_eq!(a.header(INTEROP_HEADER), Some("8"));
        assert_eq!(a.header("location"), Some("https://x/u1"));
        assert_eq!(a.header("upload-complete"), Some("?0"));
        assert_eq!(a.header("upload-offset"), Some("25"));
        assert_eq!(a.header("want-content-digest"), Some("sha-256=10"));
        assert_eq!(appended(&told, Interop::V8).status, 204);
        assert_eq!(appended(&told, Interop::V6).status, 201);
        let h = head_answer(&told, Interop::V6);
        assert_eq!(h.status, 204);
        assert_eq!(h.header("cache-control"), Some("no-store"));
        assert_eq!(h.header("upload-length"), Some("100"));
        let digest = sha256_of(b"");
        let done = Told {
            progress: Progress {
                offset: 100,
                length: Some(100),
                complete: true,
            },
            repr_digest: Some(digest),
            ..told
        };
        assert_eq!(appended(&done, Interop::V8).status, 200);
        assert!(appended(&done, Interop::V8).header("repr-digest").is_some());
        assert_eq!(created("u", &done, Interop::V6).status, 201);
        let i = interim_created("https://x/u1", Some("max-size=1000"), Interop::V6);
        assert_eq!((i.status, i.header(INTEROP_HEADER)), (104, Some("6")));
        assert_eq!(interim_progress(7, Interop::V8).header("location"), None);
        assert_eq!(progress_marks(Some(4), 0, 10), [4, 8]);
        assert_eq!(progress_marks(Some(4), 5, 8), Vec::<u64>::new());
        assert_eq!(progress_marks(Some(4), 3, 9), [4, 8]);
        assert_eq!(progress_marks(None, 0, 10), Vec::<u64>::new());
        assert!(check_head(&headers(&[("upload-offset", "1")]), Interop::V6).is_err());
        assert!(check_head(&headers(&[("upload-offset", "1")]), Interop::V8).is_ok());
        assert!(check_cancel(&headers(&[("upload-complete", "?1")]), Interop::V6).is_err());
        assert_eq!(route(&Method::GET, true, "e").unwrap_err().status, 405);
        assert_eq!(route(&Method::PUT, true, "e"), Ok(Route::Create));
        assert_eq!(route(&Method::PATCH, false, "u"), Ok(Route::Append));
    }
}
