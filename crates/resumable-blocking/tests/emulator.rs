//! The blocking driver against the emulator, over real sockets: sizes, every
//! scripted fault, resume, cancel, secrets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use resumable_blocking::{
    BytesSource, FileApiTarget, FileCheckpointStore, LockHolder, ReadSource, StopHandle,
    UploadError, Uploader,
};
use resumable_core::{Chunking, Error, Event, GcsInitiate, Preconditions, RetryPolicy, Secret};
use resumable_emulator::{Emulator, EmulatorHandle, RequestKind, Storage};
use resumable_testkit::MemoryCheckpointStore;

const KEY: &str = "test-key";
const UNIT: u64 = 256 * 1024;

fn emulator(faults: &str) -> EmulatorHandle {
    Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Memory)
        .faults(faults)
        .seed(7)
        .start_in_background()
        .expect("emulator starts")
}

fn api(emu: &EmulatorHandle) -> FileApiTarget {
    FileApiTarget {
        api_base: emu.base_url().to_owned(),
        organization: "org_1".into(),
        api_key: Secret::new(KEY),
        mime_type: None,
        filename: None,
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        max_elapsed: Duration::from_secs(60),
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    }
}

fn uploader() -> Uploader<resumable_blocking::UreqTransport> {
    Uploader::new()
        .chunking(Chunking::Fixed(UNIT))
        .retry(fast_retries())
}

