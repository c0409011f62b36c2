//! tus 1.0 scenarios: the core driven against the sim's independent tus
//! server model, one rule of the protocol each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;

use std::time::{Duration, Instant, SystemTime};

use resumable_core::{
    Action, Body, Checkpoint, ChecksumAlgorithm, Chunking, Config, Error, Event, Protocol, Purpose,
    RetryCause, RetryPolicy, SessionUrl, TusCreate, Upload,
};
use resumable_sim::{TUS_ENDPOINT, TusOptions};
use sim::{Run, TusFault, TusServer};

/// The chunk the scenarios send: any size works with tus.
const CHUNK: u64 = 100_000;

fn wall0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn create() -> TusCreate {
    TusCreate {
        filename: Some("data.bin".into()),
        filetype: Some("application/octet-stream".into()),
        metadata: vec![("album".into(), "holidays 2024".into())],
        ..TusCreate::new(TUS_ENDPOINT)
    }
}

fn config(total: Option<u64>) -> Config {
    let mut cfg = Config::tus_create(create(), total);
    cfg.chunking = Chunking::Fixed(CHUNK);
    cfg.jitter_seed = 42;
    cfg
}

/// Runs an upload of `len` bytes against `server`, `fault(n, purpose)`
/// scripting the n-th request.
fn upload_to(
    server: &mut TusServer,
    cfg: Config,
    len: usize,
    fault: impl FnMut(u64, Purpose) -> TusFault,
) -> (Run, Vec<u8>) {
    let data = sim::source(len, 7);
    let run = sim::drive(server, cfg, &data, fault, |_| false, 1000);
    (run, data)
}

/// Runs an upload of `len` bytes, its length known, with no fault.
fn upload_clean(server: &mut TusServer, len: u64) -> (Run, Vec<u8>) {
    upload_to(server, config(Some(len)), len as usize, |_, _| {
        TusFault::None
    })
}

/// The fault `fault` on request `at` only.
fn once(at: u64, fault: TusFault) -> impl FnMut(u64, Purpose) -> TusFault {
    move |n, _| if n == at { fault } else { TusFault::None }
}

/// The server's answer to `req`, whose body is its range of `data`, for
/// the tests that drive the core by hand.
fn serve_by_hand(
    server: &mut TusServer,
    req: &resumable_core::Request,
    data: &[u8],
) -> http::Response<bytes::Bytes> {
    let body = match req.http.body() {
        Body::Source(r) => &data[r.start as usize..r.end as usize],
        _ => &[],
    };
    match server.serve(&req.http, body, TusFault::None, wall0()) {
        sim::Reply::Response(resp) => resp,
        sim::Reply::Reset => panic!("the server behaves"),
    }
}

/// A 250 000-byte upload with `fault` on request `at`, which must end
/// with the source stored; the run, the server, and where the faulted
/// request is in the transcript.
fn with_fault(at: u64, fault: TusFault) -> (Run, TusServer, usize) {
    let mut server = TusServer::new();
    let (run, data) = upload_to(&mut server, config(Some(250_000)), 250_000, once(at, fault));
    outcome(&run);
    assert_stored(&server, &data);
    let mark = format!("[{fault:?}]");
    let i = run
        .transcript
        .iter()
        .position(|l| l.contains(&mark))
        .unwrap();
    (run, server, i)
}

/// The one upload the server holds, complete and equal to `data`.
fn assert_stored(server: &TusServer, data: &[u8]) {
    let complete: Vec<_> = server.uploads.values().filter(|u| u.complete()).collect();
    assert_eq!(complete.len(), 1, "one complete upload");
    assert!(complete[0].data == data, "the server holds the source");
    assert!(server.violations.is_empty(), "{:?}", server.violations);
}

fn outcome(run: &Run) -> &resumable_core::Outcome {
    match &run.result {
        Some(Ok(outcome)) => outcome,
        other => panic!("not done: {other:?}\n{:#?}", run.transcript),
    }
}

