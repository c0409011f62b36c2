//! The upload state machine driven by arbitrary answers, transport failures
//! and crashes. Invariants: it never panics; the persisted offset never goes
//! backwards within a session; a data request always starts at the offset the
//! server last confirmed (no byte skipped); the file is registered, and the
//! upload is done, only with a final object of the source's size and CRC32C;
//! once the script runs out and the server behaves, it ends.
#![no_main]

use std::time::{Duration, Instant, SystemTime};

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use resumable_core::crc32c_base64;
use resumable_core::{
    Action, Body, Checkpoint, Chunking, Config, Error, Event, FileApi, Purpose, RetryPolicy,
    Secret, SessionUrl, SourceError, TransportError, TransportErrorKind, Upload,
};

const UNIT: u64 = 256 * 1024;
const SESSION: &str = "https://upload.fuzz/upload?upload_id=abc";

#[derive(Arbitrary, Debug)]
enum Flow {
    FileApi,
    Session,
    Stream,
}

#[derive(Arbitrary, Debug)]
enum Reply {
    Behave,
    Status(u16),
    StatusRetryAfter(u16, Vec<u8>),
    Transport(u8),
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
    Crash,
    Cancel,
}

#[derive(Arbitrary, Debug)]
struct Script {
    flow: Flow,
    size: u32,
    chunk_units: u8,
    single: bool,
    seed: u64,
    replies: Vec<Reply>,
}

/// The largest source the harness uploads.
const MAX_SIZE: u64 = 3 * UNIT;

/// The source's bytes, made once per process.
fn source(range: std::ops::Range<u64>) -> &'static [u8] {
    static DATA: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let data = DATA.get_or_init(|| {
        (0..MAX_SIZE)
            .map(|i| (i.wrapping_mul(31) ^ (i >> 9)) as u8)
            .collect()
    });
    &data[range.start as usize..range.end as usize]
}

/// A faithful server, used for `Reply::Behave`.
struct Model {
    persisted: u64,
    crc: u32,
    finalized: bool,
}

impl Model {
    fn object(&self) -> http::Response<Bytes> {
        let body = format!(
            r#"{{"size":"{}","crc32c":"{}"}}"#,
            self.persisted,
            crc32c_base64(self.crc)
        );
        http::Response::builder()
            .status(200)
            .body(Bytes::from(body))
            .unwrap()
    }

    fn answer(
        &mut self,
        purpose: Purpose,
        body: &Body,
        total: Option<u64>,
    ) -> http::Response<Bytes> {
        let ok = |status: u16, body: &str| {
            http::Response::builder()
                .status(status)
                .body(Bytes::from(body.to_owned()))
                .unwrap()
        };
        match (purpose, body) {
            (Purpose::CreateSession, _) => ok(
                200,
                &format!(
                    r#"{{"upload_url":"{SESSION}","gcs_path":"files/o/f/x","file_id":"f",
                    "expires_at":"2099-01-01T00:00:00Z","max_file_size":5368709120,
                    "upload_type":"resumable","chunk_size_recommended":262144}}"#
                ),
            ),
            (Purpose::Register, _) => ok(201, r#"{"id":"file_1"}"#),
            (Purpose::Cancel, _) => ok(499, ""),
            (Purpose::Chunk, Body::Source(r)) if r.start <= self.persisted && !self.finalized => {
                if r.end > self.persisted {
                    let fresh = source(self.persisted..r.end);
                    self.crc = crc32c::crc32c_append(self.crc, fresh);
                    self.persisted = r.end;
                }
                if total == Some(self.persisted) {
                    self.finalized = true;
                    return self.object();
                }
                self.range_308()
            }
            (Purpose::Query, _) if self.finalized => self.object(),
            (Purpose::Query, _) if total == Some(self.persisted) => {
                self.finalized = true;
                self.object()
            }
            (Purpose::Query, _) => self.range_308(),
            _ if self.finalized => self.object(),
            _ => ok(400, "{}"),
        }
    }

    fn range_308(&self) -> http::Response<Bytes> {
        let mut r = http::Response::builder().status(308);
        if self.persisted > 0 {
            r = r.header("range", format!("bytes=0-{}", self.persisted - 1));
        }
        r.body(Bytes::new()).unwrap()
    }
}