fn data(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn file_with(bytes: &[u8], name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
    (dir, path)
}

fn gcs_path(outcome: &resumable_core::Outcome) -> String {
    let file = outcome.file.as_ref().expect("registered");
    file.fields["gcs_path"].as_str().unwrap().to_owned()
}

/// The API key never reached the upload endpoint.
fn assert_key_stayed_home(emu: &EmulatorHandle) {
    for r in emu.request_log() {
        if r.kind.is_upload_endpoint() {
            assert!(!r.x_api_key, "X-API-Key sent to the upload host: {r:?}");
        }
    }
}

#[test]
fn files_of_every_boundary_size_arrive_intact() {
    let emu = emulator("");
    for (i, size) in [1, UNIT - 1, UNIT, UNIT + 1, 4 * UNIT]
        .into_iter()
        .enumerate()
    {
        let bytes = data(size as usize, i as u32);
        let (_dir, path) = file_with(&bytes, &format!("f{i}.bin"));
        let outcome = uploader().upload_file(&api(&emu), &path).unwrap();
        assert_eq!(
            emu.object_bytes(&gcs_path(&outcome)).unwrap(),
            bytes,
            "size {size}"
        );
        assert_eq!(outcome.crc32c, Some(crc32c::crc32c(&bytes)));
        assert_eq!(outcome.object.size, size);
    }
    assert_eq!(emu.registrations(), 5);
    assert_key_stayed_home(&emu);
    let finals: Vec<_> = emu
        .request_log()
        .into_iter()
        .filter(|r| r.x_goog_hash.is_some())
        .collect();
    assert_eq!(finals.len(), 5, "every final chunk carried its CRC32C");
}

#[test]
fn every_scripted_fault_is_survived() {
    let specs = [
        "chunk#2 status=503",
        "chunk#1 status=429 retry-after=1",
        "put#3 status=500 after=256KiB",
        "put#2 reset after=100000",
        "final#1 drop-response",
        "chunk#2 short=256KiB",
        "chunk#1 no-range",
        "chunk override-308",
        "query#1 status=502",
        "register#1 status=503",
        "upload-url#1 status=502",
        "register#1 drop-response",
        "chunk#2 kill",
        "chunk#2 expire",
        "chunk#1 status=408",
        "final#1 status=504",
    ];
    let bytes = data(3 * UNIT as usize + 1000, 9);
    let (_dir, path) = file_with(&bytes, "faults.mp4");
    for spec in specs {
        let emu = emulator(spec);
        let outcome = uploader()
            .upload_file(&api(&emu), &path)
            .unwrap_or_else(|e| panic!("{spec}: {e}"));
        let path = gcs_path(&outcome);
        assert_eq!(emu.object_bytes(&path).unwrap(), bytes, "{spec}");
        assert_eq!(emu.files().len(), 1, "{spec}: one File");
        assert_eq!(
            emu.object(&path).unwrap().content_type,
            "video/mp4",
            "{spec}"
        );
        assert_key_stayed_home(&emu);
    }
}

#[test]
fn a_stalled_server_times_out_and_the_upload_goes_on() {
    let emu = emulator("chunk#1 stall=3s");
    let bytes = data(2 * UNIT as usize, 3);
    let (_dir, path) = file_with(&bytes, "stall.bin");
    let mut up = uploader().timeouts(Duration::from_secs(5), Duration::from_millis(500));
    let outcome = up.upload_file(&api(&emu), &path).unwrap();
    assert_eq!(emu.object_bytes(&gcs_path(&outcome)).unwrap(), bytes);
}

#[test]
fn an_interrupted_upload_resumes_from_its_checkpoint() {
    let emu = emulator("");
    let bytes = data(8 * UNIT as usize, 5);
    let (dir, path) = file_with(&bytes, "resume.bin");
    let store_dir = dir.path().join("state");
    let stop = Arc::new(Mutex::new(None::<StopHandle>));
    let stopper = stop.clone();
    let mut first = uploader()
        .checkpoint_store(FileCheckpointStore::new(&store_dir).unwrap())
        .on_event(move |e| {
            if let Event::Persisted { offset, .. } = e
                && *offset >= 3 * UNIT
                && let Some(s) = stopper.lock().unwrap().as_ref()
            {
                s.stop();
            }
        });
    *stop.lock().unwrap() = Some(first.stop_handle());
    assert!(matches!(
        first.upload_file(&api(&emu), &path),
        Err(UploadError::Interrupted)
    ));
    drop(first);
    let persisted_before: u64 = emu.sessions()[0].persisted;
    assert_eq!(
        FileCheckpointStore::new(&store_dir)
            .unwrap()
            .list()
            .unwrap()
            .len(),
        1
    );

    emu.clear_request_log();
    let mut second = uploader().checkpoint_store(FileCheckpointStore::new(&store_dir).unwrap());
    let outcome = second.upload_file(&api(&emu), &path).unwrap();
    assert_eq!(emu.object_bytes(&gcs_path(&outcome)).unwrap(), bytes);
    let log = emu.request_log();
    assert_eq!(
        log[0].content_range.as_deref(),
        Some("bytes */2097152"),
        "resume starts with a status query"
    );
    assert_eq!(emu.sessions_created(), 1, "the same session went on");
    let sent: u64 = log
        .iter()
        .filter(|r| r.kind.is_upload_endpoint())
        .map(|r| r.bytes_received)
        .sum();
    assert!(persisted_before >= 3 * UNIT);
    assert_eq!(
        sent,
        bytes.len() as u64 - persisted_before,
        "only the bytes not yet persisted"
    );
    assert!(
        FileCheckpointStore::new(&store_dir)
            .unwrap()
            .list()
            .unwrap()
            .is_empty(),
        "checkpoint removed when done"
    );
}

#[test]
fn a_file_changed_since_the_checkpoint_is_refused() {
    let emu = emulator("chunk#2 status=400");
    let bytes = data(4 * UNIT as usize, 6);
    let (_dir, path) = file_with(&bytes, "changed.bin");
    let store = MemoryCheckpointStore::default();
    let mut up = uploader().checkpoint_store(store);
    assert!(matches!(
        up.upload_file(&api(&emu), &path),
        Err(UploadError::Upload(Error::Rejected { status: 400, .. }))
    ));
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"more")
        .unwrap();
    // The checkpoint of the failed attempt is kept; the changed file does not match it.
    assert!(matches!(
        up.upload_file(&api(&emu), &path),
        Err(UploadError::Changed)
    ));
}

