//! What a checkpoint promises: an interrupted upload resumes where the
//! server stopped, never from a file that changed, a cancel deletes the
//! session, and one upload of a file runs at a time.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use resumable_core::{Chunking, Error};
use resumable_emulator::{EmulatorHandle, RequestKind};
use resumable_local::{
    CheckpointStore as _, FileApiTarget, FileCheckpointStore, LockHolder, UploadError,
    checkpoint_key,
};
use resumable_testkit::MemoryCheckpointStore;

use super::{UNIT, api, data, emulator, gcs_path, keeping, setup, wait_until_held, write_file};
use crate::{Call, Driver, Interrupt, Setup};

/// An upload interrupted once three chunks are persisted, resumed by a new
/// uploader over the same checkpoint directory (as a new process would):
/// it starts with a status query, goes on in the same session, sends only
/// the bytes the server does not hold, and removes the checkpoint once
/// done. Guards the resumable protocol's resume rule.
pub fn an_interrupted_upload_resumes_from_its_checkpoint<D: Driver>() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("checkpoints");
    let bytes = data(8 * UNIT + 99, 5);
    let path = write_file(dir.path(), "resume.bin", &bytes);
    let target = api(&emu);
    let key = checkpoint_key(&target, &path);

    let mut first = keeping::<D>(FileCheckpointStore::new(&state).unwrap());
    let call = Call::File {
        api: &target,
        path: &path,
    };
    first.interrupted(call, Interrupt::Persisted(3 * UNIT));
    // The save under way when the upload was interrupted has completed.
    let checkpoint = first.load_checkpoint(&key).unwrap().expect("kept");
    assert!(checkpoint.persisted >= 3 * UNIT, "{checkpoint:?}");
    drop(first);
    let store = FileCheckpointStore::new(&state).unwrap();
    assert_eq!(store.list().unwrap().len(), 1);
    emu.clear_request_log();

    let outcome = keeping::<D>(FileCheckpointStore::new(&state).unwrap())
        .upload_file(&target, &path)
        .unwrap();
    assert_eq!(emu.sessions_created(), 1, "the same session went on");
    assert_eq!(emu.object_bytes(&gcs_path(&outcome)).unwrap(), bytes);
    assert_eq!(outcome.crc32c, Some(crc32c::crc32c(&bytes)));
    let log = emu.request_log();
    assert_eq!(log[0].kind, RequestKind::Query, "{log:#?}");
    assert_eq!(
        log[0].content_range.as_deref(),
        Some(format!("bytes */{}", bytes.len()).as_str()),
        "the resume starts with a status query"
    );
    let held = log[0].persisted.expect("the query names the session");
    assert!(held >= checkpoint.persisted, "{held} < {checkpoint:?}");
    let sent: u64 = log
        .iter()
        .filter(|r| r.kind.is_upload_endpoint())
        .map(|r| r.bytes_received)
        .sum();
    assert_eq!(sent, bytes.len() as u64 - held, "only the bytes not held");
    assert!(
        store.list().unwrap().is_empty(),
        "checkpoint removed when done"
    );
}

/// A file upload that the emulator refused with a `400` at one chunk; its
/// checkpoint is kept in `store` under `key`. The file lives as long as it.
struct Refused<D> {
    emu: EmulatorHandle,
    _dir: tempfile::TempDir,
    path: PathBuf,
    target: FileApiTarget,
    key: String,
    store: MemoryCheckpointStore,
    up: D,
}

/// Uploads `bytes` as a file, refused at chunk `n` (from 1).
fn refused_at_chunk<D: Driver>(n: u32, bytes: &[u8]) -> Refused<D> {
    let emu = emulator(&format!("chunk#{n} status=400"));
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "refused.bin", bytes);
    let store = MemoryCheckpointStore::new();
    let mut up = keeping::<D>(store.clone());
    let target = api(&emu);
    let err = up.upload_file(&target, &path).unwrap_err();
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

