//! A custom transport plugged in through `AsyncTransport`, without hyper: an
//! in-memory GCS resumable server with scripted faults.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use resumable_core::{Chunking, Config, Event, Outcome, SessionUrl, TransportErrorKind};
use resumable_testkit::MemoryCheckpointStore;
use resumable_tokio::{BytesSource, ReadSource, UploadError};

#[path = "support/mock.rs"]
mod mock;

use mock::{Fault, K256, Mock, SESSION, data, uploader};

#[tokio::test]
async fn uploads_bytes_in_streamed_frames() {
    let mock = Mock::default();
    let source = data(3 * K256 + 17);
    let outcome = uploader(&mock)
        .chunking(Chunking::Fixed(2 * K256 as u64))
        .upload_to_session(
            SessionUrl::new(SESSION),
            &mut BytesSource::new(source.clone()),
        )
        .await
        .unwrap();
    let server = mock.server();
    assert_eq!(server.stored, source);
    assert_eq!(outcome.object.size, source.len() as u64);
    assert_eq!(outcome.crc32c, Some(crc32c::crc32c(&source)));
    // A 512 KiB chunk is streamed as several frames, never as one buffer.
    assert!(
        server.largest_frame <= 128 * 1024,
        "{}",
        server.largest_frame
    );
    assert!(server.frames >= 4, "{}", server.frames);
    assert_eq!(
        server.ranges,
        [
            "bytes */786449",
            "bytes 0-524287/786449",
            "bytes 524288-786448/786449"
        ]
    );
}

/// Uploads `source` to the mock's session and checks it arrived; the
/// outcome and every event.
async fn upload_watched(mock: &Mock, source: &Bytes) -> (Outcome, Vec<Event>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let outcome = uploader(mock)
        .on_event(move |e| seen.lock().unwrap().push(e.clone()))
        .upload_to_session(
            SessionUrl::new(SESSION),
            &mut BytesSource::new(source.clone()),
        )
        .await
        .unwrap();
    assert_eq!(mock.server().stored, *source);
    let events = events.lock().unwrap().clone();
    (outcome, events)
}

#[tokio::test]
async fn recovers_from_every_scripted_fault() {
    let mock = Mock::with_faults(&[
        (2, Fault::Status(503)),
        (4, Fault::Short(1)),
        (6, Fault::LoseAnswer),
    ]);
    let source = data(5 * K256 + 3);
    let (outcome, events) = upload_watched(&mock, &source).await;
    assert_eq!(outcome.crc32c, Some(crc32c::crc32c(&source)));
    let retries = events
        .iter()
        .filter(|e| matches!(e, Event::Retrying { .. }))
        .count();
    assert!(retries >= 2, "{events:?}");
    assert!(matches!(events.last(), Some(Event::Finalized { .. })));
}

#[tokio::test]
async fn a_stream_of_unknown_length_is_sent_with_its_total_at_the_end() {
    for len in [0, 1, K256 - 1, K256, K256 + 1, 3 * K256] {
        let mock = Mock::default();
        let source = data(len);
        let outcome = uploader(&mock)
            .upload_to_session(SessionUrl::new(SESSION), &mut ReadSource::new(&source[..]))
            .await
            .unwrap();
        let server = mock.server();
        assert_eq!(server.stored, source, "len {len}");
        assert_eq!(outcome.object.size, len as u64);
        // The last data request names the total: the stream's end was seen
        // one byte ahead, so no chunk went out as `*` and then came up short.
        let last_data = server
            .ranges
            .iter()
            .rev()
            .find(|r| !r.starts_with("bytes */"));
        if len > 0 {
            assert!(
                last_data.unwrap().ends_with(&format!("/{len}")),
                "{:?}",
                server.ranges
            );
        }
        // At most one chunk ahead was read: non-final chunks go out as `/*`.
        let unknown = server.ranges.iter().filter(|r| r.ends_with("/*")).count();
        assert!(unknown <= len / K256 + 1, "{:?}", server.ranges);
    }
}

#[tokio::test]
async fn a_stream_resends_what_the_server_did_not_keep() {
    let mock = Mock::with_faults(&[(3, Fault::Short(1)), (5, Fault::LoseAnswer)]);
    let source = data(6 * K256 + 5);
    uploader(&mock)
        .upload_to_session(SessionUrl::new(SESSION), &mut ReadSource::new(&source[..]))
        .await
        .unwrap();
    assert_eq!(mock.server().stored, source);
}

