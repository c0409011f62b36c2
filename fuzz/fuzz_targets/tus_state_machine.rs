//! The upload state machine speaking tus, against the sim's tus server
//! where the script says behave, and arbitrary answers, transport failures
//! and crashes elsewhere. Invariants: it never panics; a `PATCH` always
//! starts at the offset the server last confirmed and says so in
//! `Upload-Offset`; the persisted offset never goes backwards within a
//! session; the upload is done only at the source's size, with the
//! source's CRC32C; once the script runs out and the server behaves, it
//! ends.
#![no_main]

use std::time::{Duration, Instant, SystemTime};

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use resumable_core::{
    Action, Body, Checkpoint, Chunking, Config, Event, RetryPolicy, SessionUrl, TransportErrorKind,
    TusCreate, Upload,
};
use resumable_fuzz::{failure, source};
use resumable_sim::{Reply as SimReply, TUS_ENDPOINT, TusFault, TusOptions, TusServer};

/// The largest source the harness uploads.
const MAX_SIZE: u64 = 100_000;

#[derive(Arbitrary, Debug)]
enum Reply {
    Behave,
    /// The server behaves, with this fault.
    Fault(FaultPick),
    /// An answer of this status carrying these headers.
    Answer(u16, Vec<(HeaderPick, Vec<u8>)>),
    Transport(u8),
    Crash,
    Cancel,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum FaultPick {
    Status(u16),
    StatusAfter(u16),
    Lost,
    Persist(u32),
    Corrupt,
    Expire,
    Kill,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum HeaderPick {
    UploadOffset,
    UploadLength,
    UploadDeferLength,
    Location,
    UploadExpires,
    TusVersion,
    TusExtension,
    TusChecksumAlgorithm,
    TusMaxSize,
    RetryAfter,
}

impl HeaderPick {
    fn name(self) -> &'static str {
        match self {
            Self::UploadOffset => "upload-offset",
            Self::UploadLength => "upload-length",
            Self::UploadDeferLength => "upload-defer-length",
            Self::Location => "location",
            Self::UploadExpires => "upload-expires",
            Self::TusVersion => "tus-version",
            Self::TusExtension => "tus-extension",
            Self::TusChecksumAlgorithm => "tus-checksum-algorithm",
            Self::TusMaxSize => "tus-max-size",
            Self::RetryAfter => "retry-after",
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Script {
    size: u32,
    chunk: u16,
    stream: bool,
    existing_url: bool,
    relative_location: bool,
    checksums: u8,
    seed: u64,
    replies: Vec<Reply>,
}

fn fault(pick: FaultPick) -> TusFault {
    match pick {
        FaultPick::Status(s) => TusFault::Status(100 + s % 500),
        FaultPick::StatusAfter(s) => TusFault::StatusAfter(100 + s % 500),
        FaultPick::Lost => TusFault::LostResponse,
        FaultPick::Persist(n) => TusFault::PersistBytes(u64::from(n) % 40_000),
        FaultPick::Corrupt => TusFault::Corrupt,
        FaultPick::Expire => TusFault::Expire,
        FaultPick::Kill => TusFault::Kill,
    }
}

fn answer(status: u16, headers: &[(HeaderPick, Vec<u8>)]) -> Option<http::Response<Bytes>> {
    let mut r = http::Response::builder()
        .status(100 + status % 500)
        .header("tus-resumable", "1.0.0");
    for (pick, value) in headers {
        r = r.header(pick.name(), http::HeaderValue::from_bytes(value).ok()?);
    }
    r.body(Bytes::new()).ok()
}

fuzz_target!(|script: Script| {
    let total = u64::from(script.size) % (MAX_SIZE + 1);
    let wall0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let t0 = Instant::now();
    let algorithms = [
        vec!["sha1", "md5", "crc32"],
        vec!["crc32"],
        vec![],
        vec!["md5"],
    ];
    let mut server = TusServer::with_options(TusOptions {
        checksum_algorithms: algorithms[usize::from(script.checksums % 4)].clone(),
        relative_location: script.relative_location,
        ..TusOptions::default()
    });
    let known = (!script.stream).then_some(total);
    let mut config = if script.existing_url {
        let url = server.open_upload(known, wall0);
        Config::tus_upload(SessionUrl::new(url), known)
    } else {
        Config::tus_create(TusCreate::new(TUS_ENDPOINT), known)
    };
    config.restartable_source = !script.stream;
    config.chunking = Chunking::Fixed(u64::from(script.chunk % 32 + 1) * 1024);
    config.jitter_seed = script.seed;
    config.retry = RetryPolicy {
        max_attempts: 6,
        ..RetryPolicy::default()
    };
    let mut now = t0;
    let wall = |now: Instant| wall0 + (now - t0);
    let mut up = Upload::new(config.clone(), now, wall0).unwrap();
    let mut last_checkpoint: Option<Checkpoint> = None;
    let mut replies = script.replies.iter();
    let mut confirmed = 0u64;

    for step in 0..20_000u32 {
        assert!(step < 19_999, "no end after the script ran out: {script:?}");
        let before = up.persisted();
        match up.poll_action(now) {
            Action::Send(req) => {
                let mut body: &[u8] = &[];
                if let Body::Source(r) = req.http.body() {
                    assert_eq!(r.start, before, "a PATCH starts where the server confirmed");
                    if req.http.method() == http::Method::POST {
                        // creation-with-upload: the first bytes ride in the creation.
                        assert_eq!(r.start, 0, "a creation carries the start of the source");
                    } else {
                        let offset = req.http.headers()["upload-offset"].to_str().unwrap();
                        assert_eq!(offset, r.start.to_string());
                    }
                    assert!(r.end <= total, "never past the source");
                    body = source(r.clone());
                    up.feed_checksum(r.start, body);
                }
                let reply = replies.next().unwrap_or(&Reply::Behave);
                let response = match reply {
                    Reply::Behave | Reply::Fault(_) => {
                        let f = match reply {
                            Reply::Fault(pick) => fault(*pick),
                            _ => TusFault::None,
                        };
                        match server.serve(&req.http, body, f, wall(now)) {
                            SimReply::Response(r) => Some(r),
                            SimReply::Reset => {
                                up.handle_transport_error(
                                    req.id,
                                    &failure(TransportErrorKind::Reset),
                                    now,
                                )
                                .unwrap();
                                None
                            }
                        }
                    }
                    Reply::Answer(status, headers) => answer(*status, headers),
                    Reply::Transport(k) => {
                        let kind = match k % 3 {
                            0 => TransportErrorKind::Connect,
                            1 => TransportErrorKind::Reset,
                            _ => TransportErrorKind::Timeout,
                        };
                        up.handle_transport_error(req.id, &failure(kind), now)
                            .unwrap();
                        None
                    }
                    Reply::Crash => {
                        if let Some(cp) = last_checkpoint.clone()
                            && let Ok(resumed) = Upload::resume(config.clone(), cp, now, wall(now))
                        {
                            up = resumed;
                            confirmed = up.persisted();
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
            Action::ReadAhead { to } => {
                assert!(script.stream, "a known total is never read ahead");
                up.handle_read_ahead((total < to).then_some(total)).unwrap();
            }
            Action::Checkpoint(cp) => last_checkpoint = Some(cp),
            Action::RemoveCheckpoint => last_checkpoint = None,
            Action::Wait(until) => {
                assert!(until > now);
                now = until;
            }
            Action::AwaitResponse(id) => {
                up.handle_transport_error(id, &failure(TransportErrorKind::Other), now)
                    .unwrap();
            }
            Action::Done(outcome) => {
                assert_eq!(outcome.object.size, total, "done only at the source's size");
                if let Some(crc) = outcome.crc32c {
                    assert_eq!(crc, crc32c::crc32c(source(0..total)));
                }
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
                Event::SessionRestarted { .. } => confirmed = 0,
                _ => {}
            }
        }
    }
});