#[test]
fn a_bad_key_and_a_file_too_large_get_their_errors() {
    let emu = emulator("");
    let (_dir, path) = file_with(b"abc", "a.txt");
    let mut target = api(&emu);
    target.api_key = Secret::new("wrong");
    match uploader().upload_file(&target, &path) {
        Err(UploadError::Upload(Error::Api {
            status: 401,
            message,
        })) => assert!(!message.is_empty()),
        other => panic!("{other:?}"),
    }
    let small = Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Memory)
        .max_file_size(2)
        .start_in_background()
        .unwrap();
    assert!(matches!(
        uploader().upload_file(&api(&small), &path),
        Err(UploadError::Upload(
            Error::Api { status: 413, .. } | Error::FileTooLarge { .. }
        ))
    ));
    assert_eq!(emu.registrations() + small.registrations(), 0);
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let (_dir, path) = file_with(b"abc", "a.txt");
    let target = FileApiTarget {
        api_base: "http://api.example".into(),
        organization: "o".into(),
        api_key: Secret::new(KEY),
        mime_type: None,
        filename: None,
    };
    assert!(matches!(
        uploader().upload_file(&target, &path),
        Err(UploadError::Insecure { .. })
    ));
}

#[test]
fn local_source_problems_are_typed_errors() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        uploader().upload_file(&api(&emu), dir.path().join("missing")),
        Err(UploadError::Source(_))
    ));
    assert!(matches!(
        uploader().upload_file(&api(&emu), dir.path()),
        Err(UploadError::Source(_))
    ));
    let (_d, empty) = file_with(b"", "empty.bin");
    assert!(matches!(
        uploader().upload_file(&api(&emu), &empty),
        Err(UploadError::Upload(Error::Config(_)))
    ));
    assert_eq!(emu.request_log().len(), 0, "nothing was sent");
}

#[test]
fn streams_of_unknown_length_upload_through_an_initiated_session() {
    let emu = emulator("");
    for (i, size) in [0, 1, UNIT, UNIT + 1, 3 * UNIT].into_iter().enumerate() {
        let bytes = data(size as usize, 20 + i as u32);
        let init = GcsInitiate {
            endpoint: emu.base_url().to_owned(),
            bucket: emu.bucket().to_owned(),
            object: format!("streams/{i}.bin"),
            content_type: Some("application/octet-stream".into()),
            bearer_token: Some(Secret::new("token")),
            ..Default::default()
        };
        let mut source = ReadSource::new(&bytes[..]);
        let outcome = uploader()
            .upload_gcs(init, &mut source)
            .unwrap_or_else(|e| panic!("size {size}: {e}"));
        assert_eq!(outcome.object.size, size);
        assert_eq!(
            emu.object_bytes(&format!("streams/{i}.bin")).unwrap(),
            bytes,
            "size {size}"
        );
    }
    // Every request is sized before it is sent, so none is chunked: the
    // source is read a chunk (and a byte) ahead, and the total found at its end.
    let puts: Vec<_> = emu
        .request_log()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert!(!puts.is_empty());
    for r in &puts {
        assert!(!r.chunked && r.content_length.is_some(), "{r:?}");
    }
}

#[test]
fn a_raw_session_url_uploads_bytes() {
    let emu = emulator("");
    let init = GcsInitiate {
        endpoint: emu.base_url().to_owned(),
        bucket: emu.bucket().to_owned(),
        object: "raw.bin".into(),
        content_type: None,
        bearer_token: None,
        ..Default::default()
    };
    let bytes = data(2 * UNIT as usize + 7, 31);
    let mut first = BytesSource::new(bytes.clone());
    uploader().upload_gcs(init, &mut first).unwrap();
    assert_eq!(emu.object_bytes("raw.bin").unwrap(), bytes);
}

