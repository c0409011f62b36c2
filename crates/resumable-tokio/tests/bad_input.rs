//! Bad input, async driver: the catalogue of lying servers and bad local
//! files in `resumable_conformance::bad_input`, run through this driver,
//! and the cases that need its own source type or a child process. Each
//! case ends with its typed error, no panic, nothing registered.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(all(unix, feature = "hyper"))]

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt as _;

use resumable_conformance::bad_input::{
    self as catalogue, UNIT, api, child_report, child_upload, data, disk_config, emulator, file_in,
    is_root, retry, source_error, unreadable_as_nobody,
};
use resumable_conformance::drivers::Tokio;
use resumable_core::Chunking;
use resumable_tokio::{AsyncSource, BytesSource, HyperTransport, Uploader};

fn uploader() -> Uploader<HyperTransport> {
    Uploader::new()
        .chunking(Chunking::Fixed(UNIT))
        .retry(retry())
}

#[test]
fn a_lying_server_ends_the_upload_with_its_typed_error() {
    catalogue::a_lying_server_ends_the_upload_with_its_typed_error::<Tokio>();
}

#[test]
fn bloated_bodies_under_the_cap_are_read() {
    catalogue::bloated_bodies_under_the_cap_are_read::<Tokio>();
}

#[test]
fn a_missing_file_or_a_directory_is_a_source_error_before_any_request() {
    catalogue::a_missing_file_or_a_directory_is_a_source_error_before_any_request::<Tokio>();
}

#[test]
fn a_file_that_changes_mid_upload_ends_changed_and_unregistered() {
    catalogue::a_file_that_changes_mid_upload_ends_changed_and_unregistered::<Tokio>();
}

#[test]
fn a_file_rewritten_during_its_last_chunk_is_not_registered() {
    catalogue::a_file_rewritten_during_its_last_chunk_is_not_registered::<Tokio>();
}

#[tokio::test]
async fn an_unreadable_file_is_a_source_error_before_any_request() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let path = file_in(dir.path(), &data(0));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    if !is_root() {
        let e = source_error(uploader().upload_file(&api(&emu), &path).await);
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
#[tokio::test]
#[ignore = "run as another user by an_unreadable_file_is_a_source_error_before_any_request"]
async fn unreadable_file_child() {
    let Some((api, path)) = child_upload() else {
        return;
    };
    let e = source_error(uploader().upload_file(&api, path).await);
    child_report(&e);
}

/// Bytes whose reads past `fail_at` fail with EIO, as a dying disk's do.
struct FailingDisk {
    bytes: BytesSource,
    fail_at: u64,
}

impl AsyncSource for FailingDisk {
    fn len(&self) -> Option<u64> {
        self.bytes.len()
    }

    async fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset + buf.len() as u64 > self.fail_at {
            return Err(io::Error::from_raw_os_error(5));
        }
        self.bytes.read_at(offset, buf).await
    }
}

#[tokio::test]
async fn a_read_error_mid_upload_is_a_source_error() {
    let emu = emulator("");
    let config = disk_config(&emu);
    let mut source = FailingDisk {
        bytes: BytesSource::new(data(0)),
        fail_at: 2 * UNIT + 100,
    };
    let e = source_error(uploader().run(config, &mut source, None).await);
    assert_eq!(e.raw_os_error(), Some(5), "the OS error itself: {e}");
    assert_eq!(emu.registrations(), 0);
    assert!(emu.object_names().is_empty());
}