/// A file that grew since its checkpoint was saved is refused
/// ([`UploadError::Changed`], saying how to start over) rather than resumed
/// into a mixed object; cancelling deletes the old session, and the file
/// then uploads anew.
pub fn a_file_changed_since_the_checkpoint_is_refused_with_a_way_to_start_over<D: Driver>() {
    let mut r = refused_at_chunk::<D>(2, &data(3 * UNIT, 1));
    std::fs::OpenOptions::new()
        .append(true)
        .open(&r.path)
        .unwrap()
        .write_all(b"more")
        .unwrap();
    let err = r.up.upload_file(&r.target, &r.path).unwrap_err();
    assert!(matches!(err, UploadError::Changed), "{err}");
    assert!(err.to_string().contains("remove its checkpoint"), "{err}");
    assert!(r.up.cancel(&r.key).unwrap());
    let outcome = r.up.upload_file(&r.target, &r.path).unwrap();
    let stored = r.emu.object_bytes(&gcs_path(&outcome)).unwrap();
    assert_eq!(stored, std::fs::read(&r.path).unwrap());
}

/// Rewrites `path` with other bytes of the same length and puts its
/// modification time back, as `rsync -t` or `tar -x` do.
pub fn rewrite_keeping_size_and_mtime(path: &Path, bytes: &[u8]) {
    let modified = std::fs::metadata(path).unwrap().modified().unwrap();
    std::fs::write(path, bytes).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.set_modified(modified).unwrap();
}

/// A file rewritten with its size and modification time kept matches its
/// checkpoint's fingerprint; reading the persisted prefix again (on by
/// default) finds it changed before any request. Without that check the
/// hole shows: old prefix, new suffix, and every check passes, since the
/// CRC32C hashed what was sent.
pub fn a_file_rewritten_with_its_size_and_mtime_kept_does_not_resume<D: Driver>() {
    let bytes = data(4 * UNIT, 21);
    let mut other = bytes.clone();
    other[10] ^= 1;
    for verify in [true, false] {
        let r = refused_at_chunk::<D>(3, &bytes);
        rewrite_keeping_size_and_mtime(&r.path, &other);
        r.emu.clear_request_log();
        let mut up = D::build(Setup {
            store: Some(Box::new(r.store.clone())),
            verify_resumed_prefix: verify,
            ..setup()
        });
        let result = up.upload_file(&r.target, &r.path);
        if verify {
            assert!(matches!(result, Err(UploadError::Changed)), "{result:?}");
            assert!(r.emu.request_log().is_empty(), "refused before any request");
            assert_eq!(r.emu.registrations(), 0);
        } else {
            let outcome = result.unwrap();
            let stored = r.emu.object_bytes(&gcs_path(&outcome)).unwrap();
            assert_eq!(stored[10], bytes[10], "the old prefix");
            assert_ne!(stored, other);
        }
    }
}

/// A checkpoint whose session expired while the process was away starts a
/// new session instead of asking the dead one, and uploads everything.
pub fn a_checkpoint_of_an_expired_session_starts_a_new_one<D: Driver>() {
    let bytes = data(4 * UNIT, 9);
    let mut r = refused_at_chunk::<D>(3, &bytes);
    let mut checkpoint = r.store.get(&r.key).unwrap();
    assert_eq!(checkpoint.persisted, 2 * UNIT);
    let session = checkpoint.session.as_mut().unwrap();
    session.expires_at = Some(std::time::UNIX_EPOCH + Duration::from_secs(1));
    r.store.save(&r.key, &checkpoint).unwrap();

    let outcome = r.up.upload_file(&r.target, &r.path).unwrap();
    assert_eq!(r.emu.sessions_created(), 2, "a new session replaced it");
    assert_eq!(r.emu.object_bytes(&gcs_path(&outcome)).unwrap(), bytes);
    assert_eq!(r.store.get(&r.key), None);
}

/// The one `DELETE` a cancel sent: answered 499 (the session is gone), and
/// without the API key.
fn assert_one_delete(emu: &EmulatorHandle) {
    let log = emu.request_log();
    let deletes: Vec<_> = log
        .iter()
        .filter(|r| r.kind == RequestKind::Delete)
        .collect();
    assert_eq!(deletes.len(), 1, "{log:#?}");
    assert_eq!(deletes[0].status, Some(499));
    assert!(!deletes[0].x_api_key);
}