/// With a transport of one's own the stall timeout is 60 s: tokio's paused
/// clock jumps to it.
#[tokio::test(start_paused = true)]
async fn a_stalled_transport_times_out_and_is_retried() {
    let mock = Mock::with_faults(&[(2, Fault::Stall)]);
    let (_, events) = upload_watched(&mock, &data(2 * K256)).await;
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
    assert!(timed_out);
}

#[tokio::test]
async fn a_failed_upload_resumes_from_its_checkpoint() {
    let mock = Mock::with_faults(&[(3, Fault::Status(400))]);
    let source = data(4 * K256 + 1);
    let store = MemoryCheckpointStore::new();
    let mut up = uploader(&mock).checkpoint_store(store.clone());
    let config = Config::gcs_session(SessionUrl::new(SESSION), Some(source.len() as u64));
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
    assert_eq!(checkpoint.persisted, K256 as u64);
    let outcome = up
        .run(config, &mut BytesSource::new(source.clone()), Some("k"))
        .await
        .unwrap();
    assert_eq!(mock.server().stored, source);
    assert_eq!(outcome.crc32c, Some(crc32c::crc32c(&source)));
    assert_eq!(store.get("k"), None, "removed once done");
}

#[tokio::test]
async fn a_checkpoint_saved_elsewhere_is_resumed_by_its_key() {
    let mock = Mock::with_faults(&[(3, Fault::Status(400))]);
    let source = data(3 * K256);
    let config = Config::gcs_session(SessionUrl::new(SESSION), Some(source.len() as u64));
    let first = MemoryCheckpointStore::new();
    uploader(&mock)
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
    let ranges_before = mock.server().ranges.len();
    uploader(&mock)
        .checkpoint_store(second.clone())
        .run(config, &mut BytesSource::new(source.clone()), Some("b"))
        .await
        .unwrap();
    assert_eq!(mock.server().stored, source);
    let server = mock.server();
    assert_eq!(
        server.ranges[ranges_before], "bytes */786432",
        "a resume starts with a status query"
    );
}

#[tokio::test]
async fn a_dropped_upload_is_cancelled_by_its_key() {
    let mock = Mock::with_faults(&[(3, Fault::Stall)]);
    let store = MemoryCheckpointStore::new();
    let mut up = uploader(&mock).checkpoint_store(store.clone());
    let config = Config::gcs_session(SessionUrl::new(SESSION), Some(3 * K256 as u64));
    let mut source = BytesSource::new(data(3 * K256));
    // A status query, one chunk persisted, then a chunk that never ends:
    // the future is dropped while it hangs.
    tokio::select! {
        result = up.run(config, &mut source, Some("k")) => panic!("finished: {result:?}"),
        () = async {
            while mock.server().puts < 3 {
                tokio::task::yield_now().await;
            }
        } => {}
    }
    assert_eq!(store.get("k").unwrap().persisted, K256 as u64);
    assert!(up.cancel("k").await.unwrap());
    assert!(mock.server().deleted);
    assert_eq!(store.get("k"), None);
    assert!(!up.cancel("k").await.unwrap(), "nothing left to cancel");
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_before_any_request() {
    let mock = Mock::default();
    for url in [
        "http://storage.example/upload?upload_id=SECRETID",
        // Userinfo that looks like loopback does not make the host loopback.
        "http://127.0.0.1@storage.example/upload?upload_id=SECRETID",
    ] {
        let err = uploader(&mock)
            .upload_to_session(SessionUrl::new(url), &mut BytesSource::new(data(10)))
            .await
            .unwrap_err();
        let UploadError::Insecure { host } = &err else {
            panic!("{url}: {err:?}");
        };
        assert_eq!(host, "storage.example");
        assert!(!err.to_string().contains("SECRETID"), "{err}");
    }
    assert_eq!(mock.server().puts, 0);
    // Allowed explicitly, it goes through.
    uploader(&mock)
        .allow_insecure_http(true)
        .upload_to_session(
            SessionUrl::new("http://storage.example/upload?upload_id=SECRETID"),
            &mut BytesSource::new(data(10)),
        )
        .await
        .unwrap();
}
