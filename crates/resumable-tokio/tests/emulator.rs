//! Real sockets: the default hyper transport against the local emulator of
//! the file API and the GCS resumable endpoint, with its scripted faults.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "hyper")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use resumable_core::{
    Chunking, Error, Event, GcsInitiate, Preconditions, ProtocolError, RetryPolicy, Secret,
};
use resumable_emulator::{Emulator, EmulatorHandle, RequestKind, Storage};
use resumable_testkit::MemoryCheckpointStore;
use resumable_tokio::{
    FileApiTarget, FileCheckpointStore, LockHolder, ReadSource, UploadError, Uploader,
    checkpoint_key,
};
use tokio::sync::mpsc;

const K256: usize = 256 * 1024;

async fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .storage(Storage::Memory)
        .start()
        .await
        .unwrap()
}

fn api(emu: &EmulatorHandle) -> FileApiTarget {
    FileApiTarget {
        api_base: emu.base_url().into(),
        organization: "org_1".into(),
        api_key: Secret::new(emu.api_key()),
        mime_type: None,
        filename: None,
    }
}

fn data(len: usize, salt: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 11) ^ salt) as u8)
        .collect()
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        ..RetryPolicy::default()
    }
}

fn uploader() -> Uploader<resumable_tokio::HyperTransport> {
    Uploader::new()
        .chunking(Chunking::Fixed(K256 as u64))
        .retry(fast_retry())
}

/// The registered File's `gcs_path`.
fn gcs_path(outcome: &resumable_core::Outcome) -> String {
    let file = outcome.file.as_ref().unwrap();
    file.fields["gcs_path"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_size_round_trips_and_the_key_never_reaches_the_upload_host() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let mut up = uploader();
    let sizes = [1, K256 - 1, K256, K256 + 1, 3 * K256];
    for (i, &size) in sizes.iter().enumerate() {
        let bytes = data(size, i);
        let path = write_file(dir.path(), &format!("file-{size}.bin"), &bytes);
        let outcome = up.upload_file(&api(&emu), &path).await.unwrap();
        let file = outcome.file.as_ref().unwrap();
        assert!(file.id.starts_with("file"), "{file:?}");
        assert_eq!(file.fields["filename"], format!("file-{size}.bin"));
        assert_eq!(file.fields["mime_type"], "application/octet-stream");
        assert_eq!(outcome.object.size, size as u64);
        assert_eq!(outcome.crc32c, Some(crc32c::crc32c(&bytes)));
        assert_eq!(
            emu.object_bytes(&gcs_path(&outcome)).unwrap(),
            bytes,
            "size {size}"
        );
    }
    assert_eq!(emu.registrations(), sizes.len() as u64);
    assert_eq!(emu.sessions_created(), sizes.len() as u64);
    let log = emu.request_log();
    for record in &log {
        if record.kind.is_upload_endpoint() {
            assert!(
                !record.x_api_key,
                "API key sent to the upload host: {record:?}"
            );
            assert!(!record.authorization, "{record:?}");
        } else {
            assert!(record.x_api_key, "{record:?}");
        }
    }
    // An exact multiple of the chunk size ends with a chunk naming the total.
    let last_chunk = log
        .iter()
        .rfind(|r| matches!(r.kind, RequestKind::Chunk | RequestKind::Final))
        .unwrap();
    assert_eq!(
        last_chunk.content_range.as_deref(),
        Some("bytes 524288-786431/786432")
    );
}

#[tokio::test]
async fn the_mime_type_is_guessed_and_the_name_can_be_set() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "clip.mp4", &data(1000, 1));
    let outcome = uploader().upload_file(&api(&emu), &path).await.unwrap();
    assert_eq!(outcome.file.unwrap().fields["mime_type"], "video/mp4");
    let target = FileApiTarget {
        filename: Some("renamed.txt".into()),
        mime_type: Some("text/plain".into()),
        ..api(&emu)
    };
    let outcome = uploader().upload_file(&target, &path).await.unwrap();
    let file = outcome.file.unwrap();
    assert_eq!(file.fields["filename"], "renamed.txt");
    assert_eq!(file.fields["mime_type"], "text/plain");
}