/// A failed upload's kept checkpoint is cancelled by its key: the session
/// is deleted (`DELETE`, 499), the checkpoint removed, and a second cancel
/// finds nothing.
pub fn a_failed_upload_is_cancelled_by_its_key<D: Driver>() {
    let mut r = refused_at_chunk::<D>(2, &data(3 * UNIT, 6));
    assert!(r.up.load_checkpoint(&r.key).unwrap().is_some());
    assert!(r.up.cancel(&r.key).unwrap());
    assert_eq!(r.store.get(&r.key), None);
    assert_one_delete(&r.emu);
    assert!(!r.up.cancel(&r.key).unwrap(), "nothing left to cancel");
}

/// An upload interrupted while a chunk hangs is cancelled by its key from
/// another uploader: its session deleted, its checkpoint removed, nothing
/// registered.
pub fn an_interrupted_upload_is_cancelled_by_its_key<D: Driver>() {
    let emu = emulator("chunk#3 stall=5s");
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "cancel.bin", &data(6 * UNIT, 4));
    let store = MemoryCheckpointStore::new();
    let target = api(&emu);
    let call = Call::File {
        api: &target,
        path: &path,
    };
    keeping::<D>(store.clone()).interrupted(call, Interrupt::Persisted(2 * UNIT));
    let key = checkpoint_key(&target, &path);
    assert!(keeping::<D>(store.clone()).cancel(&key).unwrap());
    assert_eq!(store.get(&key), None);
    assert_one_delete(&emu);
    assert_eq!(emu.registrations(), 0);
}

/// An interruption cuts off the request in flight, not just the requests
/// after it: a chunk far larger than the loopback socket buffers, its
/// server stalled after 256 KiB, ends cut off rather than answered.
pub fn an_interruption_cuts_a_request_in_flight<D: Driver>() {
    let emu = emulator("chunk#1 after=256KiB stall=3s");
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "stop.bin", &data(256 * UNIT, 12));
    let target = api(&emu);
    let mut up = D::build(Setup {
        chunking: Chunking::Fixed(128 * UNIT),
        ..setup()
    });
    let call = Call::File {
        api: &target,
        path: &path,
    };
    up.interrupted(call, Interrupt::Held(&emu));
    // The stalled chunk is logged when the server wakes.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let chunk = loop {
        let log = emu.request_log();
        if let Some(r) = log
            .into_iter()
            .find(|r| r.content_range.as_deref() == Some("bytes 0-33554431/67108864"))
        {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the chunk never ended"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(chunk.status, None, "cut off, not answered: {chunk:?}");
}

/// While a file is being uploaded, a second upload of it (its own store on
/// the same directory, as a second run would) is refused with the holder's
/// pid and cannot cancel it; the first ends well, with one session, one
/// File, its session never deleted, and its lock and checkpoint gone.
/// Guards against two runs interleaving chunks of one session.
pub fn a_second_upload_of_a_file_being_uploaded_is_refused_and_cannot_cancel_it<D: Driver>() {
    let emu = emulator("chunk#2 stall=3s");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("checkpoints");
    let bytes = data(4 * UNIT, 13);
    let path = write_file(dir.path(), "twice.bin", &bytes);
    let target = api(&emu);
    let key = checkpoint_key(&target, &path);
    let first = {
        let (state, path, target) = (state.clone(), path.clone(), target.clone());
        std::thread::spawn(move || {
            keeping::<D>(FileCheckpointStore::new(&state).unwrap()).upload_file(&target, &path)
        })
    };
    wait_until_held(&emu, &first);

    let me = Some(std::process::id());
    let mut second = keeping::<D>(FileCheckpointStore::new(&state).unwrap());
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
        !emu.request_log()
            .iter()
            .any(|r| r.kind == RequestKind::Delete),
        "the live session was not deleted"
    );
    assert_eq!(store.holder(&key).unwrap(), None, "released once done");
    assert!(store.list().unwrap().is_empty());
    assert!(!second.cancel(&key).unwrap(), "nothing left to cancel");
}