#[test]
fn a_whole_upload_discovers_creates_with_metadata_and_patches_with_sha1() {
    let mut server = TusServer::new();
    let (run, data) = upload_clean(&mut server, 250_000);
    assert_eq!(
        run.transcript,
        sim::lines(
            "
            OPTIONS /files/ -> 204
            POST /files/ -> 201
            checkpoint persisted=0
            checksum 0..100000
            PATCH /files/u0001 @0 +100000 -> 204 offset=100000
            checkpoint persisted=100000
            checksum 100000..200000
            PATCH /files/u0001 @100000 +100000 -> 204 offset=200000
            checkpoint persisted=200000
            checksum 200000..250000
            PATCH /files/u0001 @200000 +50000 -> 204 offset=250000
            done
            "
        )
    );
    assert_stored(&server, &data);
    let upload = server.uploads.values().next().unwrap();
    assert_eq!(
        upload.metadata,
        [
            ("filename".to_owned(), b"data.bin".to_vec()),
            ("filetype".to_owned(), b"application/octet-stream".to_vec()),
            ("album".to_owned(), b"holidays 2024".to_vec()),
        ]
    );
    let outcome = outcome(&run);
    assert_eq!(outcome.object.size, 250_000);
    assert_eq!(outcome.object.crc32c, None, "tus reports no digest");
    assert_eq!(
        outcome.crc32c,
        Some(crc32c::crc32c(&data)),
        "the source's own"
    );
    let cp = &run.checkpoints[0];
    assert_eq!(cp.protocol, Protocol::Tus);
    let tus = cp.tus.as_ref().unwrap();
    assert_eq!(tus.checksum, Some(ChecksumAlgorithm::Sha1));
    // The last `Upload-Expires` (a date, to the second) is the session's.
    let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let last = run.checkpoints.last().unwrap();
    assert_eq!(
        last.session.as_ref().unwrap().expires_at.map(secs),
        upload.expires_at.map(secs),
        "the expiry the server named"
    );
}

#[test]
fn the_strongest_common_checksum_is_used_and_none_without_the_extension() {
    for (algorithms, extension, expected) in [
        (vec!["md5", "crc32"], true, Some(ChecksumAlgorithm::Md5)),
        (vec!["crc32"], true, Some(ChecksumAlgorithm::Crc32)),
        (vec!["sha512"], true, None),
        (vec!["sha1"], false, None),
    ] {
        let mut options = TusOptions {
            checksum_algorithms: algorithms.clone(),
            ..TusOptions::default()
        };
        if !extension {
            options.extensions.retain(|e| *e != "checksum");
        }
        let mut server = TusServer::with_options(options);
        let (run, data) = upload_clean(&mut server, 150_000);
        outcome(&run);
        assert_stored(&server, &data);
        let tus = run.checkpoints[0].tus.clone().unwrap();
        assert_eq!(tus.checksum, expected, "{algorithms:?}");
        let asked = run.transcript.iter().any(|l| l.starts_with("checksum"));
        assert_eq!(asked, expected.is_some(), "{:?}", run.transcript);
    }
}

/// A server that lists every extension but `extension`.
fn without(extension: &str) -> TusServer {
    let mut options = TusOptions::default();
    options.extensions.retain(|e| *e != extension);
    TusServer::with_options(options)
}

#[test]
fn a_creation_carries_the_first_chunk_when_no_checksum_is_agreed() {
    for (len, expected) in [
        (
            250_000,
            "
            OPTIONS /files/ -> 204
            POST /files/ +100000 -> 201 offset=100000
            checkpoint persisted=100000
            PATCH /files/u0001 @100000 +100000 -> 204 offset=200000
            checkpoint persisted=200000
            PATCH /files/u0001 @200000 +50000 -> 204 offset=250000
            done
            ",
        ),
        // A file within one chunk is created and sent in one request.
        (
            60_000,
            "
            OPTIONS /files/ -> 204
            POST /files/ +60000 -> 201 offset=60000
            done
            ",
        ),
    ] {
        let mut server = without("checksum");
        let (run, data) = upload_clean(&mut server, len);
        assert_eq!(run.transcript, sim::lines(expected));
        assert_stored(&server, &data);
        assert_eq!(outcome(&run).object.size, len);
    }
}

#[test]
fn a_creation_carries_no_bytes_when_patches_carry_checksums_or_the_caller_says_so() {
    let mut server = TusServer::new();
    let (run, data) = upload_clean(&mut server, 60_000);
    assert!(
        run.transcript[1] == "POST /files/ -> 201",
        "{:?}",
        run.transcript
    );
    assert_stored(&server, &data);
    let mut server = without("checksum");
    let mut cfg = config(Some(60_000));
    if let resumable_core::Target::TusCreate(create) = &mut cfg.target {
        create.upload_with_creation = false;
    }
    let (run, data) = upload_to(&mut server, cfg, 60_000, |_, _| TusFault::None);
    assert!(
        run.transcript[1] == "POST /files/ -> 201",
        "{:?}",
        run.transcript
    );
    assert_stored(&server, &data);
}