#[tokio::test]
async fn every_scripted_fault_is_survived_with_the_bytes_intact() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(4 * K256 + 5, 7);
    let path = write_file(dir.path(), "faults.bin", &bytes);
    // (fault spec, session restarts it causes)
    let cases = [
        ("chunk#2 status=503", 0),
        ("chunk#1 status=429 retry-after=1", 0),
        ("put#3 status=500 after=256KiB", 0),
        ("request#4 reset after=100000", 0),
        ("chunk#2 reset after=300KiB", 0),
        ("final#1 drop-response", 0),
        ("final#1 status=503 after=1KiB", 0),
        ("chunk#2 short=256KiB", 0),
        ("chunk#1 status=503; query#1 no-range", 0),
        ("chunk override-308", 0),
        ("chunk#2 stall=1500ms", 0),
        ("chunk#3 expire", 1),
        ("chunk#2 kill", 1),
        (
            "chunk#1 kill session=NEXT; chunk#2 status=503 session=AFTER",
            1,
        ),
        ("register#1 status=503", 0),
        ("register#1 drop-response", 0),
        ("upload-url#1 status=500", 0),
        ("upload-url#1 reset", 0),
    ];
    let mut registrations = 0;
    for (spec, restarts) in cases {
        emu.clear_faults();
        // Sessions are numbered over the emulator's life.
        let next = emu.sessions_created() + 1;
        let spec = spec
            .replace("NEXT", &next.to_string())
            .replace("AFTER", &(next + 1).to_string());
        emu.add_faults(&spec).unwrap();
        let outcome = uploader()
            .timeouts(Duration::from_secs(5), Duration::from_millis(500))
            .upload_file(&api(&emu), &path)
            .await
            .unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!(outcome.restarts, restarts, "{spec}");
        assert_eq!(
            emu.object_bytes(&gcs_path(&outcome)).unwrap(),
            bytes,
            "{spec}"
        );
        registrations += 1;
        assert_eq!(
            emu.registrations(),
            registrations,
            "{spec}: registered once"
        );
        // A stalled request is logged only when it ends, after the upload
        // gave up on it and went on with a status query.
        let log = emu.request_log();
        assert!(
            log.iter()
                .any(|r| r.fault.is_some() || r.kind == RequestKind::Query),
            "{spec}: the fault fired: {log:#?}"
        );
        emu.clear_request_log();
    }
}

#[tokio::test]
async fn persisted_going_backwards_is_a_protocol_error() {
    let emu = emulator().await;
    emu.add_faults("chunk#2 status=503; query#1 no-range")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "back.bin", &data(3 * K256, 3));
    let err = uploader().upload_file(&api(&emu), &path).await.unwrap_err();
    assert!(
        matches!(
            err,
            UploadError::Upload(Error::Protocol(ProtocolError::OffsetBackwards { .. }))
        ),
        "{err}"
    );
    assert_eq!(emu.registrations(), 0, "nothing unverified is registered");
}

#[tokio::test]
async fn an_upload_dropped_mid_way_resumes_from_its_checkpoint() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("checkpoints");
    let bytes = data(8 * K256 + 99, 5);
    let path = write_file(dir.path(), "resume.bin", &bytes);
    let target = api(&emu);
    let key = checkpoint_key(&target, &path);

    // The first run is dropped once the server holds 3 chunks.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut first = uploader()
        .checkpoint_store(FileCheckpointStore::new(&state).unwrap())
        .on_event(move |e| {
            if let Event::Persisted { offset, .. } = e {
                let _ = tx.send(*offset);
            }
        });
    {
        let upload = first.upload_file(&target, &path);
        tokio::pin!(upload);
        loop {
            tokio::select! {
                result = &mut upload => panic!("finished before it was dropped: {result:?}"),
                Some(offset) = rx.recv() => if offset >= 3 * K256 as u64 { break },
            }
        }
    }
    // The save under way when the future was dropped has completed.
    let checkpoint = first.load_checkpoint(&key).await.unwrap().unwrap();
    assert!(checkpoint.persisted >= 3 * K256 as u64, "{checkpoint:?}");
    drop(first);
    let mut store = FileCheckpointStore::new(&state).unwrap();
    emu.clear_request_log();

    // A new uploader, as in a new process, resumes with a status query.
    let outcome = uploader()
        .checkpoint_store(FileCheckpointStore::new(&state).unwrap())
        .upload_file(&target, &path)
        .await
        .unwrap();
    assert_eq!(
        emu.sessions_created(),
        1,
        "the session was resumed, not replaced"
    );
    assert_eq!(emu.object_bytes(&gcs_path(&outcome)).unwrap(), bytes);
    assert_eq!(outcome.crc32c, Some(crc32c::crc32c(&bytes)));
    let log = emu.request_log();
    assert_eq!(log[0].kind, RequestKind::Query, "{log:#?}");
    let resent: u64 = log.iter().map(|r| r.bytes_received).sum();
    assert!(
        resent < bytes.len() as u64,
        "only the rest was sent: {resent}"
    );
    let left = resumable_tokio::CheckpointStore::load(&mut store, &key).unwrap();
    assert_eq!(left, None, "the checkpoint is removed once registered");
}

