//! Resumable Uploads for HTTP (the IETF draft): the core driven by hand,
//! each scenario's server answers scripted, one rule of the draft each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use resumable_core::{
    Action, Body, Checkpoint, Chunking, Config, Error, Event, IetfCreate, IetfStrategy,
    IntegrityError, InteropVersion, Outcome, Protocol, SessionUrl, TransportError,
    TransportErrorKind, Upload, UploadProblem,
};
use sha2::Digest as _;

const ENDPOINT: &str = "https://example.com/project/123/files";
const UPLOAD: &str = "https://example.com/upload/abc";

/// One answer of the scripted server: interim responses, then a final one
/// or a broken connection.
struct Reply {
    interims: Vec<(u16, Vec<(&'static str, String)>)>,
    end: End,
}

enum End {
    Final(u16, Vec<(&'static str, String)>, &'static str),
    Reset,
}

fn answer(status: u16, headers: &[(&'static str, &str)]) -> Reply {
    Reply {
        interims: Vec::new(),
        end: End::Final(status, own(headers), ""),
    }
}

/// A `204` to an append that kept all of it, complete when the request
/// completed the upload.
fn appended(req: &http::Request<Body>) -> Reply {
    let complete = req.headers()["upload-complete"].to_str().unwrap();
    answer(204, &[("upload-complete", complete)])
}

fn own(headers: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    headers.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

fn response(
    status: u16,
    headers: &[(&'static str, String)],
    body: &'static str,
) -> http::Response<Bytes> {
    let mut r = http::Response::builder().status(status);
    for (k, v) in headers {
        r = r.header(*k, v.as_str());
    }
    r.body(Bytes::from_static(body.as_bytes())).unwrap()
}

/// What a run did: each request as a line, the events, the outcome, the
/// last checkpoint.
struct Run {
    lines: Vec<String>,
    events: Vec<Event>,
    result: Result<Outcome, Error>,
    checkpoint: Option<Checkpoint>,
    /// How many checkpoints the upload handed out.
    checkpoints: usize,
    /// Each request's headers, in order.
    heads: Vec<http::HeaderMap>,
}

/// A request as a line: method, path and the draft's fields.
fn line(req: &http::Request<Body>) -> String {
    let mut s = format!("{} {}", req.method(), req.uri().path());
    for name in [
        "upload-complete",
        "upload-offset",
        "content-length",
        "upload-length",
    ] {
        if let Some(v) = req.headers().get(name) {
            s.push_str(&format!(" {name}={}", v.to_str().unwrap()));
        }
    }
    s
}

fn drive(
    up: &mut Upload,
    data: &[u8],
    serve: impl FnMut(usize, &http::Request<Body>) -> Reply,
) -> Run {
    drive_paced(up, data, Duration::ZERO, serve)
}

/// [`drive`], with each answer arriving `pace` after its request.
fn drive_paced(
    up: &mut Upload,
    data: &[u8],
    pace: Duration,
    mut serve: impl FnMut(usize, &http::Request<Body>) -> Reply,
) -> Run {
    let mut now = Instant::now();
    let mut run = Run {
        lines: Vec::new(),
        events: Vec::new(),
        result: Err(Error::Cancelled),
        checkpoint: None,
        checkpoints: 0,
        heads: Vec::new(),
    };
    for _ in 0..200 {
        match up.poll_action(now) {
            Action::Send(req) => {
                let n = run.lines.len();
                run.lines.push(line(&req.http));
                run.heads.push(req.http.headers().clone());
                if let Body::Source(r) = req.http.body() {
                    up.feed_checksum(r.start, &data[r.start as usize..r.end as usize]);
                }
                let reply = serve(n, &req.http);
                now += pace;
                for (status, headers) in &reply.interims {
                    let map = response(*status, headers, "").headers().clone();
                    let status = http::StatusCode::from_u16(*status).unwrap();
                    up.handle_informational(req.id, status, &map, now).unwrap();
                }
                // An interim response can make the engine abandon the
                // request; its answer is then taken and ignored.
                let answered = match reply.end {
                    End::Final(status, headers, body) => {
                        up.handle_response(req.id, response(status, &headers, body), now)
                    }
                    End::Reset => {
                        let error = TransportError::new(TransportErrorKind::Reset, "reset");
                        up.handle_transport_error(req.id, &error, now)
                    }
                };
                answered.expect("the request in flight, or the one abandoned");
            }
            Action::Checksum(r) => {
                up.feed_checksum(r.start, &data[r.start as usize..r.end as usize])
            }
            Action::Checkpoint(cp) => {
                run.checkpoints += 1;
                run.checkpoint = Some(cp);
            }
            Action::RemoveCheckpoint => run.checkpoint = None,
            Action::Wait(until) => now = until,
            Action::Done(outcome) => {
                run.result = Ok(outcome);
                break;
            }
            Action::Failed(error) => {
                run.result = Err(error);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
        while let Some(event) = up.poll_event() {
            run.events.push(event);
        }
    }
    while let Some(event) = up.poll_event() {
        run.events.push(event);
    }
    run
}

fn source(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn wall0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn config(strategy: IetfStrategy, interop: InteropVersion, total: u64, chunk: u64) -> Config {
    let create = IetfCreate {
        strategy,
        interop,
        ..IetfCreate::new(ENDPOINT)
    };
    let mut cfg = Config::ietf_create(create, Some(total));
    cfg.chunking = Chunking::Fixed(chunk);
    cfg.jitter_seed = 7;
    cfg
}

fn upload(cfg: Config) -> Upload {
    Upload::new(cfg, Instant::now(), wall0()).unwrap()
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn sha256_field(data: &[u8]) -> String {
    use base64::Engine as _;
    let digest = sha2::Sha256::digest(data);
    format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

fn persisted(run: &Run) -> Vec<u64> {
    run.events
        .iter()
        .filter_map(|e| match e {
            Event::Persisted { offset, .. } => Some(*offset),
            _ => None,
        })
        .collect()
}

#[test]
fn careful_creation_then_appends_then_the_target_resources_answer() {
    let data = source(250);
    let mut up = upload(config(IetfStrategy::Careful, InteropVersion::V8, 250, 100));
    let run = drive(&mut up, &data, |n, _| match n {
        0 => answer(
            201,
            &[
                ("location", "/upload/abc"),
                ("upload-complete", "?0"),
                ("upload-limit", "max-size=1000, max-age=3600"),
            ],
        ),
        1 | 2 => answer(204, &[("upload-complete", "?0")]),
        _ => answer(
            200,
            &[
                ("upload-complete", "?1"),
                ("content-type", "application/json"),
            ],
        ),
    });
    assert_eq!(
        run.lines,
        lines(
            "POST /project/123/files upload-complete=?0 content-length=0 upload-length=250
             PATCH /upload/abc upload-complete=?0 upload-offset=0 content-length=100
             PATCH /upload/abc upload-complete=?0 upload-offset=100 content-length=100
             PATCH /upload/abc upload-complete=?1 upload-offset=200 content-length=50"
        )
    );
    let outcome = run.result.as_ref().unwrap();
    assert_eq!(outcome.object.size, 250);
    assert_eq!(outcome.sha256, Some(sha2::Sha256::digest(&data).into()));
    assert_eq!(persisted(&run), [100, 200, 250]);
    for head in &run.heads {
        assert_eq!(head["upload-draft-interop-version"], "8");
    }
    assert_eq!(run.heads[1]["content-type"], "application/partial-upload");
    // Only the completing request carries the representation's digest.
    assert!(
        run.heads[..3]
            .iter()
            .all(|h| h.get("repr-digest").is_none())
    );
    assert_eq!(run.heads[3]["repr-digest"], sha256_field(&data).as_str());
    // `max-age` is the session's expiry.
    let started = run.events.iter().find_map(|e| match e {
        Event::SessionStarted { expires_at, .. } => Some(*expires_at),
        _ => None,
    });
    assert!(started.is_some());
}

#[test]
fn an_optimistic_creation_made_resumable_by_a_104_resumes_with_head() {
    let data = source(1000);
    let mut cfg = config(IetfStrategy::Optimistic, InteropVersion::V8, 1000, 10_000);
    cfg.chunking = Chunking::SingleRequest;
    let mut up = upload(cfg);
    let run = drive(&mut up, &data, |n, req| match n {
        0 => {
            assert_eq!(req.headers()["upload-complete"], "?1");
            assert_eq!(req.headers()["repr-digest"], sha256_field(&data).as_str());
            Reply {
                interims: vec![
                    (
                        104,
                        own(&[
                            ("upload-draft-interop-version", "8"),
                            ("location", "https://example.com/upload/abc"),
                            ("upload-limit", "max-size=100000"),
                        ]),
                    ),
                    (
                        104,
                        own(&[
                            ("upload-draft-interop-version", "8"),
                            ("upload-offset", "400"),
                        ]),
                    ),
                ],
                end: End::Reset,
            }
        }
        1 => answer(204, &[("upload-offset", "600"), ("upload-complete", "?0")]),
        _ => answer(201, &[("upload-complete", "?1")]),
    });
    assert_eq!(
        run.lines,
        lines(
            "POST /project/123/files upload-complete=?1 content-length=1000 upload-length=1000
             HEAD /upload/abc
             PATCH /upload/abc upload-complete=?1 upload-offset=600 content-length=400"
        )
    );
    assert_eq!(run.result.as_ref().unwrap().object.size, 1000);
    // The 104's offset was progress, the HEAD's more.
    assert_eq!(persisted(&run), [400, 600, 1000]);
    assert_eq!(run.heads[2]["repr-digest"], sha256_field(&data).as_str());
}

/// A careful creation of `data` in appends of 100, its completing append
/// answered by `last` (and a `HEAD` after it by `query`).
fn careful_run(data: &[u8], mut last: impl FnMut(usize) -> Reply) -> Run {
    let total = data.len() as u64;
    let mut up = upload(config(
        IetfStrategy::Careful,
        InteropVersion::V8,
        total,
        100,
    ));
    drive(&mut up, data, |n, req| match n {
        0 => answer(201, &[("location", UPLOAD), ("upload-complete", "?0")]),
        _ if req
            .headers()
            .get("upload-complete")
            .is_some_and(|c| c == "?0") =>
        {
            appended(req)
        }
        _ => last(n),
    })
}

#[test]
fn a_servers_repr_digest_of_the_complete_upload_is_compared_with_the_sources() {
    let data = source(250);
    let other = sha256_field(b"what the server stored instead");
    // §10.1: the server computes the digest of what it stored.
    let run = careful_run(&data, |_| {
        answer(200, &[("upload-complete", "?1"), ("repr-digest", &other)])
    });
    assert!(
        matches!(run.result, Err(Error::Integrity(IntegrityError::Sha256))),
        "{:?}",
        run.result
    );
    assert!(
        run.result
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("Repr-Digest")
    );
    let good = sha256_field(&data);
    let run = careful_run(&data, |_| {
        answer(200, &[("upload-complete", "?1"), ("repr-digest", &good)])
    });
    let outcome = run.result.unwrap();
    let sha256: [u8; 32] = sha2::Sha256::digest(&data).into();
    assert_eq!(outcome.object.sha256.as_deref(), Some(&sha256));
    // A digest field with no SHA-256 in it is not compared.
    let run = careful_run(&data, |_| {
        answer(
            200,
            &[("upload-complete", "?1"), ("repr-digest", "sha-512=:AAAA:")],
        )
    });
    assert_eq!(run.result.unwrap().object.sha256, None);
}

#[test]
fn a_head_after_a_lost_completion_is_compared_by_its_repr_digest() {
    let data = source(250);
    let other = sha256_field(b"what the server stored instead");
    let run = careful_run(&data, |n| match n {
        3 => Reply {
            interims: Vec::new(),
            end: End::Reset,
        },
        _ => answer(
            204,
            &[
                ("upload-offset", "250"),
                ("upload-complete", "?1"),
                ("repr-digest", &other),
            ],
        ),
    });
    assert_eq!(run.lines.last().unwrap(), "HEAD /upload/abc");
    assert!(
        matches!(run.result, Err(Error::Integrity(IntegrityError::Sha256))),
        "{:?}",
        run.result
    );
}

#[test]
fn the_104_checkpoint_resumes_in_a_new_process_with_the_same_version() {
    let data = source(500);
    let cfg = || config(IetfStrategy::Optimistic, InteropVersion::V6, 500, 500);
    let mut up = upload(cfg());
    let first = drive(&mut up, &data, |_, _| Reply {
        interims: vec![(
            104,
            own(&[("upload-draft-interop-version", "6"), ("location", UPLOAD)]),
        )],
        end: End::Reset,
    });
    // The run goes on retrying; its checkpoint names the upload resource.
    let cp = first.checkpoint.expect("a checkpoint after the 104");
    assert_eq!(
        cp.protocol,
        Protocol::Ietf {
            interop: InteropVersion::V6
        }
    );
    assert_eq!(cp.session.as_ref().unwrap().upload_url.expose(), UPLOAD);
    let json = serde_json::to_value(&cp).unwrap();
    assert_eq!(json["protocol"]["ietf"]["interop"], 6);
    let cp: Checkpoint = serde_json::from_value(json).unwrap();
    let mut up = Upload::resume(cfg(), cp, Instant::now(), wall0()).unwrap();
    let run = drive(&mut up, &data, |n, req| {
        assert_eq!(req.headers()["upload-draft-interop-version"], "6");
        match n {
            0 => answer(204, &[("upload-offset", "200"), ("upload-complete", "?0")]),
            _ => answer(204, &[("upload-complete", "?1")]),
        }
    });
    assert_eq!(
        run.lines,
        lines(
            "HEAD /upload/abc
             PATCH /upload/abc upload-complete=?1 upload-offset=200 content-length=300"
        )
    );
    assert_eq!(run.result.unwrap().object.size, 500);
}

#[test]
fn a_104_of_another_interop_version_is_ignored() {
    let data = source(300);
    let mut up = upload(config(
        IetfStrategy::Optimistic,
        InteropVersion::V8,
        300,
        300,
    ));
    let run = drive(&mut up, &data, |n, _| match n {
        0 => Reply {
            interims: vec![
                (
                    104,
                    own(&[("upload-draft-interop-version", "6"), ("location", UPLOAD)]),
                ),
                (104, own(&[("location", UPLOAD)])),
                (100, Vec::new()),
            ],
            end: End::Reset,
        },
        _ => answer(200, &[("upload-complete", "?1")]),
    });
    // No upload resource known: the creation is sent again, whole.
    assert_eq!(
        run.lines,
        lines(
            "POST /project/123/files upload-complete=?1 content-length=300 upload-length=300
             POST /project/123/files upload-complete=?1 content-length=300 upload-length=300"
        )
    );
    assert!(run.result.is_ok());
    assert!(
        !run.events
            .iter()
            .any(|e| matches!(e, Event::SessionStarted { .. }))
    );
}

#[test]
fn a_409_goes_on_from_the_servers_offset() {
    let data = source(300);
    let mut up = upload(config(IetfStrategy::Careful, InteropVersion::V8, 300, 100));
    let problem = r#"{"type":"https://iana.org/assignments/http-problem-types#mismatching-upload-offset",
        "expected-offset": 150, "provided-offset": 100}"#;
    let run = drive(&mut up, &data, |n, req| match n {
        0 => answer(201, &[("location", UPLOAD)]),
        1 => answer(204, &[("upload-complete", "?0")]),
        2 => Reply {
            interims: Vec::new(),
            end: End::Final(
                409,
                own(&[
                    ("content-type", "application/problem+json"),
                    ("upload-complete", "?0"),
                    ("upload-offset", "150"),
                ]),
                problem,
            ),
        },
        _ => appended(req),
    });
    assert_eq!(
        run.lines,
        lines(
            "POST /project/123/files upload-complete=?0 content-length=0 upload-length=300
             PATCH /upload/abc upload-complete=?0 upload-offset=0 content-length=100
             PATCH /upload/abc upload-complete=?0 upload-offset=100 content-length=100
             PATCH /upload/abc upload-complete=?0 upload-offset=150 content-length=100
             PATCH /upload/abc upload-complete=?1 upload-offset=250 content-length=50"
        )
    );
    assert!(run.result.is_ok());
}

#[test]
fn a_409_past_what_the_source_holds_is_a_typed_error() {
    let data = source(300);
    let mut up = upload(config(IetfStrategy::Careful, InteropVersion::V8, 300, 100));
    let run = drive(&mut up, &data, |n, _| match n {
        0 => answer(201, &[("location", UPLOAD)]),
        _ => answer(409, &[("upload-offset", "301")]),
    });
    assert!(
        matches!(
            run.result,
            Err(Error::Protocol(
                resumable_core::ProtocolError::OffsetBeyondSent { persisted: 301, .. }
            ))
        ),
        "{:?}",
        run.result
    );
}

#[test]
fn upload_limit_bounds_every_append_and_a_413_with_a_limit_is_sent_smaller() {
    let data = source(1000);
    let mut up = upload(config(IetfStrategy::Careful, InteropVersion::V8, 1000, 50));
    let run = drive(&mut up, &data, |n, req| match n {
        0 => answer(
            201,
            &[
                ("location", UPLOAD),
                ("upload-limit", "max-append-size=400, min-append-size=300"),
            ],
        ),
        1 => {
            assert_eq!(
                req.headers()["content-length"],
                "300",
                "the minimum wins over the chunk"
            );
            answer(
                413,
                &[("upload-limit", "max-append-size=200, min-append-size=100")],
            )
        }
        2 => answer(204, &[("upload-offset", "0"), ("upload-complete", "?0")]),
        _ => appended(req),
    });
    assert_eq!(
        run.lines,
        lines(
            "POST /project/123/files upload-complete=?0 content-length=0 upload-length=1000
             PATCH /upload/abc upload-complete=?0 upload-offset=0 content-length=300
             HEAD /upload/abc
             PATCH /upload/abc upload-complete=?0 upload-offset=0 content-length=100
             PATCH /upload/abc upload-complete=?0 upload-offset=100 content-length=100
             PATCH /upload/abc upload-complete=?0 upload-offset=200 content-length=100
             PATCH /upload/abc upload-complete=?0 upload-offset=300 content-length=100
             PATCH /upload/abc upload-complete=?0 upload-offset=400 content-length=100
             PATCH /upload/abc upload-complete=?0 upload-offset=500 content-length=100
             PATCH /upload/abc upload-complete=?0 upload-offset=600 content-length=100
             PATCH /upload/abc upload-complete=?0 upload-offset=700 content-length=100
             PATCH /upload/abc upload-complete=?0 upload-offset=800 content-length=100
             PATCH /upload/abc upload-complete=?1 upload-offset=900 content-length=100"
        )
    );
    assert!(run.result.is_ok(), "{:?}", run.result);
}

#[test]
fn a_413_stating_no_limit_is_sent_again_at_half_the_size_down_to_a_floor() {
    const K: u64 = 1024;
    let data = source(600 * K as usize);
    let mut up = upload(config(
        IetfStrategy::Careful,
        InteropVersion::V8,
        600 * K,
        400 * K,
    ));
    // An intermediary refuses requests of more than 150 KiB of content,
    // and says nothing of it but `413`.
    let run = drive(&mut up, &data, |n, req| {
        let len: u64 = req
            .headers()
            .get("content-length")
            .map_or(0, |l| l.to_str().unwrap().parse().unwrap());
        match n {
            0 => answer(201, &[("location", UPLOAD), ("upload-complete", "?0")]),
            _ if len > 150 * K => answer(413, &[]),
            _ if req.method() == http::Method::HEAD => {
                answer(204, &[("upload-offset", "0"), ("upload-complete", "?0")])
            }
            _ => appended(req),
        }
    });
    assert_eq!(
        run.lines,
        lines(
            "POST /project/123/files upload-complete=?0 content-length=0 upload-length=614400
             PATCH /upload/abc upload-complete=?0 upload-offset=0 content-length=409600
             HEAD /upload/abc
             PATCH /upload/abc upload-complete=?0 upload-offset=0 content-length=204800
             HEAD /upload/abc
             PATCH /upload/abc upload-complete=?0 upload-offset=0 content-length=102400
             PATCH /upload/abc upload-complete=?0 upload-offset=102400 content-length=102400
             PATCH /upload/abc upload-complete=?0 upload-offset=204800 content-length=102400
             PATCH /upload/abc upload-complete=?0 upload-offset=307200 content-length=102400
             PATCH /upload/abc upload-complete=?0 upload-offset=409600 content-length=102400
             PATCH /upload/abc upload-complete=?1 upload-offset=512000 content-length=102400"
        )
    );
    assert!(run.result.is_ok(), "{:?}", run.result);

    // Where halving would go below 64 KiB, the upload ends too large. The
    // `413` may be an intermediary's: the upload resource and its
    // checkpoint are kept, for a run with other settings.
    let too_large = |chunk: u64, limit: &'static str| {
        let mut up = upload(config(
            IetfStrategy::Careful,
            InteropVersion::V8,
            600 * K,
            chunk,
        ));
        drive(&mut up, &data, move |n, req| match n {
            0 => answer(201, &[("location", UPLOAD), ("upload-limit", limit)]),
            _ if req.method() == http::Method::DELETE => answer(204, &[]),
            _ if req.method() == http::Method::HEAD => {
                answer(204, &[("upload-offset", "0"), ("upload-complete", "?0")])
            }
            _ => answer(413, &[]),
        })
    };
    let run = too_large(100 * K, "max-age=3600");
    assert_eq!(
        run.lines,
        lines(
            "POST /project/123/files upload-complete=?0 content-length=0 upload-length=614400
             PATCH /upload/abc upload-complete=?0 upload-offset=0 content-length=102400"
        )
    );
    assert!(
        matches!(run.result, Err(Error::TooLarge { max: None, .. })),
        "{:?}",
        run.result
    );
    assert!(run.checkpoint.is_some(), "the upload is kept");
    // Nor below the server's `min-append-size`: 400, then 200 KiB, and
    // half of that is less than 150 KiB.
    let run = too_large(400 * K, "min-append-size=153600");
    assert_eq!(
        run.lines,
        lines(
            "POST /project/123/files upload-complete=?0 content-length=0 upload-length=614400
             PATCH /upload/abc upload-complete=?0 upload-offset=0 content-length=409600
             HEAD /upload/abc
             PATCH /upload/abc upload-complete=?0 upload-offset=0 content-length=204800"
        )
    );
    assert!(
        matches!(run.result, Err(Error::TooLarge { .. })),
        "{:?}",
        run.result
    );
}

#[test]
fn a_413_whose_max_size_refuses_the_source_cancels_the_upload() {
    let data = source(1000);
    let mut up = upload(config(IetfStrategy::Careful, InteropVersion::V8, 1000, 100));
    let run = drive(&mut up, &data, |n, req| match n {
        0 => answer(201, &[("location", UPLOAD)]),
        _ if req.method() == http::Method::DELETE => answer(204, &[]),
        _ => answer(413, &[("upload-limit", "max-size=500")]),
    });
    assert_eq!(
        run.lines,
        lines(
            "POST /project/123/files upload-complete=?0 content-length=0 upload-length=1000
             PATCH /upload/abc upload-complete=?0 upload-offset=0 content-length=100
             DELETE /upload/abc"
        )
    );
    assert!(
        matches!(run.result, Err(Error::TooLarge { max: Some(500), .. })),
        "{:?}",
        run.result
    );
    assert!(run.checkpoint.is_none(), "{:?}", run.checkpoint);
}

#[test]
fn a_max_age_counting_down_asks_for_no_checkpoint_of_its_own() {
    let data = source(1000);
    let run_with = |ages: fn(usize) -> u64| {
        let mut cfg = config(IetfStrategy::Careful, InteropVersion::V8, 1000, 100);
        cfg.checkpoint_interval = Duration::from_secs(3600);
        let mut up = upload(cfg);
        drive(&mut up, &data, |n, req| {
            let limit = format!("max-size=5000, max-age={}", ages(n));
            let complete = req
                .headers()
                .get("upload-complete")
                .map_or("?0", |c| c.to_str().unwrap());
            match n {
                0 => answer(201, &[("location", UPLOAD), ("upload-limit", &limit)]),
                _ => answer(
                    204,
                    &[("upload-complete", complete), ("upload-limit", &limit)],
                ),
            }
        })
    };
    // Seconds left, as the draft tells them (the clock stands still here,
    // so the expiry moves a second earlier with each answer).
    let run = run_with(|n| 3600 - n as u64);
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.checkpoints, 1, "the creation's checkpoint alone");
    // A lifetime that moves by more than a minute is carried at once.
    let run = run_with(|n| 3600 + 120 * n as u64);
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.checkpoints, 10, "one per answer but the last");
}

#[test]
fn a_short_max_age_renewed_with_every_answer_keeps_the_upload_alive() {
    let data = source(1000);
    let mut up = upload(config(IetfStrategy::Careful, InteropVersion::V8, 1000, 100));
    // 30 s left on every answer, 10 s after each request: the upload
    // never expires, though the expiry moves by less than a minute.
    let run = drive_paced(&mut up, &data, Duration::from_secs(10), |n, req| {
        let complete = req
            .headers()
            .get("upload-complete")
            .map_or("?0", |c| c.to_str().unwrap());
        match n {
            0 => answer(201, &[("location", UPLOAD), ("upload-limit", "max-age=30")]),
            _ => answer(
                204,
                &[
                    ("upload-complete", complete),
                    ("upload-limit", "max-age=30"),
                ],
            ),
        }
    });
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(
        run.lines.len(),
        11,
        "one creation and 10 appends: {:#?}",
        run.lines
    );
}

#[test]
fn a_source_larger_than_max_size_is_refused_before_its_bytes_are_sent() {
    let data = source(1000);
    let mut up = upload(config(IetfStrategy::Careful, InteropVersion::V8, 1000, 100));
    let run = drive(&mut up, &data, |n, _| match n {
        0 => answer(
            201,
            &[
                ("location", UPLOAD),
                ("upload-limit", "max-size=999, future=?1"),
            ],
        ),
        _ => answer(204, &[]),
    });
    // §4.2.1: the client SHOULD cancel an upload larger than `max-size`.
    assert_eq!(
        run.lines,
        lines(
            "POST /project/123/files upload-complete=?0 content-length=0 upload-length=1000
             DELETE /upload/abc"
        )
    );
    assert!(
        matches!(run.result, Err(Error::TooLarge { max: Some(999), .. })),
        "{:?}",
        run.result
    );
    assert!(run.checkpoint.is_none(), "the upload resource is gone");
}

#[test]
fn a_max_size_in_the_104_of_an_optimistic_creation_stops_it_and_cancels_the_upload() {
    let data = source(1000);
    let mut cfg = config(IetfStrategy::Optimistic, InteropVersion::V8, 1000, 10_000);
    cfg.chunking = Chunking::SingleRequest;
    let mut up = upload(cfg);
    let run = drive(&mut up, &data, |n, _| match n {
        0 => Reply {
            interims: vec![(
                104,
                own(&[
                    ("upload-draft-interop-version", "8"),
                    ("location", UPLOAD),
                    ("upload-limit", "max-size=500"),
                ]),
            )],
            end: End::Reset,
        },
        _ => answer(204, &[]),
    });
    assert_eq!(
        run.lines,
        lines(
            "POST /project/123/files upload-complete=?1 content-length=1000 upload-length=1000
             DELETE /upload/abc"
        )
    );
    assert!(
        matches!(run.result, Err(Error::TooLarge { max: Some(500), .. })),
        "{:?}",
        run.result
    );
    assert!(run.checkpoint.is_none(), "the upload resource is gone");
}

#[test]
fn a_refused_cancellation_of_an_upload_too_large_still_ends_too_large() {
    let data = source(1000);
    let mut up = upload(config(IetfStrategy::Careful, InteropVersion::V8, 1000, 100));
    let run = drive(&mut up, &data, |n, _| match n {
        0 => answer(
            201,
            &[("location", UPLOAD), ("upload-limit", "max-size=999")],
        ),
        _ => answer(503, &[]),
    });
    // One `DELETE`, not retried: the upload has failed already.
    assert_eq!(run.lines.len(), 2, "{:#?}", run.lines);
    assert_eq!(run.lines[1], "DELETE /upload/abc");
    assert!(
        matches!(run.result, Err(Error::TooLarge { max: Some(999), .. })),
        "{:?}",
        run.result
    );
}

#[test]
fn a_creation_answered_with_another_location_than_its_104_cancels_the_first() {
    // Whether the creation carried part of the source or all of it: an
    // answer naming another upload moves nothing on.
    for chunk in [400, 1000] {
        let data = source(1000);
        let mut up = upload(config(
            IetfStrategy::Optimistic,
            InteropVersion::V8,
            1000,
            chunk,
        ));
        let offset = chunk.to_string();
        let run = drive(&mut up, &data, |n, _| match n {
            0 => Reply {
                interims: vec![(
                    104,
                    own(&[("upload-draft-interop-version", "8"), ("location", UPLOAD)]),
                )],
                end: End::Final(
                    201,
                    own(&[
                        ("location", "https://example.com/upload/other"),
                        ("upload-complete", "?0"),
                        ("upload-offset", &offset),
                    ]),
                    "",
                ),
            },
            _ => answer(204, &[]),
        });
        // §4.2.2: a client SHOULD abort and cancel when the `Location`s differ.
        let complete = if chunk == 1000 { "?1" } else { "?0" };
        assert_eq!(
            run.lines,
            lines(&format!(
                "POST /project/123/files upload-complete={complete} content-length={chunk} upload-length=1000
                 DELETE /upload/abc"
            ))
        );
        assert!(
            matches!(
                run.result,
                Err(Error::Protocol(
                    resumable_core::ProtocolError::LocationChanged
                ))
            ),
            "{:?}",
            run.result
        );
        assert_eq!(persisted(&run), Vec::<u64>::new(), "no progress of either");
    }
}

#[test]
fn a_wrong_typed_limit_is_ignored_whole() {
    let data = source(200);
    let mut up = upload(config(IetfStrategy::Careful, InteropVersion::V8, 200, 200));
    let run = drive(&mut up, &data, |n, _| match n {
        0 => answer(
            201,
            &[
                ("location", UPLOAD),
                ("upload-limit", "max-size=10, max-append-size=1.5"),
            ],
        ),
        _ => answer(204, &[("upload-complete", "?1")]),
    });
    assert_eq!(run.lines.len(), 2, "{:?}", run.lines);
    assert!(run.result.is_ok());
}

#[test]
fn a_failure_of_the_target_resource_is_processing_failed_never_retried() {
    let data = source(200);
    let mut up = upload(config(IetfStrategy::Careful, InteropVersion::V8, 200, 100));
    let run = drive(&mut up, &data, |n, _| match n {
        0 => answer(201, &[("location", UPLOAD)]),
        1 => answer(204, &[("upload-complete", "?0")]),
        _ => answer(503, &[("upload-complete", "?1")]),
    });
    assert_eq!(run.lines.len(), 3);
    assert!(
        matches!(
            &run.result,
            Err(Error::ProcessingFailed { status: 503, .. })
        ),
        "{:?}",
        run.result
    );
    // A 503 without `Upload-Complete: ?1` is the upload resource's: retried.
    let mut up = upload(config(IetfStrategy::Careful, InteropVersion::V8, 200, 200));
    let run = drive(&mut up, &data, |n, _| match n {
        0 => answer(201, &[("location", UPLOAD)]),
        1 => answer(503, &[]),
        2 => answer(204, &[("upload-offset", "200"), ("upload-complete", "?1")]),
        _ => panic!("done after the HEAD"),
    });
    assert_eq!(run.lines[2], "HEAD /upload/abc");
    assert_eq!(run.result.unwrap().object.size, 200);
}

#[test]
fn the_other_problem_types_are_typed_errors() {
    let data = source(200);
    let mut up = upload(config(IetfStrategy::Careful, InteropVersion::V8, 200, 100));
    let body =
        r#"{"type":"https://iana.org/assignments/http-problem-types#inconsistent-upload-length"}"#;
    let run = drive(&mut up, &data, |_, _| Reply {
        interims: Vec::new(),
        end: End::Final(
            400,
            own(&[("content-type", "application/problem+json")]),
            body,
        ),
    });
    assert_eq!(
        run.result.err(),
        Some(Error::UploadProblem {
            status: 400,
            problem: UploadProblem::InconsistentLength
        })
    );
}

#[test]
fn content_digest_on_every_append_once_the_server_asks() {
    let data = source(200);
    let mut up = upload(config(IetfStrategy::Careful, InteropVersion::V8, 200, 100));
    let run = drive(&mut up, &data, |n, _| match n {
        0 => answer(
            201,
            &[("location", UPLOAD), ("want-content-digest", "sha-256=3")],
        ),
        1 => answer(204, &[("upload-complete", "?0")]),
        _ => answer(204, &[("upload-complete", "?1")]),
    });
    assert!(run.result.is_ok());
    assert_eq!(
        run.heads[1]["content-digest"],
        sha256_field(&data[..100]).as_str()
    );
    assert_eq!(
        run.heads[2]["content-digest"],
        sha256_field(&data[100..]).as_str()
    );
    assert!(run.heads[0].get("content-digest").is_none());
}

#[test]
fn interop_6_on_the_wire() {
    let data = source(100);
    let mut up = upload(config(IetfStrategy::Careful, InteropVersion::V6, 100, 100));
    let run = drive(&mut up, &data, |n, _| match n {
        0 => answer(
            201,
            &[
                ("location", UPLOAD),
                ("upload-offset", "0"),
                ("upload-limit", "expires=60"),
            ],
        ),
        _ => answer(201, &[("upload-offset", "100")]),
    });
    assert!(run.result.is_ok(), "{:?}", run.result);
    for head in &run.heads {
        assert_eq!(head["upload-draft-interop-version"], "6");
    }
    assert_eq!(run.heads[1]["content-type"], "application/partial-upload");
    let expires = run.events.iter().find_map(|e| match e {
        Event::SessionStarted { expires_at, .. } => *expires_at,
        _ => None,
    });
    assert!(expires.is_some(), "expires= is interop 6's lifetime");
}

#[test]
fn an_existing_upload_resource_is_asked_then_cancelled_with_delete() {
    let data = source(100);
    let cfg = Config::ietf_upload(SessionUrl::new(UPLOAD), InteropVersion::V8, Some(100));
    let mut up = upload(cfg);
    let mut cancelled = false;
    let run = drive(&mut up, &data, |n, _| match n {
        0 => answer(204, &[("upload-offset", "0"), ("upload-complete", "?0")]),
        _ => answer(204, &[]),
    });
    let _ = &mut cancelled;
    // Asked, then appended whole.
    assert_eq!(run.lines[0], "HEAD /upload/abc");
    assert!(run.result.is_ok());
    let mut up = upload(Config::ietf_upload(
        SessionUrl::new(UPLOAD),
        InteropVersion::V8,
        Some(100),
    ));
    up.cancel();
    let run = drive(&mut up, &data, |_, _| answer(204, &[]));
    assert_eq!(run.lines, ["DELETE /upload/abc"]);
    assert_eq!(run.result.err(), Some(Error::Cancelled));
}

#[test]
fn an_empty_append_the_server_does_not_complete_is_retried_within_the_budget() {
    let data = source(100);
    let mut cfg = config(IetfStrategy::Careful, InteropVersion::V8, 100, 100);
    cfg.retry.max_attempts = 3;
    let mut up = upload(cfg);
    let run = drive(&mut up, &data, |n, _| match n {
        0 => answer(201, &[("location", UPLOAD)]),
        _ => answer(204, &[("upload-complete", "?0")]),
    });
    assert!(
        matches!(run.result, Err(Error::GaveUp { .. })),
        "{:?}",
        run.result
    );
    assert!(run.lines.len() < 10);
}

#[test]
fn an_empty_source_is_one_completing_creation() {
    let mut up = upload(config(IetfStrategy::Careful, InteropVersion::V8, 0, 100));
    let run = drive(&mut up, &[], |_, _| {
        answer(201, &[("upload-complete", "?1")])
    });
    assert_eq!(
        run.lines,
        ["POST /project/123/files upload-complete=?1 content-length=0 upload-length=0"]
    );
    assert_eq!(run.result.unwrap().object.size, 0);
}

#[test]
fn a_413_after_the_104_of_an_optimistic_creation_goes_on_within_the_limit() {
    let data = source(1000);
    let mut cfg = config(IetfStrategy::Optimistic, InteropVersion::V8, 1000, 10_000);
    cfg.chunking = Chunking::SingleRequest;
    let mut up = upload(cfg);
    let run = drive(&mut up, &data, |n, req| match n {
        0 => Reply {
            interims: vec![(
                104,
                own(&[
                    ("upload-draft-interop-version", "8"),
                    ("location", "https://example.com/upload/abc"),
                ]),
            )],
            end: End::Final(413, own(&[("upload-limit", "max-append-size=400")]), ""),
        },
        1 => answer(204, &[("upload-offset", "0"), ("upload-complete", "?0")]),
        _ => appended(req),
    });
    assert!(run.result.is_ok(), "{:?}\n{:#?}", run.result, run.lines);
    assert_eq!(
        run.lines,
        lines(
            "POST /project/123/files upload-complete=?1 content-length=1000 upload-length=1000
             HEAD /upload/abc
             PATCH /upload/abc upload-complete=?0 upload-offset=0 content-length=400
             PATCH /upload/abc upload-complete=?0 upload-offset=400 content-length=400
             PATCH /upload/abc upload-complete=?1 upload-offset=800 content-length=200"
        )
    );
}
