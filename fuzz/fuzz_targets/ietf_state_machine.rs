//! The upload state machine speaking the IETF draft ("Resumable Uploads
//! for HTTP", interop versions 6 and 8, careful and optimistic creation,
//! or an upload resource made elsewhere), against the sim's IETF server
//! where the script says behave, and arbitrary interim `1xx` heads,
//! arbitrary final answers, transport failures, crashes and cancellations
//! elsewhere. Every `104` the server sends is handed to the engine before
//! the final answer, and the engine is polled after each, as a driver
//! does. Invariants: it never panics; every request names the upload's
//! interop version; a creation's content starts at byte 0; an append
//! (`PATCH`) says in `Upload-Offset`, and its content starts at, the
//! offset the engine last reported persisted; no content goes past the
//! source, and only content ending at the source's end says
//! `Upload-Complete: ?1`; the engine takes every interim and final answer
//! to the request sent, also once an interim made it abandon the request
//! (it then ignores them); the persisted offset never goes
//! backwards within a session; the upload is done only at the source's
//! size, with the source's CRC32C and SHA-256, and with the source's
//! SHA-256 as the server's `Repr-Digest` of what it stored, when it sent
//! one; once the script runs out and the server behaves, it ends.
#![no_main]

use std::time::{Duration, Instant, SystemTime};

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use resumable_core::{
    Action, Body, Checkpoint, Chunking, Config, Event, IetfCreate, IetfStrategy, InteropVersion,
    Purpose, Request, RequestId, RetryPolicy, SessionUrl, TransportErrorKind, Upload, UsageError,
};
use resumable_fuzz::{failure, source};
use resumable_sim::ietf::Limits;
use resumable_sim::{
    IETF_ENDPOINT, IetfFault, IetfOptions, IetfServer, Interop, Reply as SimReply,
};
use sha2::{Digest, Sha256};

/// The largest source the harness uploads.
const MAX_SIZE: u64 = 100_000;

const INTEROP: &str = "upload-draft-interop-version";