/// A file upload that the emulator refused with a `400` at one chunk; its
/// checkpoint is kept in `store` under `key`. The file lives as long as it.
struct Refused {
    emu: EmulatorHandle,
    _dir: tempfile::TempDir,
    path: PathBuf,
    target: FileApiTarget,
    key: String,
    store: MemoryCheckpointStore,
    up: Uploader<resumable_tokio::HyperTransport>,
}

/// Uploads `bytes` as a file, refused at chunk `n` (from 1).
async fn refused_at_chunk(n: u32, bytes: &[u8]) -> Refused {
    let emu = emulator().await;
    emu.add_faults(&format!("chunk#{n} status=400")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "refused.bin", bytes);
    let store = MemoryCheckpointStore::new();
    let mut up = uploader().checkpoint_store(store.clone());
    let target = api(&emu);
    let err = up.upload_file(&target, &path).await.unwrap_err();
    assert!(
        matches!(
            err,
            UploadError::Upload(Error::Rejected { status: 400, .. })
        ),
        "{err}"
    );
    let key = checkpoint_key(&target, &path);
    assert!(
        store.get(&key).is_some(),
        "the checkpoint is kept to resume"
    );
    emu.clear_faults();
    Refused {
        emu,
        _dir: dir,
        path,
        target,
        key,
        store,
        up,
    }
}

#[tokio::test]
async fn a_changed_file_is_refused_with_a_way_to_start_over() {
    let mut r = refused_at_chunk(2, &data(3 * K256, 1)).await;
    let bytes = data(3 * K256 + 1, 2);
    std::fs::write(&r.path, &bytes).unwrap();
    let err = r.up.upload_file(&r.target, &r.path).await.unwrap_err();
    assert!(matches!(err, UploadError::Changed), "{err}");
    assert!(err.to_string().contains("remove its checkpoint"), "{err}");
    // Starting over: the old session is deleted with its checkpoint.
    assert!(r.up.cancel(&r.key).await.unwrap());
    let outcome = r.up.upload_file(&r.target, &r.path).await.unwrap();
    assert_eq!(r.emu.object_bytes(&gcs_path(&outcome)).unwrap(), bytes);
}

#[tokio::test]
async fn a_checkpoint_of_an_expired_session_starts_a_new_one() {
    let bytes = data(4 * K256, 9);
    let mut r = refused_at_chunk(3, &bytes).await;

    // The session expired while the process was away.
    let mut checkpoint = r.store.get(&r.key).unwrap();
    assert_eq!(checkpoint.persisted, 2 * K256 as u64);
    let session = checkpoint.session.as_mut().unwrap();
    session.expires_at = Some(std::time::UNIX_EPOCH + Duration::from_secs(1));
    resumable_tokio::CheckpointStore::save(&mut r.store, &r.key, &checkpoint).unwrap();

    let outcome = r.up.upload_file(&r.target, &r.path).await.unwrap();
    assert_eq!(
        r.emu.sessions_created(),
        2,
        "a new session replaced the expired one"
    );
    assert_eq!(r.emu.object_bytes(&gcs_path(&outcome)).unwrap(), bytes);
    assert_eq!(r.store.get(&r.key), None);
}