#[test]
fn a_stream_is_created_deferred_with_its_first_chunk() {
    let mut server = without("checksum");
    let mut cfg = config(None);
    cfg.restartable_source = false;
    let (run, data) = upload_to(&mut server, cfg, 250_000, |_, _| TusFault::None);
    outcome(&run);
    assert_stored(&server, &data);
    assert!(
        run.transcript
            .iter()
            .any(|l| l == "POST /files/ +100000 -> 201 offset=100000"),
        "{:?}",
        run.transcript
    );
    assert_eq!(
        server.uploads.values().next().unwrap().length,
        Some(250_000)
    );
}

#[test]
fn a_creation_whose_answer_is_lost_is_made_again() {
    let mut server = without("checksum");
    let (run, data) = upload_to(
        &mut server,
        config(Some(250_000)),
        250_000,
        once(1, TusFault::LostResponse),
    );
    outcome(&run);
    assert_stored(&server, &data);
    let posts = run
        .transcript
        .iter()
        .filter(|l| l.starts_with("POST"))
        .count();
    assert_eq!(posts, 2, "{:?}", run.transcript);
}

#[test]
fn a_creation_answered_without_its_offset_is_followed_by_a_head() {
    let data = sim::source(250_000, 7);
    let mut server = without("checksum");
    let now = Instant::now();
    let mut up = Upload::new(config(Some(250_000)), now, wall0()).unwrap();
    let mut heads = 0;
    loop {
        match up.poll_action(now) {
            Action::Send(req) => {
                heads += u32::from(req.http.method() == http::Method::HEAD);
                let mut resp = serve_by_hand(&mut server, &req, &data);
                if req.purpose == Purpose::Initiate {
                    resp.headers_mut().remove("upload-offset");
                }
                up.handle_response(req.id, resp, now).unwrap();
            }
            Action::Checksum(r) => {
                up.feed_checksum(r.start, &data[r.start as usize..r.end as usize])
            }
            Action::Checkpoint(_) | Action::RemoveCheckpoint => {}
            Action::Done(_) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(heads, 1);
    assert_stored(&server, &data);
}

#[test]
fn an_extension_the_server_does_not_list_is_never_used() {
    // No creation: nothing but the question is sent.
    let mut server = without("creation");
    let (run, _) = upload_to(&mut server, config(Some(10)), 10, |_, _| TusFault::None);
    assert_eq!(
        run.result,
        Some(Err(Error::UnsupportedExtension {
            extension: "creation"
        }))
    );
    assert_eq!(server.requests, 1, "nothing after OPTIONS");
    // No deferred length: a stream cannot be created.
    let mut server = without("creation-defer-length");
    let mut cfg = config(None);
    cfg.restartable_source = false;
    let (run, _) = upload_to(&mut server, cfg, 250_000, |_, _| TusFault::None);
    assert_eq!(
        run.result,
        Some(Err(Error::UnsupportedExtension {
            extension: "creation-defer-length"
        }))
    );
    assert!(server.uploads.is_empty());
    // A stream that ends within the first chunk has a length: no need.
    let mut server = without("creation-defer-length");
    let (run, data) = upload_to(&mut server, config(None), 50_000, |_, _| TusFault::None);
    outcome(&run);
    assert_stored(&server, &data);
}

#[test]
fn a_partial_patch_resumes_from_the_offset_the_server_reports() {
    let (run, _, i) = with_fault(2, TusFault::PersistBytes(1234));
    let t = &run.transcript;
    assert!(t[i].ends_with("-> 204 offset=1234"), "{t:?}");
    assert_eq!(t[i + 1], "checkpoint persisted=1234");
    assert_eq!(t[i + 2], "checksum 1234..101234");
    assert!(
        t[i + 3].starts_with("PATCH /files/u0001 @1234 +100000"),
        "{t:?}"
    );
}

#[test]
fn a_409_is_followed_by_a_head_never_a_guess() {
    let (run, _, i) = with_fault(3, TusFault::Status(409));
    let t = &run.transcript;
    assert!(t[i].ends_with("-> 409"));
    assert!(t[i + 1].starts_with("wait "), "{t:?}");
    assert_eq!(t[i + 2], "HEAD /files/u0001 -> 200 offset=100000");
    assert!(run.events.iter().any(|e| matches!(
        e,
        Event::Retrying {
            cause: RetryCause::OffsetConflict,
            ..
        }
    )));
}

#[test]
fn a_460_sends_the_same_request_again_and_counts_nothing_persisted() {
    let (run, server, i) = with_fault(3, TusFault::Corrupt);
    assert_eq!(server.checksum_mismatches, 1);
    let t = &run.transcript;
    assert_eq!(t[i], "PATCH /files/u0001 @100000 +100000 [Corrupt] -> 460");
    assert!(t[i + 1].starts_with("wait "), "{t:?}");
    // The digest is kept: the same request goes again, nothing read twice.
    assert_eq!(
        t[i + 2],
        "PATCH /files/u0001 @100000 +100000 -> 204 offset=200000"
    );
    assert!(run.events.iter().any(|e| matches!(
        e,
        Event::Retrying {
            cause: RetryCause::ChecksumMismatch,
            ..
        }
    )));
    assert!(!run.events.iter().any(
        |e| matches!(e, Event::Persisted { offset, .. } if *offset > 100_000 && *offset < 200_000)
    ));
}

#[test]
fn a_lost_answer_is_followed_by_a_head_even_for_the_last_patch() {
    for lost in [2, 4] {
        let mut server = TusServer::new();
        let (run, data) = upload_to(
            &mut server,
            config(Some(250_000)),
            250_000,
            once(lost, TusFault::LostResponse),
        );
        outcome(&run);
        assert_stored(&server, &data);
        let t = &run.transcript;
        let i = t.iter().position(|l| l.contains("[LostResponse]")).unwrap();
        assert!(t[i].ends_with("-> Reset"));
        assert!(t[i + 1].starts_with("wait "), "{t:?}");
        assert!(t[i + 2].starts_with("HEAD /files/u0001 -> 200"), "{t:?}");
        if lost == 4 {
            assert_eq!(t[i + 2], "HEAD /files/u0001 -> 200 offset=250000");
            assert_eq!(t[i + 3], "done");
        }
    }
}

#[test]
fn an_upload_the_server_expired_starts_over() {
    let (run, _, i) = with_fault(3, TusFault::Expire);
    assert_eq!(outcome(&run).restarts, 1);
    let t = &run.transcript;
    assert!(t[i].ends_with("-> 410"));
    assert_eq!(t[i + 1], "checkpoint persisted=0");
    assert_eq!(t[i + 2], "POST /files/ -> 201", "no second OPTIONS");
}

#[test]
fn an_upload_past_its_upload_expires_is_replaced_before_any_request_to_it() {
    let mut server = TusServer::with_options(TusOptions {
        lifetime: Some(Duration::from_secs(1)),
        ..TusOptions::default()
    });
    let mut cfg = config(Some(250_000));
    cfg.retry = RetryPolicy {
        initial_delay: Duration::from_secs(3),
        ..RetryPolicy::default()
    };
    let (run, data) = upload_to(&mut server, cfg, 250_000, once(3, TusFault::Status(503)));
    assert_eq!(outcome(&run).restarts, 1, "{:#?}", run.transcript);
    assert_stored(&server, &data);
    let t = &run.transcript;
    let i = t.iter().position(|l| l.contains("[Status(503)]")).unwrap();
    assert!(t[i + 1].starts_with("wait "), "{t:?}");
    assert_eq!(t[i + 2], "checkpoint persisted=0");
    assert_eq!(t[i + 3], "POST /files/ -> 201", "{t:?}");
}

#[test]
fn a_stream_defers_its_length_and_tells_it_once() {
    let mut server = TusServer::new();
    let mut cfg = config(None);
    cfg.restartable_source = false;
    let (run, data) = upload_to(&mut server, cfg, 250_000, |_, _| TusFault::None);
    outcome(&run);
    assert_stored(&server, &data);
    assert!(!run.read_aheads.is_empty());
    let told: Vec<_> = server.uploads.values().map(|u| u.length).collect();
    assert_eq!(told, [Some(250_000)]);
    assert!(run.checkpoints[0].tus.as_ref().unwrap().length_deferred);
}

#[test]
fn a_stream_tells_its_length_once_whatever_becomes_of_that_patch() {
    // Reading ahead finds the end of 150 000 bytes once 100 000 are
    // persisted: the fourth request, the PATCH at 100 000, tells the length.
    for fault in [TusFault::PersistBytes(10), TusFault::LostResponse] {
        let mut server = TusServer::new();
        let mut cfg = config(None);
        cfg.restartable_source = false;
        let (run, data) = upload_to(&mut server, cfg, 150_000, |n, _| {
            if n == 3 { fault } else { TusFault::None }
        });
        outcome(&run);
        // A length told twice would be a violation (and a 400).
        assert_stored(&server, &data);
        let t = &run.transcript;
        let i = t
            .iter()
            .position(|l| l.contains(&format!("[{fault:?}]")))
            .unwrap();
        assert!(
            t[i].starts_with("PATCH /files/u0001 @100000 +50000"),
            "{t:?}"
        );
        match fault {
            TusFault::LostResponse => {
                assert_eq!(t[i + 2], "HEAD /files/u0001 -> 200 offset=150000", "{t:?}");
            }
            _ => assert!(
                t[i + 3].starts_with("PATCH /files/u0001 @100010 +49990"),
                "{t:?}"
            ),
        }
    }
}

/// Runs a 250 000-byte upload by hand and cancels it once its first
/// `PATCH` is answered: how it ended, and the methods it sent.
fn cancel_after_the_first_patch(server: &mut TusServer) -> (Error, Vec<http::Method>) {
    let data = sim::source(250_000, 7);
    let now = Instant::now();
    let mut up = Upload::new(config(Some(250_000)), now, wall0()).unwrap();
    let mut methods = Vec::new();
    let error = loop {
        match up.poll_action(now) {
            Action::Send(req) => {
                methods.push(req.http.method().clone());
                let resp = serve_by_hand(server, &req, &data);
                up.handle_response(req.id, resp, now).unwrap();
                if req.purpose == Purpose::Chunk {
                    up.cancel();
                }
            }
            Action::Checksum(r) => {
                up.feed_checksum(r.start, &data[r.start as usize..r.end as usize])
            }
            Action::Checkpoint(_) | Action::RemoveCheckpoint => {}
            Action::Failed(e) => break e,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(server.violations.is_empty(), "{:?}", server.violations);
    (error, methods)
}

#[test]
fn cancelling_terminates_the_upload() {
    let mut server = TusServer::new();
    let (error, methods) = cancel_after_the_first_patch(&mut server);
    assert_eq!(error, Error::Cancelled);
    assert_eq!(methods.last(), Some(&http::Method::DELETE));
    let upload = server.uploads.values().next().unwrap();
    assert!(upload.terminated);
    assert_eq!(upload.data.len(), 100_000);
}

#[test]
fn cancelling_sends_no_delete_to_a_server_without_termination() {
    let mut server = without("termination");
    let (error, methods) = cancel_after_the_first_patch(&mut server);
    assert_eq!(error, Error::Cancelled);
    assert!(!methods.contains(&http::Method::DELETE), "{methods:?}");
    let upload = server.uploads.values().next().unwrap();
    assert!(!upload.terminated && !upload.gone);
}

#[test]
fn a_server_of_another_version_is_a_typed_refusal() {
    // It says so in its OPTIONS answer …
    let mut server = TusServer::with_options(TusOptions {
        versions: vec!["2.0.0".into()],
        ..TusOptions::default()
    });
    let (run, _) = upload_to(&mut server, config(Some(10)), 10, |_, _| TusFault::None);
    assert_eq!(
        run.result,
        Some(Err(Error::UnsupportedVersion {
            offered: vec!["2.0.0".into()]
        }))
    );
    assert_eq!(server.requests, 1, "nothing after OPTIONS");
    // … or, not answering OPTIONS, with a 412 to the creation.
    let mut server = TusServer::with_options(TusOptions {
        versions: vec!["2.0.0".into(), "0.2.2".into()],
        answers_options: false,
        ..TusOptions::default()
    });
    let (run, _) = upload_to(&mut server, config(Some(10)), 10, |_, _| TusFault::None);
    assert_eq!(
        run.result,
        Some(Err(Error::UnsupportedVersion {
            offered: vec!["2.0.0".into(), "0.2.2".into()]
        }))
    );
    assert!(server.uploads.is_empty());
}

#[test]
fn a_relative_location_is_resolved_against_the_endpoint() {
    let mut server = TusServer::with_options(TusOptions {
        relative_location: true,
        ..TusOptions::default()
    });
    let (run, data) = upload_clean(&mut server, 150_000);
    outcome(&run);
    assert_stored(&server, &data);
    let url = run.checkpoints[0]
        .session
        .as_ref()
        .unwrap()
        .upload_url
        .expose();
    assert_eq!(url, "https://tus.sim/files/u0001");
}

#[test]
fn an_upload_larger_than_tus_max_size_is_refused_before_creation() {
    let mut server = TusServer::with_options(TusOptions {
        max_size: Some(1000),
        ..TusOptions::default()
    });
    let (run, _) = upload_to(&mut server, config(Some(1001)), 1001, |_, _| TusFault::None);
    assert!(matches!(
        run.result,
        Some(Err(Error::TooLarge {
            max: Some(1000),
            ..
        }))
    ));
    assert_eq!(server.requests, 1, "OPTIONS only");
    // Within the limit, requests are capped by it.
    let mut server = TusServer::with_options(TusOptions {
        max_size: Some(150_000),
        ..TusOptions::default()
    });
    let (run, data) = upload_clean(&mut server, 150_000);
    outcome(&run);
    assert_stored(&server, &data);
}

/// Cancelling an upload to an existing upload URL before any request (as
/// a driver's `cancel` of a checkpoint does) still terminates it: the
/// `DELETE` goes out, with `Tus-Resumable`, though the upload had not yet
/// asked the server what it supports.
#[test]
fn cancelling_an_upload_url_before_any_request_terminates_it() {
    let mut server = TusServer::new();
    let data = sim::source(1000, 7);
    let url = server.open_upload(Some(1000), wall0());
    let now = Instant::now();
    let mut up = Upload::new(
        Config::tus_upload(SessionUrl::new(&url), Some(1000)),
        now,
        wall0(),
    )
    .unwrap();
    up.cancel();
    let Action::Send(req) = up.poll_action(now) else {
        panic!("expected the DELETE")
    };
    assert_eq!(req.http.method(), http::Method::DELETE);
    assert_eq!(req.http.headers()["tus-resumable"], "1.0.0");
    let resp = serve_by_hand(&mut server, &req, &data);
    up.handle_response(req.id, resp, now).unwrap();
    assert!(server.uploads[&url].terminated);
    assert!(server.violations.is_empty(), "{:?}", server.violations);
}

#[test]
fn an_existing_upload_url_starts_with_a_head_and_resumes_from_its_offset() {
    let mut server = TusServer::new();
    let data = sim::source(250_000, 7);
    // Another client created it with its length deferred and sent a prefix.
    let url = server.open_upload(None, wall0());
    server.uploads.get_mut(&url).unwrap().data = data[..54_321].to_vec();
    let mut cfg = Config::tus_upload(SessionUrl::new(&url), Some(250_000));
    cfg.chunking = Chunking::Fixed(CHUNK);
    let run = sim::drive(
        &mut server,
        cfg,
        &data,
        |_, _| TusFault::None,
        |_| false,
        1000,
    );
    outcome(&run);
    assert_stored(&server, &data);
    let t = &run.transcript;
    assert_eq!(t[0], "OPTIONS /files/u0001 -> 204");
    assert_eq!(t[1], "HEAD /files/u0001 -> 200 offset=54321");
    assert!(
        t.iter()
            .any(|l| l.starts_with("PATCH /files/u0001 @54321 +100000"))
    );
}

#[test]
fn a_crashed_upload_resumes_from_its_checkpoint_without_asking_options_again() {
    let mut server = TusServer::new();
    let data = sim::source(350_000, 7);
    let cfg = config(Some(350_000));
    let mut crashed = false;
    let run = sim::drive(
        &mut server,
        cfg,
        &data,
        |_, _| TusFault::None,
        |step| {
            let crash = !crashed && step == 12;
            crashed |= crash;
            crash
        },
        1000,
    );
    outcome(&run);
    assert_eq!(run.crashes, 1);
    assert_stored(&server, &data);
    let t = &run.transcript;
    let i = t.iter().position(|l| l == "crash").unwrap();
    let after: Vec<_> = t[i + 1..]
        .iter()
        .filter(|l| !l.starts_with("checksum"))
        .collect();
    assert!(after[0].starts_with("HEAD /files/u0001 -> 200"), "{t:?}");
    assert_eq!(t.iter().filter(|l| l.starts_with("OPTIONS")).count(), 1);
}

#[test]
fn a_tus_checkpoint_is_not_resumed_by_a_gcs_upload() {
    let mut server = TusServer::new();
    let (run, _) = upload_clean(&mut server, 150_000);
    let cp: Checkpoint = run.checkpoints[1].clone();
    let gcs = Config::gcs_session(SessionUrl::new("https://upload.sim/u?upload_id=x"), None);
    let resumed = Upload::resume(gcs, cp, Instant::now(), wall0());
    assert!(matches!(
        resumed,
        Err(Error::Source(
            resumable_core::SourceError::CheckpointMismatch("written for another protocol")
        ))
    ));
}

#[test]
fn a_length_learned_while_a_patch_is_in_flight_is_told_with_the_next() {
    let mut server = TusServer::new();
    let data = sim::source(150_000, 7);
    let now = Instant::now();
    let mut up = Upload::new(config(None), now, wall0()).unwrap();
    let mut told = Vec::new();
    let done = loop {
        match up.poll_action(now) {
            Action::Send(req) => {
                if let Body::Source(_) = req.http.body() {
                    told.push(req.http.headers().contains_key("upload-length"));
                }
                let resp = serve_by_hand(&mut server, &req, &data);
                // The caller learns the total other than by reading ahead,
                // while the first PATCH (which could not tell it) is out.
                if told.len() == 1 {
                    up.set_total(150_000).unwrap();
                }
                up.handle_response(req.id, resp, now).unwrap();
            }
            Action::Checksum(r) => {
                up.feed_checksum(r.start, &data[r.start as usize..r.end as usize])
            }
            Action::ReadAhead { .. } => up.handle_read_ahead(None).unwrap(),
            Action::Checkpoint(_) | Action::RemoveCheckpoint => {}
            Action::Done(outcome) => break outcome,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(done.object.size, 150_000);
    assert_eq!(told, [false, true]);
    assert_stored(&server, &data);
}

#[test]
fn an_upload_url_holding_another_length_is_refused() {
    let mut server = TusServer::new();
    let url = server.open_upload(Some(10), wall0());
    let data = sim::source(20, 7);
    let cfg = Config::tus_upload(SessionUrl::new(&url), Some(20));
    let run = sim::drive(
        &mut server,
        cfg,
        &data,
        |_, _| TusFault::None,
        |_| false,
        100,
    );
    assert_eq!(
        run.result,
        Some(Err(Error::Protocol(
            resumable_core::ProtocolError::LengthMismatch {
                declared: 10,
                total: 20
            }
        )))
    );
    assert!(server.uploads[&url].data.is_empty(), "nothing sent");
}

#[test]
fn a_tus_transfer_starts_at_0_then_where_a_resumed_upload_stands() {
    let data = sim::source(350_000, 7);
    let mut server = TusServer::new();
    let run = sim::drive(
        &mut server,
        config(Some(350_000)),
        &data,
        |_, _| TusFault::None,
        |step| step == 6,
        1000,
    );
    assert_eq!(run.crashes, 1, "{:#?}", run.transcript);
    assert!(run.result.clone().unwrap().is_ok(), "{:#?}", run.transcript);
    let starts: Vec<u64> = run
        .events
        .iter()
        .filter_map(|e| match e {
            Event::TransferStarted { offset, .. } => Some(*offset),
            _ => None,
        })
        .collect();
    assert_eq!(starts.len(), 2, "{starts:?}\n{:#?}", run.transcript);
    assert_eq!(starts[0], 0);
    assert!(
        starts[1] > 0 && starts[1].is_multiple_of(CHUNK),
        "{starts:?}\n{:#?}",
        run.transcript
    );
}

#[test]
fn a_creation_that_carries_bytes_starts_the_transfer_once() {
    for len in [60_000, 250_000] {
        let mut server = without("checksum");
        let (run, data) = upload_clean(&mut server, len);
        assert_stored(&server, &data);
        let starts: Vec<u64> = run
            .events
            .iter()
            .filter_map(|e| match e {
                Event::TransferStarted { offset, .. } => Some(*offset),
                _ => None,
            })
            .collect();
        assert_eq!(starts, [0], "{len}: {:#?}", run.transcript);
    }
}