#[test]
fn cancel_deletes_the_session_of_a_checkpoint() {
    let emu = emulator("chunk#2 status=400");
    let bytes = data(4 * UNIT as usize, 8);
    let (_dir, path) = file_with(&bytes, "cancel.bin");
    let mut up = uploader().checkpoint_store(MemoryCheckpointStore::default());
    assert!(up.upload_file(&api(&emu), &path).is_err());
    let key = resumable_blocking::checkpoint_key(&api(&emu), &path);
    assert!(
        up.load_checkpoint(&key).unwrap().is_some(),
        "kept after the failure"
    );
    assert!(up.cancel(&key).unwrap());
    let deletes: Vec<_> = emu
        .request_log()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].status, Some(499));
    assert!(
        up.load_checkpoint(&key).unwrap().is_none(),
        "checkpoint removed"
    );
}

#[test]
fn a_hundred_mebibyte_file_in_eight_mebibyte_chunks() {
    let emu = Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Sink)
        .start_in_background()
        .unwrap();
    let size = 100 * 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let mut crc = 0;
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let block = data(1 << 20, 77);
        for _ in 0..100 {
            f.write_all(&block).unwrap();
            crc = crc32c::crc32c_append(crc, &block);
        }
    }
    let outcome = Uploader::new()
        .chunking(Chunking::Fixed(8 << 20))
        .upload_file(&api(&emu), &path)
        .unwrap();
    let info = emu.object(&gcs_path(&outcome)).unwrap();
    assert_eq!((info.size, info.crc32c), (size, crc));
}

#[test]
fn a_stop_cuts_a_request_in_flight() {
    let emu = emulator("chunk#1 after=256KiB stall=3s");
    // A chunk larger than the loopback socket buffers, so the body is still
    // being read when the stop comes.
    let bytes = data(256 * UNIT as usize, 12);
    let (_dir, path) = file_with(&bytes, "stop.bin");
    let mut up = Uploader::new()
        .chunking(Chunking::Fixed(128 * UNIT))
        .retry(fast_retries());
    let stop = up.stop_handle();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        stop.stop();
    });
    assert!(matches!(
        up.upload_file(&api(&emu), &path),
        Err(UploadError::Interrupted)
    ));
    stopper.join().unwrap();
    // The stalled chunk ends when the server wakes; it must have been cut off.
    let chunk = loop {
        let log = emu.request_log();
        if let Some(r) = log
            .into_iter()
            .find(|r| r.content_range.as_deref() == Some("bytes 0-33554431/67108864"))
        {
            break r;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        chunk.status, None,
        "the chunk was cut off, not answered: {chunk:?}"
    );
}

#[test]
fn answers_cut_short_are_asked_again_and_the_upload_ends_well() {
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
    let bytes = data(3 * UNIT as usize + 1000, 19);
    let (_dir, path) = file_with(&bytes, "cut.bin");
    for spec in specs {
        let emu = emulator(spec);
        let outcome = uploader()
            .upload_file(&api(&emu), &path)
            .unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!(
            emu.object_bytes(&gcs_path(&outcome)).unwrap(),
            bytes,
            "{spec}"
        );
        assert_eq!(emu.files().len(), 1, "{spec}: one File");
        assert!(
            emu.request_log().iter().any(|r| r.outcome == "fault-cut"),
            "{spec}: the fault fired"
        );
    }
}

/// Rewrites `path` with other bytes of the same length and puts its
/// modification time back, as `rsync -t` or `tar -x` do.
fn rewrite_keeping_size_and_mtime(path: &std::path::Path, bytes: &[u8]) {
    let modified = std::fs::metadata(path).unwrap().modified().unwrap();
    std::fs::write(path, bytes).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.set_modified(modified).unwrap();
}