fn config(script: &Script, total: u64) -> Config {
    let mut config = match script.flow {
        Flow::FileApi => Config::file_api(
            FileApi {
                api_base: "https://api.fuzz".into(),
                organization: "o".into(),
                api_key: Secret::new("k"),
                filename: "x".into(),
                mime_type: "application/octet-stream".into(),
            },
            total.max(1),
        ),
        Flow::Session => Config::gcs_session(SessionUrl::new(SESSION), Some(total)),
        Flow::Stream => {
            let mut c = Config::gcs_session(SessionUrl::new(SESSION), None);
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

/// A transport failure of `kind`, as a driver reports one.
fn failure(kind: TransportErrorKind) -> TransportError {
    TransportError::new(kind, "a fuzzed transport failure")
}

fuzz_target!(|script: Script| {
    let mut total = u64::from(script.size) % (MAX_SIZE + 1);
    if matches!(script.flow, Flow::FileApi) {
        total = total.max(1);
    }
    let config = config(&script, total);
    let t0 = Instant::now();
    let wall0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut now = t0;
    let mut up = Upload::new(config.clone(), now, wall0).unwrap();
    let mut model = Model {
        persisted: 0,
        crc: 0,
        finalized: false,
    };
    let mut last_checkpoint: Option<Checkpoint> = None;
    let mut replies = script.replies.iter();
    let mut confirmed = 0u64;
    let stream = matches!(script.flow, Flow::Stream);
    let mut total_told = false;

    for step in 0..20_000u32 {
        assert!(step < 19_999, "no end after the script ran out: {script:?}");
        let before = up.persisted();
        match up.poll_action(now) {
            Action::Send(req) => {
                if let Body::Source(r) = req.http.body() {
                    assert_eq!(r.start, before, "a chunk starts where the server confirmed");
                    assert!(r.end <= total || (stream && !total_told));
                    up.feed_checksum(r.start, source(r.start..r.end.min(total)));
                }
                if req.purpose == Purpose::Register {
                    let body: serde_json::Value = match req.http.body() {
                        Body::Json(b) => serde_json::from_slice(b).unwrap(),
                        _ => panic!("register without a body"),
                    };
                    assert_eq!(
                        body["file_size"], total,
                        "registered only at the source's size"
                    );
                }
                let wire_total = up.total();
                let reply = replies.next().unwrap_or(&Reply::Behave);
                let response = match reply {
                    Reply::Behave => Some(model.answer(req.purpose, req.http.body(), wire_total)),
                    Reply::Status(s) => http::Response::builder()
                        .status(*s % 600)
                        .body(Bytes::new())
                        .ok(),
                    Reply::StatusRetryAfter(s, v) => http::Response::builder()
                        .status(*s % 600)
                        .header(
                            "retry-after",
                            http::HeaderValue::from_bytes(v)
                                .unwrap_or(http::HeaderValue::from_static("1")),
                        )
                        .body(Bytes::new())
                        .ok(),
                    Reply::Transport(k) => {
                        let kind = match k % 5 {
                            0 => TransportErrorKind::Connect,
                            1 => TransportErrorKind::Reset,
                            2 => TransportErrorKind::Timeout,
                            3 => TransportErrorKind::BadResponse,
                            _ => TransportErrorKind::Other,
                        };
                        up.handle_transport_error(req.id, &failure(kind), now)
                            .unwrap();
                        None
                    }
                    Reply::Range {
                        last_byte,
                        override_308,
                    } => {
                        let status = if *override_308 { 200 } else { 308 };
                        let mut r = http::Response::builder()
                            .status(status)
                            .header("range", format!("bytes=0-{last_byte}"));
                        if *override_308 {
                            r = r.header("x-http-status-code-override", "308");
                        }
                        r.body(Bytes::new()).ok()
                    }
                    Reply::RawRange(v) => http::HeaderValue::from_bytes(v).ok().and_then(|v| {
                        http::Response::builder()
                            .status(308)
                            .header("range", v)
                            .body(Bytes::new())
                            .ok()
                    }),
                    Reply::NoRange => http::Response::builder()
                        .status(308)
                        .body(Bytes::new())
                        .ok(),
                    Reply::Final {
                        size,
                        crc32c,
                        created,
                    } => {
                        let crc = crc32c
                            .map(|c| format!(r#","crc32c":"{}""#, crc32c_base64(c)))
                            .unwrap_or_default();
                        http::Response::builder()
                            .status(if *created { 201 } else { 200 })
                            .body(Bytes::from(format!(r#"{{"size":"{size}"{crc}}}"#)))
                            .ok()
                    }
                    Reply::Body(s, body) => http::Response::builder()
                        .status(*s % 600)
                        .body(Bytes::from(body.clone()))
                        .ok(),
                    Reply::Crash => {
                        if let Some(cp) = last_checkpoint.clone() {
                            if let Ok(resumed) =
                                Upload::resume(config.clone(), cp, now, wall0 + (now - t0))
                            {
                                up = resumed;
                                confirmed = up.persisted();
                            }
                        }
                        None
                    }
                    Reply::Cancel => {
                        up.cancel();
                        None
                    }
                };
                if let Some(response) = response {
                    up.handle_response(req.id, response, now).unwrap();
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
            Action::AwaitResponse(id) => {
                up.handle_transport_error(id, &failure(TransportErrorKind::Other), now)
                    .unwrap();
            }
            Action::Done(outcome) => {
                assert_eq!(outcome.object.size, total);
                if let Some(stored) = outcome.object.crc32c {
                    assert_eq!(stored, crc32c::crc32c(source(0..total)), "verified");
                }
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
                }
                Event::SessionRestarted { .. } => {
                    confirmed = 0;
                    model = Model {
                        persisted: 0,
                        crc: 0,
                        finalized: false,
                    };
                }
                _ => {}
            }
        }
    }
});