#[tokio::test]
async fn a_dropped_upload_is_cancelled_by_its_key() {
    let emu = emulator().await;
    emu.add_faults("chunk#3 stall=5s").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "cancel.bin", &data(6 * K256, 4));
    let store = MemoryCheckpointStore::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut up = uploader()
        .checkpoint_store(store.clone())
        .on_event(move |e| {
            if let Event::Persisted { offset, .. } = e {
                let _ = tx.send(*offset);
            }
        });
    let target = api(&emu);
    // Dropped while the third chunk hangs.
    tokio::select! {
        result = up.upload_file(&target, &path) => panic!("finished: {result:?}"),
        () = async {
            while rx.recv().await.is_some_and(|offset| offset < 2 * K256 as u64) {}
        } => {}
    }
    let key = checkpoint_key(&target, &path);
    assert!(up.cancel(&key).await.unwrap());
    assert_eq!(store.get(&key), None);
    let log = emu.request_log();
    let delete = log.iter().find(|r| r.kind == RequestKind::Delete).unwrap();
    assert_eq!(delete.status, Some(499));
    assert_eq!(emu.registrations(), 0);
}

#[tokio::test]
async fn a_failed_upload_is_cancelled_by_its_key() {
    let mut r = refused_at_chunk(2, &data(3 * K256, 6)).await;
    assert!(r.up.load_checkpoint(&r.key).await.unwrap().is_some());
    assert!(r.up.cancel(&r.key).await.unwrap());
    assert_eq!(r.store.get(&r.key), None);
    let log = r.emu.request_log();
    let delete = log.iter().find(|l| l.kind == RequestKind::Delete).unwrap();
    assert_eq!(delete.status, Some(499));
    assert!(!delete.x_api_key);
    assert!(
        !r.up.cancel(&r.key).await.unwrap(),
        "nothing left to cancel"
    );
}

#[tokio::test]
async fn streams_of_unknown_length_go_to_an_initiated_gcs_session() {
    let emu = emulator().await;
    for (i, len) in [0, 2 * K256, 2 * K256 + 1].into_iter().enumerate() {
        let bytes = data(len, i);
        let init = GcsInitiate {
            endpoint: emu.base_url().to_owned(),
            bucket: emu.bucket().to_owned(),
            object: format!("streams/s-{len}"),
            content_type: Some("application/x-tar".into()),
            bearer_token: Some(Secret::new("token")),
            ..Default::default()
        };
        emu.add_faults("chunk#2 status=503").unwrap();
        let outcome = uploader()
            .upload_gcs(init, &mut ReadSource::new(&bytes[..]))
            .await
            .unwrap_or_else(|e| panic!("{len}: {e}"));
        emu.clear_faults();
        assert_eq!(outcome.object.size, len as u64);
        assert_eq!(
            emu.object_bytes(&format!("streams/s-{len}")).unwrap(),
            bytes
        );
    }
    let log = emu.request_log();
    assert!(log.iter().all(|r| !r.x_api_key));
    // Every request is sized before it is sent, so none is chunked.
    for r in log.iter().filter(|r| r.method == "PUT") {
        assert!(!r.chunked && r.content_length.is_some(), "{r:?}");
    }
    let initiates: Vec<_> = log
        .iter()
        .filter(|r| r.kind == RequestKind::Initiate)
        .collect();
    assert!(initiates.iter().all(|r| r.authorization));
    let others = log.iter().filter(|r| r.kind != RequestKind::Initiate);
    assert!(
        others.into_iter().all(|r| !r.authorization),
        "the token goes to initiate only"
    );
}

#[tokio::test]
async fn a_missing_file_or_a_directory_is_a_source_error() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let err = uploader()
        .upload_file(&api(&emu), dir.path().join("nope.bin"))
        .await
        .unwrap_err();
    assert!(matches!(&err, UploadError::Source(e) if e.kind() == std::io::ErrorKind::NotFound));
    assert!(err.to_string().contains("nope.bin"), "{err}");
    let err = uploader()
        .upload_file(&api(&emu), dir.path())
        .await
        .unwrap_err();
    assert!(matches!(err, UploadError::Source(_)), "{err}");
    let empty = write_file(dir.path(), "empty.bin", b"");
    let err = uploader()
        .upload_file(&api(&emu), &empty)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    assert!(emu.request_log().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_wrong_api_key_is_an_api_error() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "a.bin", b"abc");
    let target = FileApiTarget {
        api_key: Secret::new("wrong"),
        ..api(&emu)
    };
    let err = uploader().upload_file(&target, &path).await.unwrap_err();
    assert!(
        matches!(err, UploadError::Upload(Error::Api { status: 401, .. })),
        "{err}"
    );
    assert!(
        !format!("{err} {err:?}").contains("wrong"),
        "the key never shows: {err:?}"
    );
}

