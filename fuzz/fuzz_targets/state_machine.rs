//! The upload state machine against the `resumable-sim` server, and lies.
//!
//! The input picks, for every request, who answers: the sim, with one of its
//! faults (it processes the request as the file API and GCS do, and its state
//! is then the truth), or an arbitrary lie (any status, `Range`, body or final
//! object), a transport failure, a crash (before the request left, or after
//! the sim took it and before its answer came back) or a cancel. Once the
//! script runs out, the sim answers without faults.
//!
//! Invariants: it never panics; the persisted offset never goes backwards
//! within a session; a data request always starts at the offset the core
//! last confirmed; the file is registered, and the upload is done, only with a
//! final object of the source's size and CRC32C; once the script runs out, it
//! ends. Against the sim: the sim sees no protocol broken (but the one a lie
//! can lead to, see [`Truth::unsynced`]); progress reported after the sim's
//! word never passes what the sim persisted; an upload done on the sim's word
//! leaves an object byte-identical to the source in the sim, and the File the
//! sim registered names it.
#![no_main]

use std::time::{Duration, Instant, SystemTime};

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use resumable_core::{
    Action, Body, Checkpoint, Chunking, Config, Error, Event, FileApi, Outcome, Purpose, RequestId,
    RetryPolicy, Secret, SessionUrl, SourceError, TransportError, TransportErrorKind, Upload,
    crc32c_base64,
};
use resumable_fuzz::source;
use resumable_sim::{API, Fault, KEY, Reply, Server, UNIT};

/// The largest source the harness uploads.
const MAX_SIZE: u64 = 3 * UNIT;

#[derive(Arbitrary, Debug)]
enum Flow {
    FileApi,
    Session,
    Stream,
}

/// A fault of the sim's vocabulary. Its injected statuses are kept to errors:
/// a `200` or `308` in their place would say something about the upload, and
/// saying anything is the lies' job.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum SimFault {
    None,
    Status(u16, Option<u8>),
    StatusAfter(u16),
    Reset,
    LostResponse,
    PersistUnits(u8),
    Override308,
    KillSession,
    CutBody(u8),
}

impl SimFault {
    fn fault(self) -> Fault {
        let error = |s: u16| 400 + s % 200;
        match self {
            Self::None => Fault::None,
            Self::Status(s, retry_after) => Fault::Status(error(s), retry_after.map(u64::from)),
            Self::StatusAfter(s) => Fault::StatusAfter(error(s)),
            Self::Reset => Fault::Reset,
            Self::LostResponse => Fault::LostResponse,
            Self::PersistUnits(n) => Fault::PersistUnits(u64::from(n % 4)),
            Self::Override308 => Fault::Override308,
            Self::KillSession => Fault::KillSession,
            Self::CutBody(n) => Fault::CutBody(usize::from(n)),
        }
    }

    /// Whether the sim's answer under this fault, when it answers, says what
    /// it persisted as it is.
    fn truthful(self) -> bool {
        matches!(self, Self::None | Self::Override308 | Self::PersistUnits(_))
    }
}

/// An answer no server owes: any status, `Range`, body or final object.
#[derive(Arbitrary, Debug)]
enum Lie {
    Status(u16),
    StatusRetryAfter(u16, Vec<u8>),
    Range {
        last_byte: u64,
        override_308: bool,
    },
    RawRange(Vec<u8>),
    NoRange,
    Final {
        size: u64,
        crc32c: Option<u32>,
        created: bool,
    },
    Body(u16, Vec<u8>),
}

