//! Bad input, blocking driver: a lying server (the catalogue in
//! `resumable_conformance::bad_input`, shared with the async driver) and a bad local
//! file. Each case ends with its typed error, no panic, nothing registered.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

use resumable_conformance::bad_input as catalogue;

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use catalogue::{
    BLOATED_UNDER_CAP, CHANGES, Change, UNIT, api, cases, change, check_aftermath,
    check_bloated_read, check_missing_and_directory, child_report, child_upload, data, disk_config,
    emulator, file_in, is_root, retry, unreadable_as_nobody,
};
use resumable_blocking::{
    BytesSource, Source, UploadError, Uploader, UreqTransport, checkpoint_key,
};
use resumable_core::{Chunking, Event};
use resumable_emulator::EmulatorHandle;
use resumable_testkit::MemoryCheckpointStore;

fn uploader() -> Uploader<UreqTransport> {
    Uploader::new()
        .chunking(Chunking::Fixed(UNIT))
        .retry(retry())
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
    let emu = emulator(BLOATED_UNDER_CAP);
    let dir = tempfile::tempdir().unwrap();
    let path = file_in(dir.path(), &data(0));
    let outcome = uploader().upload_file(&api(&emu), &path).unwrap();
    check_bloated_read(outcome.object.size, &emu);
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
    let directory = source_error(uploader().upload_file(&api(&emu), dir.path()));
    check_missing_and_directory(&missing, &directory, &emu);
}

#[test]
fn an_unreadable_file_is_a_source_error_before_any_request() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let path = file_in(dir.path(), &data(0));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    if !is_root() {
        let e = source_error(uploader().upload_file(&api(&emu), &path));
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
    } else {
        // Root reads a mode-000 file anyway: the check runs as `nobody`, in
        // this test binary run again.
        unreadable_as_nobody(&emu, &path);
    }
    assert!(emu.request_log().is_empty(), "{:?}", emu.request_log());
    assert_eq!(emu.registrations(), 0);
}

/// Run by [`an_unreadable_file_is_a_source_error_before_any_request`] as
/// another user; does nothing on its own.
#[test]
#[ignore = "run as another user by an_unreadable_file_is_a_source_error_before_any_request"]
fn unreadable_file_child() {
    let Some((api, path)) = child_upload() else {
        return;
    };
    let e = source_error(uploader().upload_file(&api, path));
    child_report(&e);
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
    let config = disk_config(&emu);
    let mut source = FailingDisk {
        bytes: BytesSource::new(data(0)),
        fail_at: 2 * UNIT + 100,
    };
    let e = source_error(uploader().run(config, &mut source, None));
    assert_eq!(e.raw_os_error(), Some(5), "the OS error itself: {e}");
    assert_eq!(emu.registrations(), 0);
    assert!(emu.object_names().is_empty());
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
fn a_file_that_changes_mid_upload_ends_changed_and_unregistered() {
    for how in CHANGES {
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