#[tokio::test]
async fn a_file_larger_than_the_api_accepts_is_refused_before_any_byte() {
    let emu = Emulator::builder()
        .storage(Storage::Memory)
        .max_file_size(2)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "a.bin", b"abc");
    let err = uploader().upload_file(&api(&emu), &path).await.unwrap_err();
    assert!(
        matches!(
            err,
            UploadError::Upload(Error::Api { status: 413, .. } | Error::FileTooLarge { .. })
        ),
        "{err}"
    );
    assert!(
        emu.request_log()
            .iter()
            .all(|r| !r.kind.is_upload_endpoint()),
        "no byte was sent"
    );
    assert_eq!(emu.registrations(), 0);
}

/// Returns once the emulator holds a request (a `stall=` fault).
async fn until_held(emu: &EmulatorHandle) {
    let wait = async {
        while emu.stats().held == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("a request is held");
}

#[tokio::test]
async fn a_second_upload_of_a_file_being_uploaded_is_refused_and_cannot_cancel_it() {
    let emu = emulator().await;
    emu.add_faults("chunk#2 stall=3s").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("checkpoints");
    let bytes = data(4 * K256, 13);
    let path = write_file(dir.path(), "twice.bin", &bytes);
    let target = api(&emu);
    let key = checkpoint_key(&target, &path);
    let first = tokio::spawn({
        let (state, path, target) = (state.clone(), path.clone(), target.clone());
        async move {
            uploader()
                .checkpoint_store(FileCheckpointStore::new(&state).unwrap())
                .upload_file(&target, &path)
                .await
        }
    });
    until_held(&emu).await;
    assert!(!first.is_finished());

    // Another upload of this process, through its own store on the same
    // directory, as a second run would.
    let me = Some(std::process::id());
    let mut second = uploader().checkpoint_store(FileCheckpointStore::new(&state).unwrap());
    let err = second.upload_file(&target, &path).await.unwrap_err();
    assert!(
        matches!(err, UploadError::Busy { pid } if pid == me),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("(pid {})", std::process::id())) && message.contains("wait"),
        "{message}"
    );
    let err = second.cancel(&key).await.unwrap_err();
    assert!(
        matches!(err, UploadError::Busy { pid } if pid == me),
        "{err}"
    );
    let store = FileCheckpointStore::new(&state).unwrap();
    assert_eq!(store.holder(&key).unwrap(), Some(LockHolder { pid: me }));
    assert_eq!(
        store.list().unwrap().len(),
        1,
        "its checkpoint is left alone"
    );

    let outcome = first.await.unwrap().unwrap();
    assert_eq!(emu.object_bytes(&gcs_path(&outcome)).unwrap(), bytes);
    assert_eq!(emu.registrations(), 1, "one File");
    assert_eq!(emu.sessions_created(), 1, "one session");
    assert!(
        !emu.request_log()
            .iter()
            .any(|r| r.kind == RequestKind::Delete),
        "the live session was not deleted"
    );
    assert_eq!(store.holder(&key).unwrap(), None, "released once done");

    // An upload whose future is dropped lets go of the lock at once.
    std::fs::write(&path, data(4 * K256, 14)).unwrap();
    emu.add_faults("chunk#2 stall=3s").unwrap();
    tokio::select! {
        result = second.upload_file(&target, &path) => panic!("finished: {result:?}"),
        () = until_held(&emu) => {}
    }
    assert_eq!(
        store.holder(&key).unwrap(),
        None,
        "released with the future"
    );
    assert!(
        second.cancel(&key).await.unwrap(),
        "the dropped upload is cancelled"
    );
    assert_eq!(emu.registrations(), 1);
}

#[test]
fn upload_futures_can_be_spawned() {
    fn assert_send<T: Send>(_: &T) {}
    let mut up = Uploader::new();
    let api = FileApiTarget {
        api_base: "https://api.example".into(),
        organization: "org".into(),
        api_key: Secret::new("k"),
        mime_type: None,
        filename: None,
    };
    let future = up.upload_file(&api, "/nonexistent");
    assert_send(&future);
}

