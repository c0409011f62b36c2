//! A custom transport plugged in through `AsyncTransport`, without hyper:
//! the in-memory GCS server of `resumable-sim`, with scripted faults. Every
//! test ends by checking the server saw no protocol rule broken.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use resumable_conformance::emulator::data;
use resumable_conformance::sim::{Fault, SimFault, SimTransport, Standing, UNIT};
use resumable_core::{Chunking, Config, Event, Outcome, SessionUrl, TransportErrorKind};
use resumable_testkit::MemoryCheckpointStore;
use resumable_tokio::{BytesSource, ReadSource, UploadError};

/// `len` bytes of a pattern, ready to hand to a source.
fn bytes(len: u64) -> Bytes {
    data(len, 1).into()
}

/// The `Content-Range` the `n`th request (from 1) carried.
fn range_of(sim: &SimTransport, n: usize) -> String {
    sim.exchanges()[n - 1].content_range.clone().unwrap()
}

#[tokio::test]
async fn uploads_bytes_in_streamed_frames() {
    let sim = SimTransport::new();
    let source = bytes(3 * UNIT + 17);
    let url = sim.open_session(Some(source.len() as u64));
    let outcome = sim
        .uploader()
        .chunking(Chunking::Fixed(2 * UNIT))
        .upload_to_session(SessionUrl::new(&url), &mut BytesSource::new(source.clone()))
        .await
        .unwrap();
    assert_eq!(sim.object(&url).unwrap(), source);
    assert_eq!(outcome.object.size, source.len() as u64);
    assert_eq!(outcome.crc32c, Some(crc32c::crc32c(&source)));
    assert_eq!(
        sim.ranges(),
        [
            "bytes */786449",
            "bytes 0-524287/786449",
            "bytes 524288-786448/786449"
        ]
    );
    // A 512 KiB chunk is streamed as several frames, never as one buffer.
    let exchanges = sim.exchanges();
    for e in &exchanges {
        assert!(e.largest_frame <= 128 * 1024, "{e:?}");
    }
    assert!(exchanges[1].frames >= 4, "{:?}", exchanges[1]);
    assert_eq!(sim.violations(), Vec::<String>::new());
}

/// Uploads `source` to a session of its length and checks it arrived as
/// the object; the outcome and every event.
async fn upload_watched(sim: &SimTransport, source: &Bytes) -> (Outcome, Vec<Event>) {
    let url = sim.open_session(Some(source.len() as u64));
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let outcome = sim
        .uploader()
        .on_event(move |e| seen.lock().unwrap().push(e.clone()))
        .upload_to_session(SessionUrl::new(&url), &mut BytesSource::new(source.clone()))
        .await
        .unwrap();
    assert_eq!(sim.object(&url).unwrap(), *source);
    let events = events.lock().unwrap().clone();
    (outcome, events)
}