#[test]
fn a_file_rewritten_with_its_size_and_mtime_kept_does_not_resume() {
    let bytes = data(4 * UNIT as usize, 21);
    let mut other = bytes.clone();
    other[10] ^= 1;
    for verify in [true, false] {
        let emu = emulator("chunk#3 status=400");
        let (_dir, path) = file_with(&bytes, "rewritten.bin");
        let mut up = uploader()
            .checkpoint_store(MemoryCheckpointStore::default())
            .verify_resumed_prefix(verify);
        assert!(matches!(
            up.upload_file(&api(&emu), &path),
            Err(UploadError::Upload(Error::Rejected { status: 400, .. }))
        ));
        rewrite_keeping_size_and_mtime(&path, &other);
        emu.clear_request_log();
        let result = up.upload_file(&api(&emu), &path);
        if verify {
            assert!(matches!(result, Err(UploadError::Changed)), "{result:?}");
            assert!(emu.request_log().is_empty(), "refused before any request");
            assert_eq!(emu.registrations(), 0);
        } else {
            // Without the check the hole is there: old prefix, new suffix, and
            // every check passes, since the CRC32C hashed what was sent.
            let outcome = result.unwrap();
            let stored = emu.object_bytes(&gcs_path(&outcome)).unwrap();
            assert_eq!(stored[10], bytes[10], "the old prefix");
            assert_ne!(stored, other);
        }
    }
}

#[test]
fn if_generation_match_0_uploads_once_and_never_overwrites() {
    let emu = emulator("");
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
    let first = data(2 * UNIT as usize + 5, 41);
    let outcome = uploader()
        .upload_gcs(init(), &mut BytesSource::new(first.clone()))
        .unwrap();
    let second = data(UNIT as usize, 42);
    let error = uploader()
        .upload_gcs(init(), &mut BytesSource::new(second))
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

/// Waits until the emulator holds a request (a `stall=` fault), failing if
/// `upload` ends first.
fn wait_until_held<T>(emu: &EmulatorHandle, upload: &std::thread::JoinHandle<T>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while emu.stats().held == 0 {
        assert!(!upload.is_finished(), "the upload ended before it was held");
        assert!(std::time::Instant::now() < deadline, "no request was held");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_second_upload_of_a_file_being_uploaded_is_refused_and_cannot_cancel_it() {
    let emu = emulator("chunk#2 stall=3s");
    let bytes = data(4 * UNIT as usize, 13);
    let (dir, path) = file_with(&bytes, "twice.bin");
    let state = dir.path().join("state");
    let target = api(&emu);
    let key = resumable_blocking::checkpoint_key(&target, &path);
    let first = {
        let (state, path, target) = (state.clone(), path.clone(), target.clone());
        std::thread::spawn(move || {
            uploader()
                .checkpoint_store(FileCheckpointStore::new(&state).unwrap())
                .upload_file(&target, &path)
        })
    };
    wait_until_held(&emu, &first);

    // Another upload of this process, through its own store on the same
    // directory, as a second run would.
    let me = Some(std::process::id());
    let mut second = uploader().checkpoint_store(FileCheckpointStore::new(&state).unwrap());
    let err = second.upload_file(&target, &path).unwrap_err();
    assert!(
        matches!(err, UploadError::Busy { pid } if pid == me),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("(pid {})", std::process::id())) && message.contains("wait"),
        "{message}"
    );
    let err = second.cancel(&key).unwrap_err();
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

    let outcome = first.join().unwrap().unwrap();
    assert_eq!(emu.object_bytes(&gcs_path(&outcome)).unwrap(), bytes);
    assert_eq!(emu.registrations(), 1, "one File");
    assert_eq!(emu.sessions_created(), 1, "one session");
    assert!(
        !emu.request_log().iter().any(|r| r.method == "DELETE"),
        "the live session was not deleted"
    );
    assert_eq!(store.holder(&key).unwrap(), None, "released once done");
    assert!(store.list().unwrap().is_empty());
    assert!(!second.cancel(&key).unwrap(), "nothing left to cancel");
}
