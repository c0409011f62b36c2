//! Bad input, blocking driver: a lying server (the catalogue in
//! `support/bad_input.rs`, shared with the async driver) and a bad local
//! file. Each case ends with its typed error, no panic, nothing registered.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

#[path = "support/bad_input.rs"]
mod catalogue;

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{FileExt as _, MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use catalogue::{KEY, SIZE, UNIT, cases, check_aftermath, data, emulator};
use resumable_blocking::{
    BytesSource, FileApiTarget, MemoryCheckpointStore, Source, UploadError, Uploader,
    UreqTransport, checkpoint_key,
};
use resumable_core::{Chunking, Config, Event, FileApi, RetryPolicy, Secret};
use resumable_emulator::EmulatorHandle;

fn api(emu: &EmulatorHandle) -> FileApiTarget {
    FileApiTarget {
        api_base: emu.base_url().to_owned(),
        organization: "org_1".into(),
        api_key: Secret::new(KEY),
        mime_type: None,
        filename: None,
    }
}

fn uploader() -> Uploader<UreqTransport> {
    Uploader::new()
        .chunking(Chunking::Fixed(UNIT))
        .retry(RetryPolicy {
            max_attempts: 4,
            max_elapsed: Duration::from_secs(30),
            initial_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
        })
}

fn file_in(dir: &Path, bytes: &[u8]) -> PathBuf {
    let path = dir.join("video.bin");
    fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_lying_server_ends_the_upload_with_its_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_in(dir.path(), &data(0));
    let mut wrong = Vec::new();
    for case in cases() {
        let emu = emulator(&case.faults);
        match uploader().upload_file(&api(&emu), &path) {
            Err(UploadError::Upload(e)) if (case.matches)(&e) => {}
            other => wrong.push(format!(
                "{}: expected {}, got {other:?}",
                case.name, case.expected
            )),
        }
        if let Err(e) = check_aftermath(&case, &emu) {
            wrong.push(e);
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn bloated_bodies_under_the_cap_are_read() {
    // The control for the 1 GiB cases: space-padded JSON below the cap is a
    // valid answer, so the cap, not the padding, is what refuses them.
    let emu = emulator("upload-url#1 bloat=900KiB; chunk#1 bloat=900KiB; final#1 bloat=900KiB");
    let dir = tempfile::tempdir().unwrap();
    let path = file_in(dir.path(), &data(0));
    let outcome = uploader().upload_file(&api(&emu), &path).unwrap();
    assert_eq!(outcome.object.size, SIZE);
    assert_eq!(emu.registrations(), 1);
    let stats = emu.stats();
    assert_eq!((stats.bloated_bodies, stats.bloated_cut_off), (3, 0));
    assert_eq!(stats.bloated_bytes_sent, 3 * 900 * 1024);
}

fn source_error(result: Result<resumable_core::Outcome, UploadError>) -> io::Error {
    match result {
        Err(UploadError::Source(e)) => e,
        other => panic!("expected a source error, got {other:?}"),
    }
}

#[test]
fn a_missing_file_or_a_directory_is_a_source_error_before_any_request() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    let missing = source_error(uploader().upload_file(&api(&emu), dir.path().join("nope.bin")));
    assert_eq!(missing.kind(), io::ErrorKind::NotFound, "{missing}");
    assert!(missing.to_string().contains("nope.bin"), "{missing}");
    let directory = source_error(uploader().upload_file(&api(&emu), dir.path()));
    assert_eq!(directory.kind(), io::ErrorKind::InvalidInput, "{directory}");
    assert!(emu.request_log().is_empty(), "{:?}", emu.request_log());
}

const CHILD_API: &str = "BAD_INPUT_CHILD_API";
const CHILD_FILE: &str = "BAD_INPUT_CHILD_FILE";

#[test]
fn an_unreadable_file_is_a_source_error_before_any_request() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let path = file_in(dir.path(), &data(0));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    let root = fs::metadata("/proc/self").unwrap().uid() == 0;
    if !root {
        let e = source_error(uploader().upload_file(&api(&emu), &path));
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
    } else {
        // Root reads a mode-000 file anyway: the check runs as `nobody`, in
        // this test binary run again.
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "unreadable_file_child",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_API, emu.base_url())
            .env(CHILD_FILE, &path)
            .uid(65534)
            .gid(65534)
            .output()
            .expect("the test binary runs as nobody");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("unreadable: PermissionDenied"),
            "child failed: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(emu.request_log().is_empty(), "{:?}", emu.request_log());
    assert_eq!(emu.registrations(), 0);
}

/// Run by [`an_unreadable_file_is_a_source_error_before_any_request`] as
/// another user; does nothing on its own.
#[test]
#[ignore = "run as another user by an_unreadable_file_is_a_source_error_before_any_request"]
fn unreadable_file_child() {
    let (Some(base), Some(path)) = (std::env::var_os(CHILD_API), std::env::var_os(CHILD_FILE))
    else {
        return;
    };
    let api = FileApiTarget {
        api_base: base.into_string().unwrap(),
        organization: "org_1".into(),
        api_key: Secret::new(KEY),
        mime_type: None,
        filename: None,
    };
    let e = source_error(uploader().upload_file(&api, PathBuf::from(path)));
    println!("unreadable: {:?}", e.kind());
}

/// Bytes whose reads past `fail_at` fail with EIO, as a dying disk's do.
struct FailingDisk {
    bytes: BytesSource,
    fail_at: u64,
}

impl Source for FailingDisk {
    fn len(&self) -> Option<u64> {
        self.bytes.len()
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset + buf.len() as u64 > self.fail_at {
            return Err(io::Error::from_raw_os_error(5));
        }
        self.bytes.read_at(offset, buf)
    }
}

#[test]
fn a_read_error_mid_upload_is_a_source_error() {
    let emu = emulator("");
    let config = Config::file_api(
        FileApi {
            api_base: emu.base_url().to_owned(),
            organization: "org_1".into(),
            api_key: Secret::new(KEY),
            filename: "disk.bin".into(),
            mime_type: "application/octet-stream".into(),
        },
        SIZE,
    );
    let mut source = FailingDisk {
        bytes: BytesSource::new(data(0)),
        fail_at: 2 * UNIT + 100,
    };
    let e = source_error(uploader().run(config, &mut source, None));
    assert!(e.to_string().contains("os error 5"), "{e}");
    assert_eq!(emu.registrations(), 0);
    assert!(emu.object_names().is_empty());
}

/// How the file changes while it is uploaded.
#[derive(Debug, Clone, Copy)]
enum Change {
    Grow,
    Shrink,
    /// Same size, other bytes, a later modification time.
    Rewrite,
}

fn change(path: &Path, how: Change) {
    let file = OpenOptions::new().write(true).open(path).unwrap();
    let modified = file.metadata().unwrap().modified().unwrap();
    match how {
        Change::Grow => {
            let mut f = OpenOptions::new().append(true).open(path).unwrap();
            f.write_all(b"more bytes").unwrap();
        }
        Change::Shrink => file.set_len(SIZE - 1000).unwrap(),
        Change::Rewrite => file.write_all_at(&data(0xA5), 0).unwrap(),
    }
    file.set_modified(modified + Duration::from_secs(2))
        .unwrap();
}

/// Uploads the file, changing it as `how` says at the first event `when`
/// picks; returns the uploader (with its checkpoint store) and the result.
fn upload_changing(
    emu: &EmulatorHandle,
    path: &Path,
    how: Change,
    when: fn(&Event) -> bool,
) -> (
    Uploader<UreqTransport>,
    Result<resumable_core::Outcome, UploadError>,
) {
    let fired = Arc::new(Mutex::new(false));
    let (target, seen) = (path.to_owned(), Arc::clone(&fired));
    let mut up = uploader()
        .checkpoint_store(MemoryCheckpointStore::default())
        .on_event(move |event| {
            let mut done = seen.lock().unwrap();
            if !*done && when(event) {
                *done = true;
                change(&target, how);
            }
        });
    let result = up.upload_file(&api(emu), path);
    assert!(*fired.lock().unwrap(), "the file was never changed");
    (up, result)
}

fn assert_changed(result: Result<resumable_core::Outcome, UploadError>) {
    assert!(
        matches!(result, Err(UploadError::ChangedDuringUpload)),
        "not a change: {result:?}"
    );
}

#[test]
fn a_file_that_changes_mid_upload_is_a_source_error() {
    for how in [Change::Grow, Change::Shrink, Change::Rewrite] {
        let emu = emulator("");
        let dir = tempfile::tempdir().unwrap();
        let path = file_in(dir.path(), &data(0));
        let (mut up, result) = upload_changing(
            &emu,
            &path,
            how,
            |e| matches!(e, Event::Persisted { offset, .. } if *offset == UNIT),
        );
        assert_changed(result);
        assert_eq!(emu.registrations(), 0, "{how:?}");
        assert!(emu.object_names().is_empty(), "{how:?}");
        // The checkpoint stays, and names the file as it was: running again
        // says the file changed rather than mixing old and new bytes.
        let key = checkpoint_key(&api(&emu), &path);
        let kept = up.load_checkpoint(&key).unwrap().expect("checkpoint kept");
        assert_eq!(kept.persisted, UNIT, "{how:?}");
        assert!(
            matches!(up.upload_file(&api(&emu), &path), Err(UploadError::Changed)),
            "{how:?}"
        );
        assert_eq!(emu.registrations(), 0, "{how:?}");
    }
}

#[test]
fn a_file_rewritten_during_its_last_chunk_is_not_registered() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    let path = file_in(dir.path(), &data(0));
    let (_, result) = upload_changing(&emu, &path, Change::Rewrite, |e| {
        matches!(e, Event::Finalized { .. })
    });
    assert_changed(result);
    // The bytes reached the server whole, but they are no longer the file's.
    assert_eq!(emu.object_names().len(), 1);
    assert_eq!(emu.registrations(), 0);
}