#[derive(Arbitrary, Debug)]
enum Reply {
    Behave,
    /// The server behaves, with this fault.
    Fault(FaultPick),
    /// An interim head of this status (`1xx`) carrying these headers,
    /// before whatever the next reply gives.
    Interim(u16, Vec<(HeaderPick, Value)>),
    /// A `104` of the upload's interop version carrying these headers (a
    /// version picked among them is replaced), before whatever the next
    /// reply gives: what the engine reads of the interims.
    Resumption(Vec<(HeaderPick, Value)>),
    /// A final answer of this status carrying these headers and body.
    Answer(u16, Vec<(HeaderPick, Value)>, BodyPick),
    Transport(u8),
    /// The process dies; when `served`, after the server took the request
    /// and its `104`s arrived.
    Crash {
        served: bool,
    },
    Cancel,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum FaultPick {
    Status(u16),
    StatusAfter(u16),
    Reset,
    Lost,
    Persist(u32),
    OffsetLie(u32),
    Corrupt,
    Expire,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum HeaderPick {
    UploadOffset,
    UploadComplete,
    UploadLength,
    UploadLimit,
    Location,
    InteropVersion,
    RetryAfter,
    ContentType,
    ReprDigest,
    WantReprDigest,
    WantContentDigest,
}

impl HeaderPick {
    fn name(self) -> &'static str {
        match self {
            Self::UploadOffset => "upload-offset",
            Self::UploadComplete => "upload-complete",
            Self::UploadLength => "upload-length",
            Self::UploadLimit => "upload-limit",
            Self::Location => "location",
            Self::InteropVersion => INTEROP,
            Self::RetryAfter => "retry-after",
            Self::ContentType => "content-type",
            Self::ReprDigest => "repr-digest",
            Self::WantReprDigest => "want-repr-digest",
            Self::WantContentDigest => "want-content-digest",
        }
    }
}

/// A header's value: shapes the fields take, so the fuzzer reaches past
/// their parsers, or arbitrary bytes.
#[derive(Arbitrary, Debug)]
enum Value {
    Count(u32),
    Bool(bool),
    Limit(LimitKey, u32),
    /// The sim's upload resource of this number; relative when set.
    Upload(u8, bool),
    ProblemJson,
    /// `sha-256=` a byte sequence of these bytes (32 of them make a
    /// digest of the right length, of something else than the source).
    Sha256(Vec<u8>),
    /// `sha-256=` a preference.
    WantSha256(u8),
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum LimitKey {
    MaxSize,
    MinSize,
    MaxAppendSize,
    MinAppendSize,
    MaxAge,
    Expires,
}

impl Value {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Self::Count(n) => n.to_string().into_bytes(),
            Self::Bool(b) => if *b { "?1" } else { "?0" }.into(),
            Self::Limit(key, n) => {
                let key = match key {
                    LimitKey::MaxSize => "max-size",
                    LimitKey::MinSize => "min-size",
                    LimitKey::MaxAppendSize => "max-append-size",
                    LimitKey::MinAppendSize => "min-append-size",
                    LimitKey::MaxAge => "max-age",
                    LimitKey::Expires => "expires",
                };
                format!("{key}={n}").into_bytes()
            }
            Self::Upload(n, relative) => {
                let url = format!("{IETF_ENDPOINT}u{n:04}");
                match relative {
                    true => url.trim_start_matches("https://ietf.sim").into(),
                    false => url.into_bytes(),
                }
            }
            Self::ProblemJson => "application/problem+json".into(),
            Self::Sha256(bytes) => {
                use base64::Engine as _;
                let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
                format!("sha-256=:{b64}:").into_bytes()
            }
            Self::WantSha256(n) => format!("sha-256={}", n % 12).into_bytes(),
            Self::Raw(bytes) => bytes.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum BodyPick {
    Empty,
    Mismatch {
        expected: u32,
        provided: u32,
    },
    /// A problem document of the draft's other types, or `about:blank`.
    Problem(u8),
    Raw(Vec<u8>),
}

const PROBLEM_TYPES: [&str; 4] = [
    "https://iana.org/assignments/http-problem-types#mismatching-upload-offset",
    "https://iana.org/assignments/http-problem-types#inconsistent-upload-length",
    "https://iana.org/assignments/http-problem-types#completed-upload",
    "about:blank",
];

impl BodyPick {
    fn bytes(&self) -> Bytes {
        match self {
            Self::Empty => Bytes::new(),
            Self::Mismatch { expected, provided } => serde_json::json!({
                "type": PROBLEM_TYPES[0],
                "expected-offset": expected,
                "provided-offset": provided,
            })
            .to_string()
            .into(),
            Self::Problem(k) => serde_json::json!({ "type": PROBLEM_TYPES[usize::from(k % 4)] })
                .to_string()
                .into(),
            Self::Raw(bytes) => Bytes::copy_from_slice(bytes),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct ServerPick {
    versions: u8,
    max_size: Option<u32>,
    max_append: u8,
    min_append: u8,
    lifetime: u8,
    interim: bool,
    progress: u8,
    want_content_digest: bool,
    relative_location: bool,
}

#[derive(Arbitrary, Debug)]
struct Script {
    size: u32,
    chunk: u16,
    stream: bool,
    existing_url: bool,
    optimistic: bool,
    v6: bool,
    method: u8,
    seed: u64,
    server: ServerPick,
    replies: Vec<Reply>,
}

/// The server's options. Append limits and progress `104`s stay coarse
/// enough for a whole upload to fit the step cap.
fn server_options(pick: &ServerPick) -> IetfOptions {
    let versions = [
        vec![Interop::V6, Interop::V8],
        vec![Interop::V8],
        vec![Interop::V6],
    ];
    let day = Duration::from_secs(86_400);
    IetfOptions {
        versions: versions[usize::from(pick.versions % 3)].clone(),
        limits: Limits {
            max_size: pick.max_size.map(|n| u64::from(n) % (2 * MAX_SIZE)),
            max_append_size: [None, Some(4096), Some(30_000)][usize::from(pick.max_append % 3)],
            min_append_size: [None, Some(2048), Some(50_000)][usize::from(pick.min_append % 3)],
            ..Limits::default()
        },
        lifetime: [Some(day), None, Some(Duration::from_secs(90))][usize::from(pick.lifetime % 3)],
        interim: pick.interim,
        progress_every: [None, Some(4096), Some(10_000)][usize::from(pick.progress % 3)],
        want_content_digest: pick.want_content_digest,
        relative_location: pick.relative_location,
    }
}

fn fault(pick: FaultPick) -> IetfFault {
    match pick {
        FaultPick::Status(s) => IetfFault::Status(100 + s % 500),
        FaultPick::StatusAfter(s) => IetfFault::StatusAfter(100 + s % 500),
        FaultPick::Reset => IetfFault::Reset,
        FaultPick::Lost => IetfFault::LostResponse,
        FaultPick::Persist(n) => IetfFault::PersistBytes(u64::from(n) % 40_000),
        FaultPick::OffsetLie(n) => IetfFault::OffsetLie(u64::from(n) % (MAX_SIZE + 1)),
        FaultPick::Corrupt => IetfFault::Corrupt,
        FaultPick::Expire => IetfFault::Expire,
    }
}

/// A response head of `status` with `headers`; `None` when a value is no
/// header value.
fn head<B>(status: u16, headers: &[(HeaderPick, Value)], body: B) -> Option<http::Response<B>> {
    let mut r = http::Response::builder().status(status);
    for (pick, value) in headers {
        r = r.header(
            pick.name(),
            http::HeaderValue::from_bytes(&value.bytes()).ok()?,
        );
    }
    r.body(body).ok()
}

/// Checks a request the engine hands out, `before` being what it reported
/// persisted when it was polled; returns the source bytes it carries.
fn check_request(req: &Request, before: u64, total: u64, interop: InteropVersion) -> &'static [u8] {
    let headers = req.http.headers();
    let field = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    assert_eq!(
        field(INTEROP),
        Some(interop.number().to_string().as_str()),
        "every request names the interop version"
    );
    let start = match req.purpose {
        Purpose::Initiate => 0,
        Purpose::Chunk => {
            assert_eq!(
                field("upload-offset"),
                Some(before.to_string().as_str()),
                "an append is at the offset persisted"
            );
            before
        }
        _ => {
            assert!(!matches!(req.http.body(), Body::Source(_)));
            return &[];
        }
    };
    let content = match req.http.body() {
        Body::Source(r) => r.clone(),
        _ => start..start,
    };
    assert_eq!(content.start, start, "content starts where the server is");
    assert!(content.end <= total, "never past the source");
    if field("upload-complete") == Some("?1") {
        assert_eq!(content.end, total, "complete only at the source's end");
    }
    source(content)
}

/// How the engine takes the answers to one request: every one, also once
/// an interim made it abandon the request (those it ignores).
#[derive(Default)]
struct Calls;

impl Calls {
    fn took(&mut self, result: Result<(), UsageError>, _interim: bool) {
        if let Err(e) = result {
            panic!("an answer to the request sent is refused: {e:?}");
        }
    }
}

/// The driver's side of the run: the engine and what it handed out.
struct Run {
    up: Upload,
    t0: Instant,
    wall0: SystemTime,
    now: Instant,
    checkpoint: Option<Checkpoint>,
    /// An action polled between a request's interims, to carry out next,
    /// with the persisted offset and time it was polled at.
    pending: Option<(u64, Instant, Action)>,
    /// The highest offset the engine reported persisted in this session.
    confirmed: u64,
}

impl Run {
    fn wall(&self) -> SystemTime {
        self.wall0 + (self.now - self.t0)
    }

    /// Hands an interim head of request `id` over, then polls as a driver
    /// does: a checkpoint may be due, or the request abandoned.
    fn inform(&mut self, id: RequestId, head: &http::Response<()>, calls: &mut Calls) {
        let taken = self
            .up
            .handle_informational(id, head.status(), head.headers(), self.now);
        calls.took(taken, true);
        while self.pending.is_none() {
            let before = self.up.persisted();
            match self.up.poll_action(self.now) {
                Action::Checkpoint(cp) => self.checkpoint = Some(cp),
                Action::RemoveCheckpoint => self.checkpoint = None,
                Action::AwaitResponse(current) => {
                    assert_eq!(current, id, "the request in flight is the one sent");
                    break;
                }
                other => self.pending = Some((before, self.now, other)),
            }
        }
    }

    /// The process dies and starts again, from its last checkpoint when
    /// it has one.
    fn crash(&mut self, config: &Config) {
        let (now, wall) = (self.now, self.wall());
        self.up = match self.checkpoint.clone() {
            Some(cp) => Upload::resume(config.clone(), cp, now, wall)
                .expect("a checkpoint it handed out resumes"),
            None => Upload::new(config.clone(), now, wall).expect("it started once"),
        };
        self.pending = None;
        self.confirmed = self.up.persisted();
    }
}

fuzz_target!(|script: Script| {
    let total = u64::from(script.size) % (MAX_SIZE + 1);
    let interop = if script.v6 {
        InteropVersion::V6
    } else {
        InteropVersion::V8
    };
    let wall0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let t0 = Instant::now();
    let mut server = IetfServer::with_options(server_options(&script.server));
    let known = (!script.stream).then_some(total);
    let mut config = if script.existing_url {
        let url = server.open_upload(known, wall0);
        Config::ietf_upload(SessionUrl::new(url), interop, known)
    } else {
        let methods = [http::Method::POST, http::Method::PUT, http::Method::PATCH];
        let create = IetfCreate {
            method: methods[usize::from(script.method % 3)].clone(),
            strategy: if script.optimistic {
                IetfStrategy::Optimistic
            } else {
                IetfStrategy::Careful
            },
            interop,
            ..IetfCreate::new(IETF_ENDPOINT)
        };
        Config::ietf_create(create, known)
    };
    config.restartable_source = !script.stream;
    config.chunking = Chunking::Fixed(u64::from(script.chunk % 32 + 1) * 1024);
    config.jitter_seed = script.seed;
    config.retry = RetryPolicy {
        max_attempts: 6,
        ..RetryPolicy::default()
    };
    let mut run = Run {
        up: Upload::new(config.clone(), t0, wall0).unwrap(),
        t0,
        wall0,
        now: t0,
        checkpoint: None,
        pending: None,
        confirmed: 0,
    };
    let mut replies = script.replies.iter();

    for step in 0..20_000u32 {
        assert!(step < 19_999, "no end after the script ran out: {script:?}");
        let (before, polled, action) = match run.pending.take() {
            Some(pending) => pending,
            None => (run.up.persisted(), run.now, run.up.poll_action(run.now)),
        };
        match action {
            Action::Send(req) => {
                let body = check_request(&req, before, total, interop);
                if let Body::Source(r) = req.http.body() {
                    run.up.feed_checksum(r.start, body);
                }
                let mut calls = Calls::default();
                let mut reply = replies.next().unwrap_or(&Reply::Behave);
                loop {
                    let h = match reply {
                        Reply::Interim(status, headers) => head(100 + status % 100, headers, ()),
                        Reply::Resumption(headers) => head(104, headers, ()).map(|mut h| {
                            let version = http::HeaderValue::from(u16::from(interop.number()));
                            h.headers_mut().insert(INTEROP, version);
                            h
                        }),
                        _ => break,
                    };
                    if let Some(h) = h {
                        run.inform(req.id, &h, &mut calls);
                    }
                    reply = replies.next().unwrap_or(&Reply::Behave);
                }
                match reply {
                    Reply::Behave | Reply::Fault(_) | Reply::Crash { served: true } => {
                        let f = match reply {
                            Reply::Fault(pick) => fault(*pick),
                            _ => IetfFault::None,
                        };
                        let exchange = server.serve(&req.http, body, f, run.wall());
                        for h in &exchange.interim {
                            run.inform(req.id, h, &mut calls);
                        }
                        if matches!(reply, Reply::Crash { .. }) {
                            run.crash(&config);
                        } else {
                            let taken = match exchange.reply {
                                SimReply::Response(r) => run.up.handle_response(req.id, r, run.now),
                                SimReply::Reset => run.up.handle_transport_error(
                                    req.id,
                                    &failure(TransportErrorKind::Reset),
                                    run.now,
                                ),
                            };
                            calls.took(taken, false);
                        }
                    }
                    Reply::Crash { served: false } => run.crash(&config),
                    Reply::Answer(status, headers, b) => {
                        if let Some(r) = head(100 + status % 500, headers, b.bytes()) {
                            let taken = run.up.handle_response(req.id, r, run.now);
                            calls.took(taken, false);
                        }
                    }
                    Reply::Transport(k) => {
                        let kind = match k % 3 {
                            0 => TransportErrorKind::Connect,
                            1 => TransportErrorKind::Reset,
                            _ => TransportErrorKind::Timeout,
                        };
                        let taken = run
                            .up
                            .handle_transport_error(req.id, &failure(kind), run.now);
                        calls.took(taken, false);
                    }
                    Reply::Cancel => {
                        // The request in flight is abandoned, the one
                        // polled between its interims included.
                        run.up.cancel();
                        run.pending = None;
                    }
                    Reply::Interim(..) | Reply::Resumption(..) => {
                        unreachable!("interims are taken above")
                    }
                }
                run.now += Duration::from_millis(1);
            }
            Action::Checksum(r) => {
                let end = r.end.min(total);
                assert!(r.start <= end, "a checksum within the source");
                run.up.feed_checksum(r.start, source(r.start..end));
            }
            Action::ReadAhead { to } => {
                assert!(script.stream, "a known total is never read ahead");
                run.up
                    .handle_read_ahead((total < to).then_some(total))
                    .unwrap();
            }
            Action::Checkpoint(cp) => run.checkpoint = Some(cp),
            Action::RemoveCheckpoint => run.checkpoint = None,
            Action::Wait(until) => {
                assert!(until > polled);
                run.now = run.now.max(until);
            }
            Action::AwaitResponse(id) => {
                let failed = failure(TransportErrorKind::Other);
                run.up
                    .handle_transport_error(id, &failed, run.now)
                    .expect("the request awaited is in flight");
            }
            Action::Done(outcome) => {
                let whole = source(0..total);
                assert_eq!(outcome.object.size, total, "done only at the source's size");
                if let Some(crc) = outcome.crc32c {
                    assert_eq!(crc, crc32c::crc32c(whole));
                }
                let sha256 = <[u8; 32]>::from(Sha256::digest(whole));
                if let Some(sha) = outcome.sha256 {
                    assert_eq!(sha, sha256);
                }
                if let Some(stored) = outcome.object.sha256.as_deref() {
                    assert_eq!(stored, &sha256, "done only with the source stored");
                }
                break;
            }
            Action::Failed(_) => break,
            _ => {}
        }
        while let Some(event) = run.up.poll_event() {
            match event {
                Event::Persisted { offset, .. } => {
                    assert!(offset >= run.confirmed, "persisted went backwards");
                    run.confirmed = offset;
                }
                Event::SessionRestarted { .. } => run.confirmed = 0,
                _ => {}
            }
        }
    }
});