#[tokio::test]
async fn answers_cut_short_are_asked_again_and_the_upload_ends_well() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(3 * K256 + 1000, 19);
    let path = write_file(dir.path(), "cut.bin", &bytes);
    let specs = [
        "final#1 cut=0",
        "final#1 cut=25",
        "final#1 cut-close=25",
        "chunk#2 cut-close=0",
        "chunk#1 status=503; query#1 cut-close=3",
        "upload-url#1 cut=10",
        "upload-url#1 cut-close=10",
        "register#1 cut=0",
        "register#1 cut-close=4",
    ];
    for (i, spec) in specs.into_iter().enumerate() {
        emu.clear_faults();
        emu.clear_request_log();
        emu.add_faults(spec).unwrap();
        let outcome = uploader()
            .upload_file(&api(&emu), &path)
            .await
            .unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!(
            emu.object_bytes(&gcs_path(&outcome)).unwrap(),
            bytes,
            "{spec}"
        );
        assert_eq!(emu.registrations(), i as u64 + 1, "{spec}: registered once");
        assert!(
            emu.request_log().iter().any(|r| r.outcome == "fault-cut"),
            "{spec}: the fault fired"
        );
    }
}

/// Rewrites `path` with other bytes of the same length and puts its
/// modification time back, as `rsync -t` or `tar -x` do.
fn rewrite_keeping_size_and_mtime(path: &Path, bytes: &[u8]) {
    let modified = std::fs::metadata(path).unwrap().modified().unwrap();
    std::fs::write(path, bytes).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.set_modified(modified).unwrap();
}

#[tokio::test]
async fn a_file_rewritten_with_its_size_and_mtime_kept_does_not_resume() {
    let bytes = data(4 * K256, 21);
    let mut other = bytes.clone();
    other[10] ^= 1;
    for verify in [true, false] {
        let r = refused_at_chunk(3, &bytes).await;
        rewrite_keeping_size_and_mtime(&r.path, &other);
        r.emu.clear_request_log();
        let mut up = uploader()
            .checkpoint_store(r.store.clone())
            .verify_resumed_prefix(verify);
        let result = up.upload_file(&r.target, &r.path).await;
        if verify {
            assert!(matches!(result, Err(UploadError::Changed)), "{result:?}");
            assert!(r.emu.request_log().is_empty(), "refused before any request");
            assert_eq!(r.emu.registrations(), 0);
        } else {
            // Without the check the hole is there: old prefix, new suffix, and
            // every check passes, since the CRC32C hashed what was sent.
            let outcome = result.unwrap();
            let stored = r.emu.object_bytes(&gcs_path(&outcome)).unwrap();
            assert_eq!(stored[10], bytes[10], "the old prefix");
            assert_ne!(stored, other);
        }
    }
}

#[tokio::test]
async fn if_generation_match_0_uploads_once_and_never_overwrites() {
    let emu = emulator().await;
    let init = || GcsInitiate {
        endpoint: emu.base_url().to_owned(),
        bucket: emu.bucket().to_owned(),
        object: "once.bin".into(),
        preconditions: Preconditions {
            if_generation_match: Some(0),
            ..Default::default()
        },
        ..Default::default()
    };
    let first = data(2 * K256 + 5, 41);
    let outcome = uploader()
        .upload_gcs(init(), &mut ReadSource::new(&first[..]))
        .await
        .unwrap();
    let second = data(K256, 42);
    let error = uploader()
        .upload_gcs(init(), &mut ReadSource::new(&second[..]))
        .await
        .unwrap_err();
    assert!(
        matches!(error, UploadError::Upload(Error::PreconditionFailed { .. })),
        "{error}"
    );
    assert_eq!(emu.object_bytes("once.bin").unwrap(), first);
    let generation = emu.object("once.bin").unwrap().generation.to_string();
    assert_eq!(outcome.object.generation, Some(generation));
    // The refused initiation was not retried, and nothing followed it.
    let log = emu.request_log();
    let last = log.last().unwrap();
    assert_eq!((last.kind, last.status), (RequestKind::Initiate, Some(412)));
    let initiates = log
        .iter()
        .filter(|r| r.kind == RequestKind::Initiate)
        .count();
    assert_eq!(initiates, 2);
}