#[tokio::test]
async fn recovers_from_every_scripted_fault() {
    let sim = SimTransport::new()
        .fault(2, Fault::Status(503, None))
        .fault(4, Fault::PersistUnits(0))
        .fault(6, Fault::LostResponse);
    let source = bytes(5 * UNIT + 3);
    let (outcome, events) = upload_watched(&sim, &source).await;
    // Request 4 carried one unit, so the server kept one unit fewer than sent.
    assert_eq!(range_of(&sim, 4), "bytes 0-262143/1310723");
    assert_eq!(outcome.crc32c, Some(crc32c::crc32c(&source)));
    let retries = events
        .iter()
        .filter(|e| matches!(e, Event::Retrying { .. }))
        .count();
    assert!(retries >= 2, "{events:?}");
    assert!(matches!(events.last(), Some(Event::Finalized { .. })));
    assert_eq!(sim.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn a_stream_of_unknown_length_is_sent_with_its_total_at_the_end() {
    for len in [0, 1, UNIT - 1, UNIT, UNIT + 1, 3 * UNIT] {
        let sim = SimTransport::new();
        let url = sim.open_session(None);
        let source = bytes(len);
        let outcome = sim
            .uploader()
            .upload_to_session(SessionUrl::new(&url), &mut ReadSource::new(&source[..]))
            .await
            .unwrap();
        assert_eq!(sim.object(&url).unwrap(), source, "len {len}");
        assert_eq!(outcome.object.size, len);
        let ranges = sim.ranges();
        // The last data request names the total: the stream's end was seen
        // one byte ahead, so no chunk went out as `*` and then came up short.
        let last_data = ranges.iter().rev().find(|r| !r.starts_with("bytes */"));
        if len > 0 {
            assert!(
                last_data.unwrap().ends_with(&format!("/{len}")),
                "{ranges:?}"
            );
        }
        // At most one chunk ahead was read: non-final chunks go out as `/*`.
        let unknown = ranges.iter().filter(|r| r.ends_with("/*")).count() as u64;
        assert!(unknown <= len / UNIT + 1, "{ranges:?}");
        assert_eq!(sim.violations(), Vec::<String>::new(), "len {len}");
    }
}

#[tokio::test]
async fn a_stream_resends_what_the_server_did_not_keep() {
    let sim = SimTransport::new()
        .fault(3, Fault::PersistUnits(0))
        .fault(5, Fault::LostResponse);
    let url = sim.open_session(None);
    let source = bytes(6 * UNIT + 5);
    sim.uploader()
        .upload_to_session(SessionUrl::new(&url), &mut ReadSource::new(&source[..]))
        .await
        .unwrap();
    assert_eq!(sim.object(&url).unwrap(), source);
    // Request 3 carried one unit, so the server kept one unit fewer than
    // sent: those bytes went again.
    let short = range_of(&sim, 3);
    assert_eq!(short, "bytes 262144-524287/*");
    let sent = sim.ranges().iter().filter(|r| **r == short).count();
    assert_eq!(sent, 2, "{:?}", sim.ranges());
    assert_eq!(sim.violations(), Vec::<String>::new());
}

/// With a transport of one's own the stall timeout is 60 s: tokio's paused
/// clock jumps to it.
#[tokio::test(start_paused = true)]
async fn a_stalled_transport_times_out_and_is_retried() {
    let sim = SimTransport::new().fault(2, SimFault::Stall);
    let (_, events) = upload_watched(&sim, &bytes(2 * UNIT)).await;
    let timed_out = events.iter().any(|e| {
        matches!(
            e,
            Event::Retrying {
                cause: resumable_core::RetryCause::Transport(resumable_core::TransportFailure {
                    kind: TransportErrorKind::Timeout,
                    ..
                }),
                ..
            }
        )
    });
    assert!(timed_out, "{events:?}");
    assert_eq!(sim.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn a_failed_upload_resumes_from_its_checkpoint() {
    let sim = SimTransport::new().fault(3, Fault::Status(400, None));
    let source = bytes(4 * UNIT + 1);
    let url = sim.open_session(Some(source.len() as u64));
    let store = MemoryCheckpointStore::new();
    let mut up = sim.uploader().checkpoint_store(store.clone());
    let config = Config::gcs_session(SessionUrl::new(&url), Some(source.len() as u64));
    let err = up
        .run(
            config.clone(),
            &mut BytesSource::new(source.clone()),
            Some("k"),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        UploadError::Upload(resumable_core::Error::Rejected { status: 400, .. })
    ));
    let checkpoint = up.load_checkpoint("k").await.unwrap().unwrap();
    assert_eq!(checkpoint.persisted, UNIT);
    let outcome = up
        .run(config, &mut BytesSource::new(source.clone()), Some("k"))
        .await
        .unwrap();
    assert_eq!(sim.object(&url).unwrap(), source);
    assert_eq!(outcome.crc32c, Some(crc32c::crc32c(&source)));
    assert_eq!(store.get("k"), None, "removed once done");
    assert_eq!(sim.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn a_checkpoint_saved_elsewhere_is_resumed_by_its_key() {
    let sim = SimTransport::new().fault(3, Fault::Status(400, None));
    let source = bytes(3 * UNIT);
    let url = sim.open_session(Some(source.len() as u64));
    let config = Config::gcs_session(SessionUrl::new(&url), Some(source.len() as u64));
    let first = MemoryCheckpointStore::new();
    sim.uploader()
        .checkpoint_store(first.clone())
        .run(
            config.clone(),
            &mut BytesSource::new(source.clone()),
            Some("a"),
        )
        .await
        .unwrap_err();
    // Another process: the checkpoint handed over in memory.
    let mut second = MemoryCheckpointStore::new();
    let checkpoint = first.get("a").unwrap();
    resumable_tokio::CheckpointStore::save(&mut second, "b", &checkpoint).unwrap();
    let ranges_before = sim.ranges().len();
    sim.uploader()
        .checkpoint_store(second.clone())
        .run(config, &mut BytesSource::new(source.clone()), Some("b"))
        .await
        .unwrap();
    assert_eq!(sim.object(&url).unwrap(), source);
    assert_eq!(
        sim.ranges()[ranges_before],
        "bytes */786432",
        "a resume starts with a status query"
    );
    assert_eq!(sim.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn a_dropped_upload_is_cancelled_by_its_key() {
    let sim = SimTransport::new().fault(3, SimFault::Stall);
    let url = sim.open_session(Some(3 * UNIT));
    let store = MemoryCheckpointStore::new();
    let mut up = sim.uploader().checkpoint_store(store.clone());
    let config = Config::gcs_session(SessionUrl::new(&url), Some(3 * UNIT));
    let mut source = BytesSource::new(bytes(3 * UNIT));
    // A status query, one chunk persisted, then a chunk that never ends:
    // the future is dropped while it hangs.
    tokio::select! {
        result = up.run(config, &mut source, Some("k")) => panic!("finished: {result:?}"),
        () = async {
            while sim.requests() < 3 {
                tokio::task::yield_now().await;
            }
        } => {}
    }
    assert_eq!(store.get("k").unwrap().persisted, UNIT);
    assert!(up.cancel("k").await.unwrap());
    assert_eq!(sim.standing(&url), Some(Standing::Cancelled));
    assert_eq!(store.get("k"), None);
    assert!(!up.cancel("k").await.unwrap(), "nothing left to cancel");
    assert_eq!(sim.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_before_any_request() {
    let sim = SimTransport::new();
    let plain = "http://storage.example/upload?upload_id=SECRETID";
    for url in [
        plain,
        // Userinfo that looks like loopback does not make the host loopback.
        "http://127.0.0.1@storage.example/upload?upload_id=SECRETID",
    ] {
        let err = sim
            .uploader()
            .upload_to_session(SessionUrl::new(url), &mut BytesSource::new(bytes(10)))
            .await
            .unwrap_err();
        let UploadError::Insecure { host } = &err else {
            panic!("{url}: {err:?}");
        };
        assert_eq!(host, "storage.example");
        assert!(!err.to_string().contains("SECRETID"), "{err}");
    }
    assert_eq!(sim.requests(), 0);
    // Allowed explicitly, it goes through.
    sim.open_session_at(plain, Some(10));
    sim.uploader()
        .allow_insecure_http(true)
        .upload_to_session(SessionUrl::new(plain), &mut BytesSource::new(bytes(10)))
        .await
        .unwrap();
    assert_eq!(sim.object(plain).unwrap(), bytes(10));
    assert_eq!(sim.violations(), Vec::<String>::new());
}
