//! Scenario tests: each answers the core by hand to pin one rule of the protocol.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use resumable_core::{
    Action, Body, Checkpoint, Chunking, Config, ConfigError, Error, Event, FileApi, FileApiSession,
    Fingerprint, Flow, Format1Flow, GcsInitiate, IntegrityError, Preconditions, Protocol,
    ProtocolError, Purpose, Request, RetryCause, RetryPolicy, Secret, SessionUrl, SourceError,
    TransportError, TransportErrorKind, TransportFailure, Upload, UsageError,
};
use sim::{Fault, Server, UNIT};

const SESSION: &str = "https://upload.example/upload/o?name=x&upload_id=SECRETID";

fn wall0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn raw(total: Option<u64>) -> (Upload, Instant) {
    let mut cfg = Config::gcs_session(SessionUrl::new(SESSION), total);
    cfg.chunking = Chunking::Fixed(UNIT);
    let now = Instant::now();
    (Upload::new(cfg, now, wall0()).unwrap(), now)
}

fn response(status: u16, headers: &[(&str, &str)], body: &str) -> http::Response<Bytes> {
    let mut b = http::Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Bytes::from(body.to_owned())).unwrap()
}

/// Polls past checkpoints and checksum requests (feeding zeros) to the next request.
fn next_request(up: &mut Upload, now: Instant) -> Request {
    loop {
        match up.poll_action(now) {
            Action::Send(req) => {
                if let Body::Source(r) = req.http.body() {
                    up.feed_checksum(r.start, &vec![0; (r.end - r.start) as usize]);
                }
                return req;
            }
            Action::Checkpoint(_) => {}
            Action::Checksum(r) => up.feed_checksum(r.start, &vec![0; (r.end - r.start) as usize]),
            // These tests tell a stream's total with `set_total` themselves.
            Action::ReadAhead { .. } => up.handle_read_ahead(None).unwrap(),
            other => panic!("expected a request, got {other:?}"),
        }
    }
}

fn failed(up: &mut Upload, now: Instant) -> Error {
    loop {
        match up.poll_action(now) {
            Action::Failed(e) => return e,
            Action::Checkpoint(_) | Action::RemoveCheckpoint => {}
            other => panic!("expected failure, got {other:?}"),
        }
    }
}

/// The outcome, after the removal of the checkpoint the core asks for first.
fn done(up: &mut Upload, now: Instant) -> resumable_core::Outcome {
    assert!(
        matches!(up.poll_action(now), Action::RemoveCheckpoint),
        "the checkpoint is removed before the end"
    );
    match up.poll_action(now) {
        Action::Done(outcome) => outcome,
        other => panic!("expected the end, got {other:?}"),
    }
}

fn header<'a>(req: &'a Request, name: &str) -> &'a str {
    req.http
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

fn zero_object(size: u64) -> String {
    let crc = crc32c::crc32c(&vec![0; size as usize]);
    format!(
        r#"{{"size":"{size}","crc32c":"{}"}}"#,
        resumable_sim::wire::crc32c_base64(crc)
    )
}

#[test]
fn a_bare_session_starts_with_a_status_query_and_resumes_from_its_offset() {
    let (mut up, now) = raw(Some(3 * UNIT));
    let q = next_request(&mut up, now);
    assert_eq!(q.purpose, Purpose::Query);
    assert_eq!(header(&q, "content-range"), "bytes */786432");
    assert_eq!(header(&q, "content-length"), "0");
    up.handle_response(q.id, response(308, &[("range", "bytes=0-262143")], ""), now)
        .unwrap();
    let c = next_request(&mut up, now);
    assert_eq!(header(&c, "content-range"), "bytes 262144-524287/786432");
    assert_eq!(c.http.body(), &Body::Source(UNIT..2 * UNIT));
    assert!(!c.http.headers().contains_key("x-api-key"));
}

#[test]
fn offset_going_backwards_is_a_protocol_error() {
    let (mut up, now) = raw(Some(3 * UNIT));
    let q = next_request(&mut up, now);
    up.handle_response(q.id, response(308, &[("range", "bytes=0-262143")], ""), now)
        .unwrap();
    let c = next_request(&mut up, now);
    up.handle_response(c.id, response(308, &[], ""), now)
        .unwrap();
    assert_eq!(
        failed(&mut up, now),
        Error::Protocol(ProtocolError::OffsetBackwards {
            before: UNIT,
            after: 0
        })
    );
}

#[test]
fn offset_beyond_what_was_sent_is_a_protocol_error() {
    let mut server = Server::new();
    let data = vec![0u8; 3 * UNIT as usize];
    let mut cfg = sim::file_api_config(data.len() as u64);
    cfg.chunking = Chunking::Fixed(UNIT);
    let mut up = Upload::new(cfg, Instant::now(), wall0()).unwrap();
    let now = Instant::now();
    let s = next_request(&mut up, now);
    let sim::Reply::Response(r) = server.serve(&s.http, json_body(&s), Fault::None, wall0()) else {
        unreachable!()
    };
    up.handle_response(s.id, r, now).unwrap();
    let c = next_request(&mut up, now);
    up.handle_response(c.id, response(308, &[("range", "bytes=0-524287")], ""), now)
        .unwrap();
    assert_eq!(
        failed(&mut up, now),
        Error::Protocol(ProtocolError::OffsetBeyondSent {
            persisted: 2 * UNIT,
            sent: UNIT
        })
    );
}

fn json_body(req: &Request) -> &[u8] {
    match req.http.body() {
        Body::Json(b) => b,
        _ => &[],
    }
}