impl Lie {
    /// The lie as a response; `None` when `http` cannot build it, which the
    /// driver reports as a failed request.
    fn response(&self) -> Option<http::Response<Bytes>> {
        let builder = http::Response::builder();
        match self {
            Self::Status(s) => builder.status(*s % 600).body(Bytes::new()).ok(),
            Self::StatusRetryAfter(s, v) => builder
                .status(*s % 600)
                .header(
                    "retry-after",
                    http::HeaderValue::from_bytes(v).unwrap_or(http::HeaderValue::from_static("1")),
                )
                .body(Bytes::new())
                .ok(),
            Self::Range {
                last_byte,
                override_308,
            } => {
                let mut r = builder
                    .status(if *override_308 { 200 } else { 308 })
                    .header("range", format!("bytes=0-{last_byte}"));
                if *override_308 {
                    r = r.header("x-http-status-code-override", "308");
                }
                r.body(Bytes::new()).ok()
            }
            Self::RawRange(v) => http::HeaderValue::from_bytes(v).ok().and_then(|v| {
                builder
                    .status(308)
                    .header("range", v)
                    .body(Bytes::new())
                    .ok()
            }),
            Self::NoRange => builder.status(308).body(Bytes::new()).ok(),
            Self::Final {
                size,
                crc32c,
                created,
            } => {
                let crc = crc32c
                    .map(|c| format!(r#","crc32c":"{}""#, crc32c_base64(c)))
                    .unwrap_or_default();
                builder
                    .status(if *created { 201 } else { 200 })
                    .body(Bytes::from(format!(r#"{{"size":"{size}"{crc}}}"#)))
                    .ok()
            }
            Self::Body(s, body) => builder
                .status(*s % 600)
                .body(Bytes::from(body.clone()))
                .ok(),
        }
    }
}

/// Who answers one request.
#[derive(Arbitrary, Debug)]
enum Answer {
    /// The sim, with this fault.
    Sim(SimFault),
    /// A lie.
    Lie(Lie),
    /// Nobody: the transport fails this way.
    Transport(u8),
    /// The process dies and resumes from its last checkpoint, the request
    /// unsent, or (`after_sim`) taken by the sim and its answer lost.
    Crash { after_sim: bool },
    /// The user cancels while the request is in flight.
    Cancel,
}

#[derive(Arbitrary, Debug)]
struct Script {
    flow: Flow,
    size: u32,
    chunk_units: u8,
    single: bool,
    seed: u64,
    answers: Vec<Answer>,
}

/// The upload's configuration; a raw session is opened on the sim first.
fn config(script: &Script, total: u64, server: &mut Server) -> Config {
    let mut config = match script.flow {
        Flow::FileApi => Config::file_api(
            FileApi {
                api_base: API.into(),
                organization: "org".into(),
                api_key: Secret::new(KEY),
                filename: "x".into(),
                mime_type: "application/octet-stream".into(),
            },
            total,
        ),
        Flow::Session => Config::gcs_session(
            SessionUrl::new(server.open_session(Some(total))),
            Some(total),
        ),
        Flow::Stream => {
            let url = SessionUrl::new(server.open_session(None));
            let mut c = Config::gcs_session(url, None);
            c.restartable_source = false;
            c
        }
    };
    config.chunking = if script.single {
        Chunking::SingleRequest
    } else {
        Chunking::Fixed(u64::from(script.chunk_units % 4 + 1) * UNIT)
    };
    config.jitter_seed = script.seed;
    config.retry = RetryPolicy {
        max_attempts: 6,
        ..RetryPolicy::default()
    };
    config
}

/// What the run learned about whose word the core acts on.
#[derive(Debug, Default)]
struct Truth {
    /// A lie was told.
    lied: bool,
    /// A lie was told since the sim last said what it persisted. A lie
    /// answers in the sim's place (the sim never sees that request), and the
    /// core takes a `308`'s `Range` at its word up to what it sent (there is
    /// no other truth to take): a lie naming an offset the sim does not hold
    /// (more than it holds, or one off a 256 KiB boundary) has the core send
    /// its next chunk from there, which the sim refuses (bytes skipped, or a
    /// chunk that does not start on a boundary). That refusal of a chunk
    /// starting elsewhere than the sim's end, and only it, is the lie's
    /// doing while this is set; every other rule holds whatever the core was
    /// told.
    unsynced: bool,
    /// The latest answer the core acted on was the sim's (transport failures
    /// and cancels say nothing, so they leave it as it was).
    sim_spoke_last: bool,
    /// The object was declared final on a lie's word: a lie of the right
    /// size and CRC32C cannot be told from the truth.
    final_forged: bool,
    /// The File was registered on a lie's word.
    register_forged: bool,
}

/// How much the sim holds for the session at `url`.
fn sim_persisted(server: &Server, url: &str) -> u64 {
    server.sessions.get(url).map_or(0, |s| s.data.len() as u64)
}

/// Has the sim serve `req`, and checks that the core broke no protocol rule
/// doing so (see [`Truth::unsynced`] for the one exception).
fn serve(
    server: &mut Server,
    truth: &Truth,
    req: &http::Request<Body>,
    body: &[u8],
    fault: Fault,
    wall: SystemTime,
) -> Reply {
    let misplaced = match req.body() {
        Body::Source(r) => r.start != sim_persisted(server, &req.uri().to_string()),
        _ => false,
    };
    let seen = server.violations.0.len();
    let reply = server.serve(req, body, fault, wall);
    let new = &server.violations.0[seen..];
    assert!(
        new.is_empty() || (truth.unsynced && misplaced && new.len() == 1),
        "the sim saw the protocol broken: {new:?} ({truth:?})"
    );
    reply
}

/// Every way a transport can fail, for [`Answer::Transport`].
const TRANSPORT_FAILURES: [TransportErrorKind; 13] = [
    TransportErrorKind::NoSuchHost,
    TransportErrorKind::Dns,
    TransportErrorKind::ConnectRefused,
    TransportErrorKind::ConnectTimeout,
    TransportErrorKind::Connect,
    TransportErrorKind::TlsCertificate,
    TransportErrorKind::TlsHandshake,
    TransportErrorKind::Reset,
    TransportErrorKind::Timeout,
    TransportErrorKind::Truncated,
    TransportErrorKind::BadResponse,
    TransportErrorKind::BodyTooLarge,
    TransportErrorKind::Other,
];

/// Tells the core that request `id` failed this way below HTTP.
fn fail(up: &mut Upload, id: RequestId, kind: TransportErrorKind, now: Instant) {
    let error = TransportError::new(kind, format!("{kind}"));
    up.handle_transport_error(id, &error, now).unwrap();
}

/// Hands the sim's reply to the core.
fn deliver(up: &mut Upload, id: RequestId, reply: Reply, now: Instant) {
    match reply {
        Reply::Response(response) => up.handle_response(id, response, now).unwrap(),
        Reply::Reset => fail(up, id, TransportErrorKind::Reset, now),
    }
}

/// At the end, what the sim holds: the object, byte for byte, and the File
/// naming it, as far as the core believed in them on the sim's word. `url`
/// is the session the core ended with, when it still knew one.
fn check_done(outcome: &Outcome, server: &Server, truth: &Truth, url: Option<&str>, total: u64) {
    let data = source(0..total);
    assert_eq!(outcome.object.size, total);
    if let Some(stored) = outcome.object.crc32c {
        assert_eq!(stored, crc32c::crc32c(data), "verified");
    }
    if let (false, Some(url)) = (truth.final_forged, url) {
        let path = &server.sessions[url].gcs_path;
        let object = server.objects.get(path).expect("the sim wrote the object");
        assert!(object == data, "the object is the source");
    }
    if let (false, Some(file)) = (truth.register_forged, &outcome.file) {
        let path = server
            .registrations
            .last()
            .expect("the sim registered a File");
        assert!(server.objects[path] == data, "the File names the source");
        assert_eq!(server.files[path], file.id);
    }
}

fuzz_target!(|script: Script| {
    let mut total = u64::from(script.size) % (MAX_SIZE + 1);
    if matches!(script.flow, Flow::FileApi) {
        total = total.max(1);
    }
    let mut server = Server::new();
    let config = config(&script, total, &mut server);
    let t0 = Instant::now();
    let wall0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let wall = |now: Instant| wall0 + (now - t0);
    let mut now = t0;
    let mut up = Upload::new(config.clone(), now, wall(now)).unwrap();
    let mut last_checkpoint: Option<Checkpoint> = None;
    let mut answers = script.answers.iter();
    let mut confirmed = 0u64;
    let stream = matches!(script.flow, Flow::Stream);
    let mut total_told = false;
    let mut truth = Truth {
        sim_spoke_last: true,
        ..Truth::default()
    };

    for step in 0..20_000u32 {
        assert!(step < 19_999, "no end after the script ran out: {script:?}");
        let before = up.persisted();
        match up.poll_action(now) {
            Action::Send(req) => {
                let body: &[u8] = match req.http.body() {
                    Body::Source(r) => {
                        assert_eq!(r.start, before, "a chunk starts where the server confirmed");
                        assert!(r.end <= total || (stream && !total_told));
                        let bytes = source(r.start..r.end.min(total));
                        up.feed_checksum(r.start, bytes);
                        bytes
                    }
                    Body::Json(b) => b,
                    _ => &[],
                };
                if req.purpose == Purpose::Register {
                    let body: serde_json::Value = serde_json::from_slice(body).unwrap();
                    assert_eq!(
                        body["file_size"], total,
                        "registered only at the source's size"
                    );
                }
                let answer = answers.next().unwrap_or(&Answer::Sim(SimFault::None));
                match answer {
                    Answer::Sim(fault) => {
                        let reply = serve(
                            &mut server,
                            &truth,
                            &req.http,
                            body,
                            fault.fault(),
                            wall(now),
                        );
                        // A 308 or a final object (not a refusal) says what
                        // the sim holds.
                        let resynced = fault.truthful()
                            && matches!(&reply, Reply::Response(r)
                                if r.status() == 308 || r.status().is_success())
                            && matches!(req.purpose, Purpose::Query | Purpose::Chunk);
                        deliver(&mut up, req.id, reply, now);
                        truth.unsynced &= !resynced;
                        truth.sim_spoke_last = true;
                    }
                    Answer::Lie(lie) => {
                        if let Some(response) = lie.response() {
                            up.handle_response(req.id, response, now).unwrap();
                            truth.lied = true;
                            truth.unsynced = true;
                            truth.sim_spoke_last = false;
                        }
                    }
                    Answer::Transport(k) => {
                        let kind = TRANSPORT_FAILURES[usize::from(*k) % TRANSPORT_FAILURES.len()];
                        fail(&mut up, req.id, kind, now);
                    }
                    Answer::Crash { after_sim } => {
                        if *after_sim {
                            // The answer dies with the process.
                            let _ =
                                serve(&mut server, &truth, &req.http, body, Fault::None, wall(now));
                        }
                        if let Some(cp) = last_checkpoint.clone()
                            && let Ok(resumed) = Upload::resume(config.clone(), cp, now, wall(now))
                        {
                            up = resumed;
                            confirmed = up.persisted();
                            // The checkpoint may hold what a lie said.
                            truth.unsynced |= truth.lied;
                            truth.sim_spoke_last = !truth.lied;
                        }
                    }
                    Answer::Cancel => up.cancel(),
                }
                now += Duration::from_millis(1);
            }
            Action::Checksum(r) => up.feed_checksum(r.start, source(r.start..r.end.min(total))),
            // A stream read ahead: it ends before `to` or holds it all.
            Action::ReadAhead { to } => {
                assert!(stream, "a known total is never read ahead");
                let ends = total < to;
                up.handle_read_ahead(ends.then_some(total)).unwrap();
                total_told |= ends;
            }
            Action::Checkpoint(cp) => last_checkpoint = Some(cp),
            Action::RemoveCheckpoint => last_checkpoint = None,
            Action::Wait(until) => {
                assert!(until > now);
                now = until;
            }
            // A reply the harness could not build: the request failed.
            Action::AwaitResponse(id) => fail(&mut up, id, TransportErrorKind::Other, now),
            Action::Done(outcome) => {
                if matches!(script.flow, Flow::FileApi) {
                    assert!(outcome.file.is_some(), "a File registered");
                }
                let url = up.session().map(|s| s.upload_url.expose());
                check_done(&outcome, &server, &truth, url, total);
                break;
            }
            // The server claimed more than the stream holds: a typed
            // refusal ends the upload.
            Action::Failed(Error::Source(SourceError::EndedEarly { total: at, held })) => {
                assert_eq!(at, total);
                assert!(held > total);
                break;
            }
            Action::Failed(_) => break,
            _ => {}
        }
        while let Some(event) = up.poll_event() {
            match event {
                Event::Persisted { offset, .. } => {
                    assert!(offset >= confirmed, "persisted went backwards");
                    confirmed = offset;
                    if truth.sim_spoke_last {
                        let url = up.session().map_or("", |s| s.upload_url.expose());
                        assert!(
                            offset <= sim_persisted(&server, url),
                            "progress {offset} past what the sim persisted"
                        );
                    }
                }
                Event::SessionRestarted { .. } => confirmed = 0,
                Event::Finalized { .. } => truth.final_forged |= !truth.sim_spoke_last,
                Event::Registered { .. } => truth.register_forged |= !truth.sim_spoke_last,
                _ => {}
            }
        }
    }
});