#[test]
fn malformed_range_headers_are_typed_errors() {
    for bad in [
        "bytes=5-10",
        "bytes=0-x",
        "bytes=0-99999999999999999999",
        "bytes=0-1,4-5",
        "",
    ] {
        let (mut up, now) = raw(Some(UNIT));
        let q = next_request(&mut up, now);
        up.handle_response(q.id, response(308, &[("range", bad)], ""), now)
            .unwrap();
        assert!(
            matches!(
                failed(&mut up, now),
                Error::Protocol(ProtocolError::Range(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn override_header_on_200_means_308() {
    let (mut up, now) = raw(Some(2 * UNIT));
    let q = next_request(&mut up, now);
    up.handle_response(
        q.id,
        response(
            200,
            &[
                ("x-http-status-code-override", "308"),
                ("range", "bytes=0-262143"),
            ],
            "",
        ),
        now,
    )
    .unwrap();
    let c = next_request(&mut up, now);
    assert_eq!(header(&c, "content-range"), "bytes 262144-524287/524288");
}

#[test]
fn final_size_or_crc_mismatch_fails_and_never_registers() {
    // CRC mismatch in the file-API flow: no register request follows.
    let size = UNIT;
    let mut cfg = sim::file_api_config(size);
    cfg.checksum_ahead_limit = 0;
    let now = Instant::now();
    let mut up = Upload::new(cfg, now, wall0()).unwrap();
    let mut server = Server::new();
    let s = next_request(&mut up, now);
    let sim::Reply::Response(r) = server.serve(&s.http, json_body(&s), Fault::None, wall0()) else {
        unreachable!()
    };
    up.handle_response(s.id, r, now).unwrap();
    let c = next_request(&mut up, now);
    assert!(
        !c.http.headers().contains_key("x-goog-hash"),
        "hash ahead is off"
    );
    up.handle_response(
        c.id,
        response(200, &[], r#"{"size":"262144","crc32c":"AAAAAA=="}"#),
        now,
    )
    .unwrap();
    assert!(matches!(
        failed(&mut up, now),
        Error::Integrity(IntegrityError::Crc32c { stored: 0, .. })
    ));

    let (mut up, now) = raw(Some(UNIT));
    let q = next_request(&mut up, now);
    up.handle_response(q.id, response(308, &[], ""), now)
        .unwrap();
    let c = next_request(&mut up, now);
    up.handle_response(c.id, response(200, &[], r#"{"size":"5"}"#), now)
        .unwrap();
    assert_eq!(
        failed(&mut up, now),
        Error::Integrity(IntegrityError::Size {
            expected: UNIT,
            stored: 5
        })
    );
}

#[test]
fn the_final_chunk_carries_the_crc32c_after_hashing_ahead() {
    let data = sim::source(UNIT as usize + 10, 9);
    let (mut up, now) = raw(Some(data.len() as u64));
    let q = next_request(&mut up, now);
    up.handle_response(q.id, response(308, &[("range", "bytes=0-262143")], ""), now)
        .unwrap();
    // The bytes before the gap were never fed: the core asks for them, then for the rest.
    let Action::Checkpoint(cp) = up.poll_action(now) else {
        panic!("expected a checkpoint")
    };
    assert_eq!(cp.persisted, UNIT);
    let Action::Checksum(gap) = up.poll_action(now) else {
        panic!("expected a checksum read")
    };
    assert_eq!(gap, 0..UNIT);
    up.feed_checksum(0, &data[..UNIT as usize]);
    let Action::Checksum(ahead) = up.poll_action(now) else {
        panic!("expected a checksum read")
    };
    assert_eq!(ahead, UNIT..UNIT + 10);
    up.feed_checksum(UNIT, &data[UNIT as usize..]);
    let Action::Send(c) = up.poll_action(now) else {
        panic!("expected the final chunk")
    };
    let expected = format!(
        "crc32c={}",
        resumable_sim::wire::crc32c_base64(crc32c::crc32c(&data))
    );
    assert_eq!(c.http.headers()["x-goog-hash"], expected.as_str());
}

#[test]
fn stale_and_unknown_responses_are_refused() {
    let (mut up, now) = raw(Some(UNIT));
    let q = next_request(&mut up, now);
    up.handle_transport_error(
        q.id,
        &TransportError::new(TransportErrorKind::Timeout, "injected"),
        now,
    )
    .unwrap();
    assert_eq!(
        up.handle_response(q.id, response(308, &[], ""), now),
        Err(UsageError::UnknownRequest)
    );
    assert!(matches!(up.poll_action(now), Action::Wait(_)));
}

/// A failure that fails fast (a name that does not exist, a refused port, a
/// rejected certificate, a server that does not speak TLS) before any server
/// answered ends the upload at once, naming the host: a run against a wrong
/// URL must not retry for minutes before it says so.
#[test]
fn a_hopeless_transport_failure_before_any_answer_ends_the_run_at_once() {
    for kind in [
        TransportErrorKind::NoSuchHost,
        TransportErrorKind::ConnectRefused,
        TransportErrorKind::TlsCertificate,
        TransportErrorKind::TlsHandshake,
    ] {
        let (mut up, now) = raw(Some(UNIT));
        let q = next_request(&mut up, now);
        let error = TransportError::new(kind, "the transport's own words");
        up.handle_transport_error(q.id, &error, now).unwrap();
        let Error::Unreachable(failure) = failed(&mut up, now) else {
            panic!("{kind:?}: expected the run to end unreachable")
        };
        assert_eq!(
            (failure.kind, failure.host.as_str()),
            (kind, "upload.example")
        );
        assert!(
            failure.detail.contains("the transport's own words"),
            "{failure}"
        );
        assert!(failure.to_string().contains("upload.example"), "{failure}");
        assert!(
            !std::iter::from_fn(|| up.poll_event()).any(|e| matches!(e, Event::Retrying { .. }))
        );
    }
}

/// Once a server answered, the same failures are retried like any other
/// (a load balancer handing out a bad certificate for a while), and what a
/// retry event says names the host and the transport's text, with the
/// session URL's path and query (its credential) redacted.
#[test]
fn transport_failures_after_an_answer_are_retried_with_host_and_text() {
    let (mut up, now) = raw(Some(UNIT));
    let q = next_request(&mut up, now);
    up.handle_response(q.id, response(308, &[], ""), now)
        .unwrap();
    let c = next_request(&mut up, now);
    let leaked = format!("error sending request for url ({SESSION})");
    let error = TransportError::new(TransportErrorKind::TlsHandshake, leaked);
    up.handle_transport_error(c.id, &error, now).unwrap();
    let cause = std::iter::from_fn(|| up.poll_event())
        .find_map(|e| match e {
            Event::Retrying { cause, .. } => Some(cause),
            _ => None,
        })
        .expect("a retry");
    let RetryCause::Transport(failure) = cause else {
        panic!("expected a transport cause, got {cause:?}")
    };
    assert_eq!(failure.host, "upload.example");
    assert!(!failure.detail.contains("upload_id"), "{failure}");
    assert!(
        failure.detail.contains("https://upload.example/<redacted>"),
        "{failure}"
    );
    let refused = TransportFailure {
        kind: TransportErrorKind::ConnectRefused,
        host: "127.0.0.1:1".into(),
        detail: "Connection refused (os error 111)".into(),
    };
    assert_eq!(
        refused.to_string(),
        "could not connect to 127.0.0.1:1: connection refused"
    );
}

#[test]
fn retry_after_is_honoured_and_the_budget_ends_in_gave_up() {
    let mut cfg = Config::gcs_session(SessionUrl::new(SESSION), Some(UNIT));
    cfg.retry = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let mut now = Instant::now();
    let mut up = Upload::new(cfg, now, wall0()).unwrap();
    let q = next_request(&mut up, now);
    up.handle_response(q.id, response(429, &[("retry-after", "7")], ""), now)
        .unwrap();
    let Action::Wait(until) = up.poll_action(now) else {
        panic!("expected a wait")
    };
    assert_eq!(until - now, Duration::from_secs(7));
    assert!(matches!(
        up.poll_event(),
        Some(Event::Retrying {
            attempt: 1,
            cause: resumable_core::RetryCause::Status(429),
            ..
        })
    ));
    now = until;
    let q = next_request(&mut up, now);
    up.handle_response(q.id, response(503, &[], ""), now)
        .unwrap();
    let Action::Wait(until) = up.poll_action(now) else {
        panic!("expected a wait")
    };
    now = until;
    let q = next_request(&mut up, now);
    up.handle_transport_error(
        q.id,
        &TransportError::new(TransportErrorKind::Reset, "injected"),
        now,
    )
    .unwrap();
    assert!(matches!(
        failed(&mut up, now),
        Error::GaveUp { attempts: 3, .. }
    ));
}

#[test]
fn api_errors_carry_status_and_message() {
    let cfg = sim::file_api_config(10);
    let now = Instant::now();
    let mut up = Upload::new(cfg, now, wall0()).unwrap();
    let s = next_request(&mut up, now);
    assert_eq!(header(&s, "x-api-key"), sim::KEY);
    assert_eq!(header(&s, "content-type"), "application/json");
    let body: serde_json::Value = serde_json::from_slice(json_body(&s)).unwrap();
    assert_eq!(body["file_size"], 10);
    assert_eq!(body["filename"], "data.bin");
    up.handle_response(
        s.id,
        response(401, &[], r#"{"detail":"Invalid API key"}"#),
        now,
    )
    .unwrap();
    assert_eq!(
        failed(&mut up, now),
        Error::Api {
            status: 401,
            message: "Invalid API key".into()
        }
    );
}

#[test]
fn a_session_too_small_for_the_file_is_refused() {
    let cfg = sim::file_api_config(10);
    let now = Instant::now();
    let mut up = Upload::new(cfg, now, wall0()).unwrap();
    let s = next_request(&mut up, now);
    let body = r#"{"upload_url":"https://u.example/x?upload_id=1","gcs_path":"p","file_id":"f",
        "expires_at":"2099-01-01T00:00:00Z","max_file_size":5,"upload_type":"resumable","chunk_size_recommended":5242880}"#;
    up.handle_response(s.id, response(200, &[], body), now)
        .unwrap();
    assert_eq!(
        failed(&mut up, now),
        Error::FileTooLarge { size: 10, max: 5 }
    );
}

#[test]
fn local_validation_happens_before_any_request() {
    let api = |name: &str| FileApi {
        api_base: "https://api.example".into(),
        organization: "org".into(),
        api_key: Secret::new("k"),
        filename: name.into(),
        mime_type: "text/plain".into(),
    };
    let now = Instant::now();
    let err = |cfg| Upload::new(cfg, now, wall0()).unwrap_err();
    assert_eq!(
        err(Config::file_api(api("a"), 0)),
        Error::Config(ConfigError::EmptyFile)
    );
    assert_eq!(
        err(Config::file_api(api(""), 1)),
        Error::Config(ConfigError::FilenameLength(0))
    );
    assert_eq!(
        err(Config::file_api(api(&"é".repeat(256)), 1)),
        Error::Config(ConfigError::FilenameLength(256))
    );
    assert!(Upload::new(Config::file_api(api(&"é".repeat(255)), 1), now, wall0()).is_ok());
    let mut bad = api("a");
    bad.api_base = "api.example".into();
    assert!(matches!(
        err(Config::file_api(bad, 1)),
        Error::Config(ConfigError::BadUrl { .. })
    ));
    assert!(matches!(
        err(Config::gcs_session(SessionUrl::new("/relative"), None)),
        Error::Config(ConfigError::BadUrl { .. })
    ));
}

#[test]
fn secrets_never_show_in_debug_output() {
    let cfg = sim::file_api_config(10);
    let now = Instant::now();
    let mut up = Upload::new(cfg, now, wall0()).unwrap();
    let s = next_request(&mut up, now);
    let body = r#"{"upload_url":"https://u.example/x?upload_id=SECRETID","gcs_path":"p","file_id":"f",
        "expires_at":"2099-01-01T00:00:00Z","max_file_size":50,"upload_type":"resumable","chunk_size_recommended":5242880}"#;
    up.handle_response(s.id, response(200, &[], body), now)
        .unwrap();
    let Action::Checkpoint(cp) = up.poll_action(now) else {
        panic!("expected a checkpoint")
    };
    let shown = format!("{up:?} {cp:?} {:?}", up.session());
    assert!(
        !shown.contains(sim::KEY) && !shown.contains("SECRETID"),
        "{shown}"
    );
    let c = next_request(&mut up, now);
    let shown = format!("{c:?}");
    assert!(
        !shown.contains(sim::KEY),
        "the key never reaches upload requests"
    );
}

#[test]
fn cancel_deletes_the_session() {
    let (mut up, now) = raw(Some(2 * UNIT));
    let q = next_request(&mut up, now);
    up.cancel();
    assert_eq!(
        up.handle_response(q.id, response(308, &[], ""), now),
        Err(UsageError::UnknownRequest),
        "the abandoned request's answer is refused"
    );
    let d = next_request(&mut up, now);
    assert_eq!(
        (d.purpose, d.http.method()),
        (Purpose::Cancel, &http::Method::DELETE)
    );
    assert_eq!(d.http.uri(), SESSION);
    up.handle_response(d.id, response(499, &[], ""), now)
        .unwrap();
    assert_eq!(failed(&mut up, now), Error::Cancelled);

    let (mut up, now) = raw(Some(2 * UNIT));
    up.cancel();
    let d = next_request(&mut up, now);
    up.handle_response(d.id, response(410, &[], ""), now)
        .unwrap();
    assert_eq!(
        failed(&mut up, now),
        Error::Cancelled,
        "gone also means cancelled"
    );
}

#[test]
fn initiating_a_session_uses_location() {
    let init = GcsInitiate {
        endpoint: "https://storage.example".into(),
        bucket: "bk".into(),
        object: "dir/a b.bin".into(),
        content_type: Some("video/mp4".into()),
        bearer_token: Some(Secret::new("tok")),
        ..Default::default()
    };
    let now = Instant::now();
    let mut up = Upload::new(Config::gcs_initiate(init, Some(3)), now, wall0()).unwrap();
    let i = next_request(&mut up, now);
    assert_eq!(i.http.method(), http::Method::POST);
    assert_eq!(
        i.http.uri(),
        "https://storage.example/upload/storage/v1/b/bk/o?uploadType=resumable&name=dir%2Fa%20b.bin"
    );
    assert_eq!(header(&i, "authorization"), "Bearer tok");
    assert_eq!(header(&i, "x-upload-content-type"), "video/mp4");
    assert_eq!(header(&i, "x-upload-content-length"), "3");
    up.handle_response(i.id, response(200, &[], ""), now)
        .unwrap();
    assert_eq!(
        failed(&mut up, now),
        Error::Protocol(ProtocolError::MissingLocation)
    );

    let init = GcsInitiate {
        endpoint: "https://storage.example".into(),
        bucket: "bk".into(),
        object: "o".into(),
        content_type: None,
        bearer_token: None,
        ..Default::default()
    };
    let mut up = Upload::new(Config::gcs_initiate(init, Some(3)), now, wall0()).unwrap();
    let i = next_request(&mut up, now);
    up.handle_response(i.id, response(200, &[("location", SESSION)], ""), now)
        .unwrap();
    let c = next_request(&mut up, now);
    assert_eq!(
        (
            c.http.uri().to_string().as_str(),
            header(&c, "content-range")
        ),
        (SESSION, "bytes 0-2/3")
    );
    assert!(
        !c.http.headers().contains_key("authorization"),
        "the session URL is its own credential"
    );
}

#[test]
fn a_stream_of_unknown_length_names_its_total_at_the_end() {
    // Ends inside a chunk: the last chunk names the total.
    let (mut up, now) = raw(None);
    let q = next_request(&mut up, now);
    assert_eq!(header(&q, "content-range"), "bytes */*");
    up.handle_response(q.id, response(308, &[], ""), now)
        .unwrap();
    let c = next_request(&mut up, now);
    assert_eq!(header(&c, "content-range"), "bytes 0-262143/*");
    up.handle_response(c.id, response(308, &[("range", "bytes=0-262143")], ""), now)
        .unwrap();
    up.set_total(UNIT + 5).unwrap();
    assert_eq!(up.set_total(UNIT + 6), Err(UsageError::TotalMismatch));
    let c = next_request(&mut up, now);
    assert_eq!(header(&c, "content-range"), "bytes 262144-262148/262149");
    up.handle_response(c.id, response(201, &[], &zero_object(UNIT + 5)), now)
        .unwrap();
    assert_eq!(done(&mut up, now).object.size, UNIT + 5);

    // Ends exactly on a chunk boundary: finish with `bytes */T`.
    let (mut up, now) = raw(None);
    let q = next_request(&mut up, now);
    up.handle_response(q.id, response(308, &[], ""), now)
        .unwrap();
    let c = next_request(&mut up, now);
    up.handle_response(c.id, response(308, &[("range", "bytes=0-262143")], ""), now)
        .unwrap();
    up.set_total(UNIT).unwrap();
    let f = next_request(&mut up, now);
    assert_eq!(
        (f.purpose, header(&f, "content-range")),
        (Purpose::Query, "bytes */262144")
    );
    up.handle_response(f.id, response(200, &[], &zero_object(UNIT)), now)
        .unwrap();
    done(&mut up, now);
}

#[test]
fn an_empty_raw_upload_finishes_with_bytes_star_slash_zero() {
    let (mut up, now) = raw(Some(0));
    let q = next_request(&mut up, now);
    assert_eq!(header(&q, "content-range"), "bytes */0");
    // Asked to finish, the server did not: that is no progress, and waits.
    up.handle_response(q.id, response(308, &[], ""), now)
        .unwrap();
    let Action::Wait(now) = up.poll_action(now) else {
        panic!("expected a backoff")
    };
    let f = next_request(&mut up, now);
    assert_eq!(header(&f, "content-range"), "bytes */0");
    up.handle_response(f.id, response(200, &[], &zero_object(0)), now)
        .unwrap();
    done(&mut up, now);
}

#[test]
fn single_request_mode_sends_everything_in_one_put() {
    let size = 5 * UNIT + 3;
    let data = sim::source(size as usize, 4);
    let mut cfg = sim::file_api_config(size);
    cfg.chunking = Chunking::SingleRequest;
    let mut server = Server::new();
    let run = sim::drive(&mut server, cfg, &data, |_, _| Fault::None, |_| false, 100);
    let puts: Vec<_> = run
        .transcript
        .iter()
        .filter(|l| l.starts_with("PUT"))
        .collect();
    assert_eq!(puts, ["PUT bytes 0-1310722/1310723 -> 200"]);
    assert!(run.result.unwrap().is_ok());
}

#[test]
fn a_response_body_too_large_is_cut_off_not_trusted() {
    let (mut up, now) = raw(Some(UNIT));
    let q = next_request(&mut up, now);
    let huge = "x".repeat(resumable_core::MAX_RESPONSE_BODY + 1);
    up.handle_response(q.id, response(308, &[], &huge), now)
        .unwrap();
    assert!(matches!(
        failed(&mut up, now),
        Error::Protocol(ProtocolError::BodyTooLarge(_))
    ));

    let (mut up, now) = raw(Some(UNIT));
    let q = next_request(&mut up, now);
    up.handle_transport_error(
        q.id,
        &TransportError::new(TransportErrorKind::BodyTooLarge, "injected"),
        now,
    )
    .unwrap();
    assert!(matches!(
        failed(&mut up, now),
        Error::Protocol(ProtocolError::BodyTooLarge(_))
    ));
}

fn checkpoints_of(run: &sim::Run) -> Vec<Checkpoint> {
    run.checkpoints.clone()
}

#[test]
fn resume_refuses_a_changed_source_and_replaces_an_expired_session() {
    let (cfg, data, cp) = interrupted_after_one_chunk();
    let size = data.len() as u64;
    let json = serde_json::to_string(&cp).unwrap();
    let cp: Checkpoint = serde_json::from_str(&json).unwrap();
    assert!(
        !json.contains(sim::KEY),
        "checkpoints never hold the API key"
    );

    let mut changed = cfg.clone();
    changed.fingerprint = Some(Fingerprint {
        size,
        modified: Some(wall0() + Duration::from_secs(1)),
    });
    assert_eq!(
        Upload::resume(changed, cp.clone(), Instant::now(), wall0()).unwrap_err(),
        Error::Source(SourceError::Changed)
    );

    // Still valid: a status query first, then the rest.
    let now = Instant::now();
    let mut up = Upload::resume(cfg.clone(), cp.clone(), now, wall0()).unwrap();
    let q = request_over(&mut up, now, &data);
    assert_eq!(
        (q.purpose, header(&q, "content-range")),
        (Purpose::Query, "bytes */786432")
    );

    // Expired: a new session, from zero.
    let later = wall0() + Duration::from_secs(8 * 24 * 3600);
    let mut up = Upload::resume(cfg, cp, now, later).unwrap();
    let s = request_over(&mut up, now, &data);
    assert_eq!(s.purpose, Purpose::CreateSession);
}

#[test]
fn a_crash_between_upload_and_register_resumes_at_register() {
    let size = UNIT;
    let data = sim::source(size as usize, 6);
    let cfg = sim::file_api_config(size);
    let mut server = Server::new();
    let run = sim::drive(
        &mut server,
        cfg.clone(),
        &data,
        |_, _| Fault::None,
        |_| false,
        100,
    );
    let uploaded = run
        .checkpoints
        .iter()
        .find(|c| c.object.is_some())
        .unwrap()
        .clone();
    let now = Instant::now();
    let mut up = Upload::resume(cfg, uploaded, now, wall0()).unwrap();
    let r = request_over(&mut up, now, &data);
    assert_eq!(r.purpose, Purpose::Register);
    let body: serde_json::Value = serde_json::from_slice(json_body(&r)).unwrap();
    assert_eq!(body["file_size"], size);
}

#[test]
fn a_lost_register_response_registers_the_same_file() {
    let size = UNIT;
    let data = sim::source(size as usize, 7);
    let cfg = sim::file_api_config(size);
    let mut server = Server::new();
    let run = sim::drive(
        &mut server,
        cfg,
        &data,
        |_, p| {
            if p == Purpose::Register && server_first() {
                Fault::LostResponse
            } else {
                Fault::None
            }
        },
        |_| false,
        100,
    );
    let outcome = run.result.unwrap().unwrap();
    assert_eq!(
        server.registrations.len(),
        2,
        "sent again after the lost answer"
    );
    assert_eq!(server.files.len(), 1, "the server returns the same File");
    assert_eq!(
        outcome.file.unwrap().id,
        server.files.values().next().unwrap().clone()
    );
}

/// True the first time only (per thread).
fn server_first() -> bool {
    thread_local!(static SEEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    SEEN.with(|s| !s.replace(true))
}

#[test]
fn sessions_gone_too_often_end_the_upload() {
    let size = 2 * UNIT;
    let data = sim::source(size as usize, 8);
    let mut cfg = sim::file_api_config(size);
    cfg.chunking = Chunking::Fixed(UNIT);
    cfg.max_session_restarts = 2;
    let mut server = Server::new();
    let run = sim::drive(
        &mut server,
        cfg,
        &data,
        |_, p| {
            if p == Purpose::Chunk {
                Fault::KillSession
            } else {
                Fault::None
            }
        },
        |_| false,
        100,
    );
    assert_eq!(run.result.unwrap().unwrap_err(), Error::SessionGone);
    let restarts = run
        .events
        .iter()
        .filter(|e| matches!(e, Event::SessionRestarted { .. }))
        .count();
    assert_eq!(restarts, 2);
    assert!(server.registrations.is_empty());
}

#[test]
fn the_upload_id_is_reported_once() {
    let size = 3 * UNIT;
    let data = sim::source(size as usize, 9);
    let mut cfg = sim::file_api_config(size);
    cfg.chunking = Chunking::Fixed(UNIT);
    let mut server = Server::new();
    let run = sim::drive(&mut server, cfg, &data, |_, _| Fault::None, |_| false, 100);
    let ids: Vec<_> = run
        .events
        .iter()
        .filter(|e| matches!(e, Event::UploadId(_)))
        .collect();
    assert_eq!(ids, [&Event::UploadId("sim-upload-1".into())]);
}

#[test]
fn an_offset_beyond_a_total_found_later_is_a_protocol_error() {
    // A bare session of unknown length: the first query could be answered
    // with anything; once the total is known, more than it is a violation.
    let (mut up, now) = raw(None);
    up.set_total(73).unwrap();
    let q = next_request(&mut up, now);
    up.handle_response(q.id, response(308, &[("range", "bytes=0-15871")], ""), now)
        .unwrap();
    assert_eq!(
        failed(&mut up, now),
        Error::Protocol(ProtocolError::OffsetBeyondSent {
            persisted: 15872,
            sent: 73
        })
    );
}

#[test]
fn a_finishing_query_answered_308_forever_runs_out_of_budget() {
    let (mut up, mut now) = raw(Some(UNIT));
    for _ in 0..100 {
        match up.poll_action(now) {
            Action::Send(req) => {
                if let Body::Source(r) = req.http.body() {
                    up.feed_checksum(r.start, &vec![0; (r.end - r.start) as usize]);
                }
                up.handle_response(
                    req.id,
                    response(308, &[("range", "bytes=0-262143")], ""),
                    now,
                )
                .unwrap();
            }
            Action::Wait(until) => now = until,
            Action::Failed(e) => {
                assert!(matches!(
                    e,
                    Error::GaveUp {
                        last: resumable_core::RetryCause::NoProgress,
                        ..
                    }
                ));
                return;
            }
            Action::Checkpoint(_) | Action::Checksum(_) => {}
            other => panic!("{other:?}"),
        }
    }
    panic!("no end");
}

#[test]
fn a_bare_session_may_name_any_offset_once_then_only_what_was_sent() {
    let (mut up, now) = raw(Some(8 * UNIT));
    let q = next_request(&mut up, now);
    up.handle_response(q.id, response(308, &[], ""), now)
        .unwrap();
    let c = next_request(&mut up, now);
    assert_eq!(c.http.body(), &Body::Source(0..UNIT));
    up.handle_response(
        c.id,
        response(308, &[("range", "bytes=0-1310719")], ""),
        now,
    )
    .unwrap();
    assert_eq!(
        failed(&mut up, now),
        Error::Protocol(ProtocolError::OffsetBeyondSent {
            persisted: 5 * UNIT,
            sent: UNIT
        })
    );
    // The first answer may name bytes an earlier run sent.
    let (mut up, now) = raw(Some(8 * UNIT));
    let q = next_request(&mut up, now);
    up.handle_response(
        q.id,
        response(308, &[("range", "bytes=0-1310719")], ""),
        now,
    )
    .unwrap();
    let c = next_request(&mut up, now);
    assert_eq!(c.http.body(), &Body::Source(5 * UNIT..6 * UNIT));
}

#[test]
fn an_object_without_crc32c_is_refused_unless_allowed() {
    let (mut up, now) = raw(Some(UNIT));
    let q = next_request(&mut up, now);
    up.handle_response(q.id, response(308, &[], ""), now)
        .unwrap();
    let c = next_request(&mut up, now);
    up.handle_response(c.id, response(200, &[], r#"{"size":"262144"}"#), now)
        .unwrap();
    assert_eq!(
        failed(&mut up, now),
        Error::Integrity(IntegrityError::MissingCrc32c)
    );

    let mut cfg = Config::gcs_session(SessionUrl::new(SESSION), Some(UNIT));
    cfg.require_crc32c = false;
    let mut up = Upload::new(cfg, now, wall0()).unwrap();
    let q = next_request(&mut up, now);
    up.handle_response(q.id, response(308, &[], ""), now)
        .unwrap();
    let c = next_request(&mut up, now);
    up.handle_response(c.id, response(200, &[], r#"{"size":"262144"}"#), now)
        .unwrap();
    done(&mut up, now);
}

#[test]
fn a_huge_retry_after_never_overflows_the_clock() {
    let mut cfg = Config::gcs_session(SessionUrl::new(SESSION), Some(UNIT));
    cfg.retry.max_elapsed = Duration::MAX;
    let now = Instant::now();
    let mut up = Upload::new(cfg, now, wall0()).unwrap();
    let q = next_request(&mut up, now);
    up.handle_response(
        q.id,
        response(503, &[("retry-after", "99999999999999999999")], ""),
        now,
    )
    .unwrap();
    assert!(matches!(
        up.poll_action(now),
        Action::Failed(Error::GaveUp { .. }) | Action::Wait(_)
    ));
}

#[test]
fn debug_of_requests_never_shows_credentials() {
    let cfg = sim::file_api_config(10);
    let now = Instant::now();
    let mut up = Upload::new(cfg, now, wall0()).unwrap();
    let action = up.poll_action(now);
    let shown = format!("{action:?}");
    assert!(!shown.contains(sim::KEY), "{shown}");

    let init = GcsInitiate {
        endpoint: "https://storage.example".into(),
        bucket: "b".into(),
        object: "o".into(),
        content_type: None,
        bearer_token: Some(Secret::new("tok-SECRET")),
        ..Default::default()
    };
    let mut cfg = Config::gcs_initiate(init, Some(1));
    cfg.upload_headers
        .insert("x-goog-signature", "SIGSECRET".parse().unwrap());
    let mut up = Upload::new(cfg, now, wall0()).unwrap();
    let i = next_request(&mut up, now);
    up.handle_response(i.id, response(200, &[("location", SESSION)], ""), now)
        .unwrap();
    let c = next_request(&mut up, now);
    let shown = format!("{i:?} {c:?} {up:?}");
    for secret in ["tok-SECRET", "SIGSECRET", "SECRETID"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn a_checkpoint_is_never_resumed_against_another_destination() {
    let size = 3 * UNIT;
    let data = sim::source(size as usize, 5);
    let mut cfg = sim::file_api_config(size);
    cfg.chunking = Chunking::Fixed(UNIT);
    let mut server = Server::new();
    let run = sim::drive(
        &mut server,
        cfg.clone(),
        &data,
        |_, _| Fault::None,
        |_| false,
        4,
    );
    let cp = run.checkpoints.last().unwrap().clone();
    let mut other = sim::file_api_config(size);
    if let resumable_core::Target::FileApi(api) = &mut other.target {
        api.filename = "other.bin".into();
    }
    assert!(matches!(
        Upload::resume(other, cp.clone(), Instant::now(), wall0()),
        Err(Error::Source(SourceError::CheckpointMismatch(_)))
    ));
    let mut tampered = cp;
    tampered.persisted = size + 1;
    assert!(Upload::resume(cfg, tampered, Instant::now(), wall0()).is_err());
}

#[test]
fn set_total_below_what_was_sent_is_refused() {
    let (mut up, now) = raw(None);
    let q = next_request(&mut up, now);
    up.handle_response(q.id, response(308, &[], ""), now)
        .unwrap();
    let c = next_request(&mut up, now);
    assert_eq!(c.http.body(), &Body::Source(0..UNIT));
    up.handle_transport_error(
        c.id,
        &TransportError::new(TransportErrorKind::Reset, "injected"),
        now,
    )
    .unwrap();
    assert_eq!(up.set_total(10), Err(UsageError::TotalMismatch));
}

#[test]
fn a_rejected_goog_hash_is_an_integrity_error() {
    let data = sim::source(UNIT as usize, 2);
    let (mut up, now) = raw(Some(UNIT));
    up.feed_checksum(0, &data);
    let q = next_request(&mut up, now);
    up.handle_response(q.id, response(308, &[], ""), now)
        .unwrap();
    let c = next_request(&mut up, now);
    assert!(c.http.headers().contains_key("x-goog-hash"));
    up.handle_response(c.id, response(400, &[], "hash mismatch"), now)
        .unwrap();
    assert_eq!(
        failed(&mut up, now),
        Error::Integrity(IntegrityError::HashRejected)
    );
}

#[test]
fn an_upload_id_equal_to_the_session_credential_is_reported_redacted() {
    let (mut up, now) = raw(Some(UNIT));
    let q = next_request(&mut up, now);
    up.handle_response(
        q.id,
        response(308, &[("x-guploader-uploadid", "SECRETID")], ""),
        now,
    )
    .unwrap();
    let shown = format!("{:?}", up.poll_event());
    assert!(
        shown.contains("UploadId") && !shown.contains("SECRETID"),
        "{shown}"
    );
}

#[test]
fn a_servers_recommended_chunk_is_capped() {
    let cfg = sim::file_api_config(10);
    let now = Instant::now();
    let mut up = Upload::new(cfg, now, wall0()).unwrap();
    let s = next_request(&mut up, now);
    let body = r#"{"upload_url":"https://u.example/x?upload_id=1","gcs_path":"p","file_id":"f",
        "expires_at":"2099-01-01T00:00:00Z","max_file_size":50,"upload_type":"resumable",
        "chunk_size_recommended":1152921504606846976}"#;
    up.handle_response(s.id, response(200, &[], body), now)
        .unwrap();
    assert_eq!(up.chunk_size(), resumable_core::MAX_RECOMMENDED_CHUNK);
}

/// Polls past checkpoints, feeding every checksum request from `data`, to
/// the next action that is not one of them.
fn next_over(up: &mut Upload, now: Instant, data: &[u8]) -> Action {
    loop {
        match up.poll_action(now) {
            Action::Checkpoint(_) => {}
            Action::Checksum(r) => {
                up.feed_checksum(r.start, &data[r.start as usize..r.end as usize])
            }
            other => return other,
        }
    }
}

/// The next request, feeding every checksum request from `data`.
fn request_over(up: &mut Upload, now: Instant, data: &[u8]) -> Request {
    match next_over(up, now, data) {
        Action::Send(req) => req,
        other => panic!("expected a request, got {other:?}"),
    }
}

/// Runs a file-API upload of two chunks against the sim, cutting the body
/// of request `cut_at`'s answer to `keep` bytes.
fn run_with_cut_answer(cut_at: u64, keep: usize) -> (Server, sim::Run) {
    let size = 2 * UNIT;
    let data = sim::source(size as usize, 11);
    let mut cfg = sim::file_api_config(size);
    cfg.chunking = Chunking::Fixed(UNIT);
    let mut server = Server::new();
    let run = sim::drive(
        &mut server,
        cfg,
        &data,
        |n, _| {
            if n == cut_at {
                Fault::CutBody(keep)
            } else {
                Fault::None
            }
        },
        |_| false,
        200,
    );
    (server, run)
}

#[test]
fn a_final_object_cut_short_is_asked_for_again_not_a_failure() {
    // Requests: 0 upload-url, 1 chunk, 2 the final chunk, then the query.
    for keep in [0, 1, 20, 60] {
        let (server, run) = run_with_cut_answer(2, keep);
        let outcome = run
            .result
            .unwrap()
            .unwrap_or_else(|e| panic!("{keep}: {e}"));
        assert_eq!(outcome.object.size, 2 * UNIT);
        assert!(outcome.file.is_some(), "registered");
        assert_eq!(server.registrations.len(), 1);
        let final_at = run
            .transcript
            .iter()
            .position(|l| l.contains("bytes 262144-524287/524288"))
            .unwrap();
        assert!(
            run.transcript[final_at + 1..]
                .iter()
                .find(|l| l.starts_with("PUT"))
                .is_some_and(|l| l.starts_with("PUT bytes */524288 -> 200")),
            "a status query fetches the object again: {:#?}",
            run.transcript
        );
        assert!(run.events.iter().any(|e| matches!(
            e,
            Event::Retrying {
                cause: resumable_core::RetryCause::CutShort,
                ..
            }
        )));
    }
}

#[test]
fn a_status_answer_cut_short_is_a_protocol_error() {
    let size = UNIT;
    let (mut up, now) = raw(Some(size));
    let q = next_request(&mut up, now);
    assert_eq!(q.purpose, Purpose::Query);
    let cut = &zero_object(size)[..12];
    up.handle_response(q.id, response(200, &[], cut), now)
        .unwrap();
    assert_eq!(
        failed(&mut up, now),
        Error::Protocol(ProtocolError::CutShort {
            what: "final object"
        })
    );
    // A body that is whole but wrong is no doubt either.
    let (mut up, now) = raw(Some(size));
    let q = next_request(&mut up, now);
    up.handle_response(q.id, response(200, &[], r#"{"size":"x"}"#), now)
        .unwrap();
    assert!(matches!(
        failed(&mut up, now),
        Error::Protocol(ProtocolError::Json { .. })
    ));
}

#[test]
fn upload_url_and_register_answers_cut_short_are_asked_again() {
    // Request 0 is upload-url; request 3 is register (after two chunks).
    let (server, run) = run_with_cut_answer(0, 30);
    let outcome = run.result.unwrap().unwrap();
    assert!(outcome.file.is_some());
    assert_eq!(server.next_session, 2, "a second session was asked for");
    assert_eq!(server.registrations.len(), 1);

    let (server, run) = run_with_cut_answer(3, 5);
    let outcome = run.result.unwrap().unwrap();
    assert_eq!(
        run.transcript
            .iter()
            .filter(|l| l.starts_with("POST /v1/organizations/org/files "))
            .count(),
        2,
        "{:#?}",
        run.transcript
    );
    // The API registers a gcs_path once: the second answer is the same File.
    assert_eq!(server.files.len(), 1);
    let path = &server.registrations[0];
    assert_eq!(outcome.file.unwrap().id, server.files[path]);
}

/// A file-API upload of three units stopped after the first chunk, with the
/// source and its last checkpoint.
fn interrupted_after_one_chunk() -> (Config, Vec<u8>, Checkpoint) {
    let size = 3 * UNIT;
    let data = sim::source(size as usize, 21);
    let mut cfg = sim::file_api_config(size);
    cfg.chunking = Chunking::Fixed(UNIT);
    cfg.fingerprint = Some(Fingerprint {
        size,
        modified: Some(wall0()),
    });
    let mut server = Server::new();
    let run = sim::drive(
        &mut server,
        cfg.clone(),
        &data,
        |_, _| Fault::None,
        |_| false,
        4,
    );
    let cp = checkpoints_of(&run).pop().unwrap();
    assert_eq!((cp.persisted, cp.crc32c.through()), (UNIT, UNIT));
    (cfg, data, cp)
}

#[test]
fn a_resumed_upload_hashes_its_persisted_prefix_again_before_any_request() {
    let (cfg, data, cp) = interrupted_after_one_chunk();
    let now = Instant::now();
    let mut up = Upload::resume(cfg, cp, now, wall0()).unwrap();
    match up.poll_action(now) {
        Action::Checksum(r) => assert_eq!(r, 0..UNIT),
        other => panic!("the prefix is hashed first, got {other:?}"),
    }
    // Fed in one piece that runs past the checked prefix: checked, then kept.
    up.feed_checksum(0, &data[..(UNIT + 10) as usize]);
    let q = next_request(&mut up, now);
    assert_eq!(
        (q.purpose, header(&q, "content-range")),
        (Purpose::Query, "bytes */786432")
    );
}

#[test]
fn a_source_rewritten_with_its_fingerprint_kept_is_refused_on_resume() {
    let (cfg, data, cp) = interrupted_after_one_chunk();
    let mut rewritten = data.clone();
    rewritten[1000] ^= 0x40;
    let now = Instant::now();
    let mut up = Upload::resume(cfg.clone(), cp.clone(), now, wall0()).unwrap();
    assert!(
        matches!(
            next_over(&mut up, now, &rewritten),
            Action::Failed(Error::Source(SourceError::Changed))
        ),
        "refused before any request"
    );
    // The same for an upload whose bytes were all sent, waiting to register.
    let size = UNIT;
    let data = sim::source(size as usize, 22);
    let mut cfg = sim::file_api_config(size);
    cfg.fingerprint = Some(Fingerprint {
        size,
        modified: None,
    });
    let mut server = Server::new();
    let run = sim::drive(
        &mut server,
        cfg.clone(),
        &data,
        |_, _| Fault::None,
        |_| false,
        100,
    );
    let uploaded = run.checkpoints.iter().find(|c| c.object.is_some()).unwrap();
    let mut up = Upload::resume(cfg, uploaded.clone(), now, wall0()).unwrap();
    assert!(matches!(
        next_over(&mut up, now, &vec![0; size as usize]),
        Action::Failed(Error::Source(SourceError::Changed))
    ));
}

#[test]
fn the_prefix_check_can_be_turned_off_for_sources_that_cannot_be_read_again() {
    let (mut cfg, _, cp) = interrupted_after_one_chunk();
    cfg.verify_resumed_prefix = false;
    let now = Instant::now();
    let mut up = Upload::resume(cfg, cp, now, wall0()).unwrap();
    match up.poll_action(now) {
        Action::Send(q) => assert_eq!(q.purpose, Purpose::Query),
        other => panic!("expected the status query at once, got {other:?}"),
    }
}

fn initiate_with(preconditions: Preconditions, total: u64) -> (Upload, Instant) {
    let cfg = initiate_config("https://storage.example", "o", preconditions, total);
    let now = Instant::now();
    (Upload::new(cfg, now, wall0()).unwrap(), now)
}

fn initiate_config(
    endpoint: &str,
    object: &str,
    preconditions: Preconditions,
    total: u64,
) -> Config {
    let init = GcsInitiate {
        endpoint: endpoint.into(),
        bucket: "bk".into(),
        object: object.into(),
        preconditions,
        ..Default::default()
    };
    let mut cfg = Config::gcs_initiate(init, Some(total));
    cfg.chunking = Chunking::Fixed(UNIT);
    cfg
}

/// Initiates `up`'s session and sends its first chunk, which the server keeps.
fn initiate_and_persist_one_chunk(up: &mut Upload, now: Instant) {
    let i = next_request(up, now);
    up.handle_response(i.id, response(200, &[("location", SESSION)], ""), now)
        .unwrap();
    let c = next_request(up, now);
    up.handle_response(c.id, response(308, &[("range", "bytes=0-262143")], ""), now)
        .unwrap();
}

const PRECONDITION_FAILED: &str = r#"{"error":{"code":412,"reason":"conditionNotMet","message":"At least one of the pre-conditions you specified did not hold."}}"#;

fn precondition_failed() -> Error {
    Error::PreconditionFailed {
        message: "At least one of the pre-conditions you specified did not hold.".into(),
    }
}

#[test]
fn preconditions_are_query_parameters_of_the_initiation_in_a_fixed_order() {
    let all = Preconditions {
        if_generation_match: Some(0),
        if_generation_not_match: Some(1_700_000_000_000_001),
        if_metageneration_match: Some(1),
        if_metageneration_not_match: Some(-2),
    };
    let (mut up, now) = initiate_with(all, 3);
    let i = next_request(&mut up, now);
    assert_eq!(
        i.http.uri(),
        "https://storage.example/upload/storage/v1/b/bk/o?uploadType=resumable&name=o\
         &ifGenerationMatch=0&ifGenerationNotMatch=1700000000000001\
         &ifMetagenerationMatch=1&ifMetagenerationNotMatch=-2"
    );
    let (mut up, now) = initiate_with(Preconditions::object_absent(), 3);
    let i = next_request(&mut up, now);
    assert_eq!(
        i.http.uri(),
        "https://storage.example/upload/storage/v1/b/bk/o?uploadType=resumable&name=o&ifGenerationMatch=0"
    );
    // None set: the initiation is what it always was.
    let (mut up, now) = initiate_with(Preconditions::default(), 3);
    let i = next_request(&mut up, now);
    assert_eq!(
        i.http.uri(),
        "https://storage.example/upload/storage/v1/b/bk/o?uploadType=resumable&name=o"
    );
}

#[test]
fn a_412_on_the_initiation_is_precondition_failed_and_never_retried() {
    let (mut up, now) = initiate_with(Preconditions::object_absent(), 3);
    let i = next_request(&mut up, now);
    up.handle_response(i.id, response(412, &[], PRECONDITION_FAILED), now)
        .unwrap();
    assert_eq!(failed(&mut up, now), precondition_failed());
    // Sticky, even much later: no second request, no wait.
    let later = now + Duration::from_secs(3600);
    assert!(matches!(up.poll_action(later), Action::Failed(e) if e == precondition_failed()));
    assert!(up.session().is_none());
    let mut events = Vec::new();
    while let Some(e) = up.poll_event() {
        events.push(e);
    }
    assert!(
        !events.iter().any(|e| matches!(e, Event::Retrying { .. })),
        "{events:?}"
    );
}

#[test]
fn a_412_at_finalize_is_precondition_failed_and_nothing_counts_as_persisted() {
    // On the final chunk, and on the status query that would finalize.
    for via_query in [false, true] {
        let total = 2 * UNIT;
        let (mut up, now) = initiate_with(Preconditions::object_absent(), total);
        initiate_and_persist_one_chunk(&mut up, now);
        let last = next_request(&mut up, now);
        assert_eq!(header(&last, "content-range"), "bytes 262144-524287/524288");
        let answered = if via_query {
            up.handle_transport_error(
                last.id,
                &TransportError::new(TransportErrorKind::Reset, "injected"),
                now,
            )
            .unwrap();
            let later = match up.poll_action(now) {
                Action::Wait(until) => until,
                other => panic!("expected a wait, got {other:?}"),
            };
            let q = next_request(&mut up, later);
            assert_eq!(q.purpose, Purpose::Query);
            q
        } else {
            last
        };
        up.handle_response(answered.id, response(412, &[], PRECONDITION_FAILED), now)
            .unwrap();
        assert_eq!(failed(&mut up, now), precondition_failed(), "{via_query}");
        assert_eq!(up.persisted(), UNIT, "the refused bytes count for nothing");
        let later = now + Duration::from_secs(3600);
        assert!(matches!(up.poll_action(later), Action::Failed(e) if e == precondition_failed()));
        let mut events = Vec::new();
        while let Some(e) = up.poll_event() {
            events.push(e);
        }
        assert!(
            !events.iter().any(|e| matches!(
                e,
                Event::Finalized { .. }
                    | Event::Persisted {
                        offset: 524_288,
                        ..
                    }
            )),
            "{events:?}"
        );
    }
}

#[test]
fn a_rewritten_source_starts_over_cleanly_when_its_session_expired() {
    // Nothing the server kept will be used, so nothing old is checked: the
    // new bytes are all sent and hashed anew.
    let (cfg, data, cp) = interrupted_after_one_chunk();
    let mut rewritten = data.clone();
    rewritten[1000] ^= 0x40;
    let now = Instant::now();
    let later = wall0() + Duration::from_secs(8 * 24 * 3600);
    let mut up = Upload::resume(cfg, cp, now, later).unwrap();
    let create = request_over(&mut up, now, &rewritten);
    assert_eq!(create.purpose, Purpose::CreateSession);
    assert_eq!(
        up.checkpoint().crc32c.through(),
        0,
        "the old hash is dropped"
    );
}

#[test]
fn a_checkpoint_taken_while_the_prefix_is_checked_keeps_the_stored_hash() {
    let (cfg, data, cp) = interrupted_after_one_chunk();
    let now = Instant::now();
    let mut up = Upload::resume(cfg, cp.clone(), now, wall0()).unwrap();
    assert!(matches!(up.poll_action(now), Action::Checksum(_)));
    // The driver's read fails part way, and it saves where it stands.
    up.feed_checksum(0, &data[..1000]);
    assert_eq!(up.checkpoint().crc32c, cp.crc32c);
}

#[test]
fn cancel_of_a_resumed_upload_deletes_its_session_without_reading_the_source() {
    let (cfg, _, cp) = interrupted_after_one_chunk();
    let now = Instant::now();
    let mut up = Upload::resume(cfg, cp, now, wall0()).unwrap();
    up.cancel();
    match up.poll_action(now) {
        Action::Send(req) => assert_eq!(req.purpose, Purpose::Cancel),
        other => panic!("expected the DELETE, got {other:?}"),
    }
}

// --- checkpoint formats ---------------------------------------------------

fn mismatch(result: Result<Upload, Error>) -> &'static str {
    match result {
        Err(Error::Source(SourceError::CheckpointMismatch(why))) => why,
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("resumed"),
    }
}

#[test]
fn a_checkpoint_names_its_protocol_flow_and_file_api_session_in_typed_fields() {
    let (cfg, data, cp) = interrupted_after_one_chunk();
    assert_eq!((cp.format, cp.protocol), (2, Protocol::Gcs));
    assert_eq!(
        cp.flow,
        Flow::FileApi {
            api_base: sim::API.into(),
            organization: "org".into(),
            filename: "data.bin".into(),
            mime_type: "application/octet-stream".into(),
        }
    );
    let file_api = cp.file_api.clone().unwrap();
    assert_eq!(file_api.gcs_path, "files/org/file_1/data.bin");
    assert_eq!(file_api.upload_type.as_deref(), Some("resumable"));
    let read: Checkpoint = serde_json::from_str(&serde_json::to_string(&cp).unwrap()).unwrap();
    assert_eq!(read, cp);
    let now = Instant::now();
    let mut up = Upload::resume(cfg, read, now, wall0()).unwrap();
    assert_eq!(request_over(&mut up, now, &data).purpose, Purpose::Query);
}

#[test]
fn a_format_1_checkpoint_resumes_by_its_text_and_its_successors_are_typed() {
    let (cfg, data, cp) = interrupted_after_one_chunk();
    let session = cp.session.clone().unwrap();
    let file_api = cp.file_api.clone().unwrap();
    let v1 = |flow: &str, target: &str| {
        let json = serde_json::json!({
            "format": 1, "flow": flow, "target": target,
            "session": {
                "upload_url": session.upload_url, "gcs_path": file_api.gcs_path,
                "file_id": file_api.file_id, "expires_at": session.expires_at,
                "chunk_size": session.chunk_size,
            },
            "total": cp.total, "persisted": cp.persisted, "crc32c": cp.crc32c,
            "fingerprint": cp.fingerprint, "object": null, "restarts": 0,
        });
        serde_json::from_value::<Checkpoint>(json).unwrap()
    };
    let own = "file-api https://api.sim org data.bin application/octet-stream";
    // Format 1 ignored a trailing `/` of the base too.
    let mut slashed = cfg.clone();
    if let resumable_core::Target::FileApi(api) = &mut slashed.target {
        api.api_base.push('/');
    }
    let now = Instant::now();
    let mut up = Upload::resume(slashed, v1("file_api", own), now, wall0()).unwrap();
    let q = request_over(&mut up, now, &data);
    assert_eq!(
        (q.purpose, q.http.uri().to_string()),
        (Purpose::Query, session.upload_url.expose().to_owned())
    );
    up.handle_response(q.id, response(308, &[("range", "bytes=0-262143")], ""), now)
        .unwrap();
    let c = request_over(&mut up, now, &data);
    assert_eq!(c.http.body(), &Body::Source(UNIT..2 * UNIT));
    up.handle_response(c.id, response(308, &[("range", "bytes=0-524287")], ""), now)
        .unwrap();
    let next = up.checkpoint();
    assert_eq!((next.format, &next.flow), (2, &cp.flow));
    assert_eq!(
        (next.persisted, next.file_api),
        (
            2 * UNIT,
            Some(FileApiSession {
                upload_type: None,
                ..file_api.clone()
            })
        )
    );

    let other = "file-api https://api.sim org other.bin application/octet-stream";
    let resume = |cp: Checkpoint| mismatch(Upload::resume(cfg.clone(), cp, now, wall0()));
    assert_eq!(
        resume(v1("file_api", other)),
        "written for another destination"
    );
    assert_eq!(resume(v1("gcs", own)), "written by another kind of upload");
}

#[test]
fn formats_and_layouts_that_do_not_go_together_are_refused() {
    let (cfg, _, cp) = interrupted_after_one_chunk();
    let resume =
        |cp: Checkpoint| mismatch(Upload::resume(cfg.clone(), cp, Instant::now(), wall0()));
    for format in [0, 1, 3, 99] {
        let unknown = Checkpoint {
            format,
            ..cp.clone()
        };
        assert_eq!(resume(unknown), "unknown checkpoint format", "{format}");
    }
    let text_as_2 = Checkpoint {
        flow: Flow::Format1 {
            flow: Format1Flow::FileApi,
            target: "file-api https://api.sim org data.bin application/octet-stream".into(),
        },
        ..cp
    };
    assert_eq!(resume(text_as_2), "unknown checkpoint format");
}

#[test]
fn an_initiated_upload_resumes_by_endpoint_bucket_and_object_only() {
    let total = 2 * UNIT;
    let now = Instant::now();
    let cfg = initiate_config(
        "https://storage.example",
        "dir/a.bin",
        Preconditions::default(),
        total,
    );
    let mut up = Upload::new(cfg, now, wall0()).unwrap();
    initiate_and_persist_one_chunk(&mut up, now);
    let cp = up.checkpoint();
    assert_eq!(
        cp.flow,
        Flow::GcsInitiate {
            endpoint: "https://storage.example".into(),
            bucket: "bk".into(),
            object: "dir/a.bin".into(),
        }
    );
    assert_eq!((cp.persisted, cp.file_api.clone()), (UNIT, None));

    // Another trailing `/`, other preconditions: the same destination.
    let same = initiate_config(
        "https://storage.example/",
        "dir/a.bin",
        Preconditions::object_absent(),
        total,
    );
    let mut up = Upload::resume(same, cp.clone(), now, wall0()).unwrap();
    let q = next_request(&mut up, now);
    assert_eq!(
        (q.purpose, q.http.uri().to_string()),
        (Purpose::Query, SESSION.into())
    );
    let elsewhere = initiate_config(
        "https://storage.example",
        "dir/b.bin",
        Preconditions::default(),
        total,
    );
    assert_eq!(
        mismatch(Upload::resume(elsewhere, cp.clone(), now, wall0())),
        "written for another destination"
    );
    let bare = Config::gcs_session(SessionUrl::new(SESSION), Some(total));
    assert_eq!(
        mismatch(Upload::resume(bare, cp, now, wall0())),
        "written by another kind of upload"
    );
}

#[test]
fn a_bare_session_is_named_by_a_hash_never_by_its_url() {
    let (up, now) = raw(Some(2 * UNIT));
    let cp = up.checkpoint();
    assert_eq!(
        cp.flow,
        Flow::GcsSession {
            url_crc32c: crc32c::crc32c(SESSION.as_bytes())
        }
    );
    let identity = format!("{} {:?}", serde_json::to_string(&cp.flow).unwrap(), cp.flow);
    for secret in [SESSION, "SECRETID", "upload.example"] {
        assert!(!identity.contains(secret), "{identity}");
    }
    let again = Config::gcs_session(SessionUrl::new(SESSION), Some(2 * UNIT));
    assert!(Upload::resume(again, cp.clone(), now, wall0()).is_ok());
    let other = Config::gcs_session(
        SessionUrl::new(SESSION.replace("SECRETID", "OTHER")),
        Some(2 * UNIT),
    );
    assert_eq!(
        mismatch(Upload::resume(other, cp, now, wall0())),
        "written for another destination"
    );
}

// --- what the core decides for every driver ----------------------------------

/// A file-API upload of `size` bytes in `UNIT` chunks without faults, done.
fn clean_file_api_run(size: u64) -> sim::Run {
    let mut cfg = sim::file_api_config(size);
    cfg.chunking = Chunking::Fixed(UNIT);
    let data = sim::source(size as usize, 8);
    let run = sim::drive(
        &mut Server::new(),
        cfg,
        &data,
        |_, _| Fault::None,
        |_| false,
        100,
    );
    assert!(matches!(run.result, Some(Ok(_))));
    run
}

/// A bare session upload of `total` bytes whose first status query got
/// `answer`.
fn queried(total: Option<u64>, answer: http::Response<Bytes>) -> (Upload, Instant) {
    let (mut up, now) = raw(total);
    let q = next_request(&mut up, now);
    up.handle_response(q.id, answer, now).unwrap();
    (up, now)
}

/// A GCS initiation of a 1-byte object at `endpoint`.
fn initiate(endpoint: &str) -> Config {
    let init = GcsInitiate {
        endpoint: endpoint.into(),
        bucket: "b".into(),
        object: "o".into(),
        ..Default::default()
    };
    Config::gcs_initiate(init, Some(1))
}

fn session_body(upload_url: &str) -> String {
    format!(
        r#"{{"upload_url":"{upload_url}","gcs_path":"p","file_id":"f",
        "expires_at":"2099-01-01T00:00:00Z","max_file_size":50,"upload_type":"resumable",
        "chunk_size_recommended":262144}}"#
    )
}

#[test]
fn a_stream_is_read_ahead_a_chunk_and_a_byte_past_the_persisted_offset() {
    let (mut up, now) = raw(None);
    let Action::ReadAhead { to } = up.poll_action(now) else {
        panic!("a stream is read ahead before the first request")
    };
    assert_eq!(to, UNIT + 1);
    up.handle_read_ahead(None).unwrap();
    // Asked once per offset: the query and the first chunk need no more.
    let Action::Send(q) = up.poll_action(now) else {
        panic!("expected the status query")
    };
    assert_eq!(header(&q, "content-range"), "bytes */*");
    up.handle_response(q.id, response(308, &[], ""), now)
        .unwrap();
    let Action::Send(c) = up.poll_action(now) else {
        panic!("expected the first chunk")
    };
    assert_eq!(header(&c, "content-range"), "bytes 0-262143/*");
    up.feed_checksum(0, &vec![0; UNIT as usize]);
    up.handle_response(c.id, response(308, &[("range", "bytes=0-262143")], ""), now)
        .unwrap();
    assert!(matches!(up.poll_action(now), Action::Checkpoint(_)));
    let Action::ReadAhead { to } = up.poll_action(now) else {
        panic!("read ahead again once the offset moved")
    };
    assert_eq!(to, 2 * UNIT + 1);
    up.handle_read_ahead(Some(UNIT + 5)).unwrap();
    assert_eq!(up.total(), Some(UNIT + 5));
    // The end found, the next chunk is the last, and nothing is read ahead.
    let c = next_request(&mut up, now);
    assert_eq!(header(&c, "content-range"), "bytes 262144-262148/262149");
    up.handle_response(c.id, response(201, &[], &zero_object(UNIT + 5)), now)
        .unwrap();
    assert_eq!(done(&mut up, now).object.size, UNIT + 5);

    // A source of known size is never read ahead.
    let run = clean_file_api_run(3 * UNIT);
    assert!(run.read_aheads.is_empty(), "{:?}", run.read_aheads);
}

#[test]
fn a_stream_ending_below_what_the_server_holds_fails_typed_keeping_its_checkpoint() {
    let (mut up, now) = queried(None, response(308, &[], ""));
    let c = next_request(&mut up, now);
    up.handle_response(c.id, response(308, &[("range", "bytes=0-262143")], ""), now)
        .unwrap();
    assert!(matches!(up.poll_action(now), Action::Checkpoint(_)));
    assert!(matches!(up.poll_action(now), Action::ReadAhead { to } if to == 2 * UNIT + 1));
    up.handle_read_ahead(Some(10)).unwrap();
    let Action::Checkpoint(kept) = up.poll_action(now) else {
        panic!("the checkpoint to keep comes before the end")
    };
    assert_eq!(kept.persisted, UNIT);
    let ended = Error::Source(SourceError::EndedEarly {
        total: 10,
        held: UNIT,
    });
    assert!(matches!(up.poll_action(now), Action::Failed(e) if e == ended));
    assert!(matches!(up.poll_action(now), Action::Failed(e) if e == ended));
}

#[test]
fn the_checkpoint_is_removed_when_done_or_the_session_is_gone_and_kept_otherwise() {
    // Done: removed once, after the last checkpoint, before the end.
    let run = clean_file_api_run(2 * UNIT + 7);
    assert_eq!(run.removals, 1);

    // A bare session that is gone cannot be replaced: nothing to resume.
    let (mut up, now) = queried(Some(UNIT), response(404, &[], ""));
    assert!(matches!(up.poll_action(now), Action::RemoveCheckpoint));
    for _ in 0..2 {
        assert!(matches!(
            up.poll_action(now),
            Action::Failed(Error::SessionGone)
        ));
    }

    // Cancelled: the session is deleted, and so is the checkpoint.
    let (mut up, now) = queried(Some(UNIT), response(308, &[], ""));
    up.cancel();
    let d = next_request(&mut up, now);
    assert_eq!((d.purpose, d.check_source), (Purpose::Cancel, false));
    up.handle_response(d.id, response(499, &[], ""), now)
        .unwrap();
    assert!(matches!(up.poll_action(now), Action::RemoveCheckpoint));
    assert!(matches!(
        up.poll_action(now),
        Action::Failed(Error::Cancelled)
    ));

    // Refused: the session may be fine, the checkpoint stays.
    let (mut up, now) = queried(Some(UNIT), response(403, &[], ""));
    assert!(matches!(
        up.poll_action(now),
        Action::Failed(Error::Rejected { status: 403, .. })
    ));
}

#[test]
fn a_source_failure_abandons_the_request_and_hands_out_the_checkpoint_to_keep() {
    let (mut up, now) = queried(
        Some(2 * UNIT),
        response(308, &[("range", "bytes=0-262143")], ""),
    );
    let c = next_request(&mut up, now);
    assert_eq!(c.http.body(), &Body::Source(UNIT..2 * UNIT));
    up.handle_source_error();
    let Action::Checkpoint(kept) = up.poll_action(now) else {
        panic!("the checkpoint to keep comes before the end")
    };
    assert_eq!(kept.persisted, UNIT);
    assert_eq!(failed(&mut up, now), Error::Source(SourceError::Unreadable));
    // The abandoned request's late answer changes nothing.
    assert_eq!(
        up.handle_response(c.id, response(200, &[], &zero_object(2 * UNIT)), now),
        Err(UsageError::UnknownRequest)
    );
    assert_eq!(failed(&mut up, now), Error::Source(SourceError::Unreadable));
}

#[test]
fn an_interrupt_hands_out_the_checkpoint_then_ends_interrupted() {
    let (mut up, now) = queried(Some(UNIT), response(503, &[], ""));
    assert!(matches!(up.poll_action(now), Action::Wait(_)));
    up.interrupt();
    let Action::Checkpoint(kept) = up.poll_action(now) else {
        panic!("the checkpoint to keep comes before the end")
    };
    assert_eq!(kept.persisted, 0);
    assert!(matches!(
        up.poll_action(now),
        Action::Failed(Error::Interrupted)
    ));
    // Ended is ended: a later source failure changes nothing.
    up.handle_source_error();
    assert!(matches!(
        up.poll_action(now),
        Action::Failed(Error::Interrupted)
    ));
}

#[test]
fn the_source_is_checked_before_data_and_register_only() {
    let now = Instant::now();
    let mut up = Upload::new(sim::file_api_config(10), now, wall0()).unwrap();
    let s = next_request(&mut up, now);
    assert_eq!((s.purpose, s.check_source), (Purpose::CreateSession, false));
    let body = session_body("https://u.example/x?upload_id=1");
    up.handle_response(s.id, response(200, &[], &body), now)
        .unwrap();
    let c = next_request(&mut up, now);
    assert_eq!((c.purpose, c.check_source), (Purpose::Chunk, true));
    up.handle_response(c.id, response(503, &[], ""), now)
        .unwrap();
    let Action::Wait(later) = up.poll_action(now) else {
        panic!("expected a backoff")
    };
    let q = next_request(&mut up, later);
    assert_eq!((q.purpose, q.check_source), (Purpose::Query, false));
    up.handle_response(q.id, response(200, &[], &zero_object(10)), later)
        .unwrap();
    let r = next_request(&mut up, later);
    assert_eq!((r.purpose, r.check_source), (Purpose::Register, true));

    let mut up = Upload::new(initiate("https://storage.example"), now, wall0()).unwrap();
    let i = next_request(&mut up, now);
    assert_eq!((i.purpose, i.check_source), (Purpose::Initiate, false));
}

#[test]
fn plain_http_is_refused_before_any_request_except_to_loopback_or_when_allowed() {
    let now = Instant::now();
    let new = |cfg: Config| Upload::new(cfg, now, wall0());
    let insecure = |host: &str| Error::Insecure { host: host.into() };
    let session = |url: &str| Config::gcs_session(SessionUrl::new(url), Some(1));
    assert_eq!(
        new(session("http://upload.example/x?upload_id=1")).unwrap_err(),
        insecure("upload.example")
    );
    let mut api = sim::file_api_config(10);
    if let resumable_core::Target::FileApi(a) = &mut api.target {
        a.api_base = "http://api.example".into();
    }
    assert_eq!(new(api.clone()).unwrap_err(), insecure("api.example"));
    assert_eq!(
        new(initiate("http://storage.example")).unwrap_err(),
        insecure("storage.example")
    );

    assert!(new(session("http://127.0.0.1:9/x?upload_id=1")).is_ok());
    assert!(new(session("http://[::1]:9/x?upload_id=1")).is_ok());
    api.allow_insecure_http = true;
    let mut up = new(api).unwrap();
    let s = next_request(&mut up, now);
    assert_eq!(s.http.uri().host(), Some("api.example"));
}

#[test]
fn a_plain_http_url_a_server_hands_out_ends_the_upload_before_anything_goes_to_it() {
    let now = Instant::now();
    let insecure = Error::Insecure {
        host: "uploads.example".into(),
    };
    // The file API's upload_url (`failed` panics on any request).
    let mut up = Upload::new(sim::file_api_config(10), now, wall0()).unwrap();
    let s = next_request(&mut up, now);
    let body = session_body("http://uploads.example/x?upload_id=1");
    up.handle_response(s.id, response(200, &[], &body), now)
        .unwrap();
    assert_eq!(failed(&mut up, now), insecure);
    assert!(up.session().is_none(), "the refused session is not kept");

    // A GCS initiation's Location.
    let mut up = Upload::new(initiate("https://storage.example"), now, wall0()).unwrap();
    let i = next_request(&mut up, now);
    let location = [("location", "http://uploads.example/u?upload_id=1")];
    up.handle_response(i.id, response(200, &location, ""), now)
        .unwrap();
    assert_eq!(failed(&mut up, now), insecure);

    // A session kept in a checkpoint while http was allowed, resumed
    // without: refused when a request to it would be built.
    let mut allowed = sim::file_api_config(10);
    allowed.allow_insecure_http = true;
    let mut up = Upload::new(allowed, now, wall0()).unwrap();
    let s = next_request(&mut up, now);
    up.handle_response(s.id, response(200, &[], &body), now)
        .unwrap();
    let Action::Checkpoint(cp) = up.poll_action(now) else {
        panic!("the new session is checkpointed")
    };
    let mut up = Upload::resume(sim::file_api_config(10), cp, now, wall0()).unwrap();
    assert_eq!(failed(&mut up, now), insecure);
}

/// The `TransferStarted` offsets of a run, in order.
fn transfer_starts(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::TransferStarted { offset, .. } => Some(*offset),
            _ => None,
        })
        .collect()
}

#[test]
fn a_transfer_starts_once_per_session_at_the_offset_it_resumes_from() {
    let size = 4 * UNIT as usize;
    let data = sim::source(size, 3);
    let mut cfg = sim::file_api_config(size as u64);
    cfg.chunking = Chunking::Fixed(UNIT);
    // A retried chunk is not a new start.
    let mut server = Server::new();
    let run = sim::drive(
        &mut server,
        cfg.clone(),
        &data,
        |n, _| {
            if n == 3 {
                Fault::Status(503, None)
            } else {
                Fault::None
            }
        },
        |_| false,
        200,
    );
    assert!(run.result.clone().unwrap().is_ok(), "{:#?}", run.transcript);
    assert_eq!(transfer_starts(&run.events), [0]);
    assert!(matches!(
        run.events.iter().find(|e| matches!(e, Event::TransferStarted { .. })),
        Some(Event::TransferStarted { total: Some(t), .. }) if *t == size as u64
    ));

    // Killed after two chunks: the next process starts where the server stopped.
    let mut server = Server::new();
    let run = sim::drive(
        &mut server,
        cfg,
        &data,
        |_, _| Fault::None,
        |step| step == 5,
        200,
    );
    assert_eq!(run.crashes, 1, "{:#?}", run.transcript);
    assert!(run.result.clone().unwrap().is_ok(), "{:#?}", run.transcript);
    let starts = transfer_starts(&run.events);
    assert_eq!(starts.len(), 2, "{starts:?}\n{:#?}", run.transcript);
    assert_eq!(starts[0], 0);
    assert!(
        starts[1] > 0 && starts[1].is_multiple_of(UNIT),
        "{starts:?}\n{:#?}",
        run.transcript
    );
}
