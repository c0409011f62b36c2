//! `resumable http upload` against the emulator's mode for Resumable
//! Uploads for HTTP (the IETF draft): whole uploads in interop versions 8
//! and 6, an upload cut off that is listed by `status` and resumes when run
//! again in the same upload resource (in the version it was created in), a
//! chunk size off Cloud Storage's unit sent as asked,
//! `cancel` deleting one, an optimistic creation cut off, and a failure's
//! `--json` kind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Command, Output};

use resumable_emulator::{EmulatorHandle, IetfStatus, RequestKind};
use support::{emulator, resumable, sample_file as file};

const KEY: &str = "http-cli-key";

fn http_upload(state: &Path, path: &Path, endpoint: &str) -> Command {
    let mut cmd = resumable(KEY, state);
    cmd.args(["http", "upload"])
        .arg(path)
        .args(["--endpoint", endpoint, "--chunk-size", "256KiB"]);
    cmd
}

/// The JSON lines of `out`'s stdout of `type`.
fn lines_of(out: &Output, kind: &str) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == kind)
        .collect()
}

/// The bytes of the one complete upload the emulator holds.
fn the_complete_upload(emu: &EmulatorHandle) -> Vec<u8> {
    let complete: Vec<_> = emu
        .ietf_uploads()
        .into_iter()
        .filter(|u| u.state == IetfStatus::Complete)
        .collect();
    let [upload] = complete.as_slice() else {
        panic!("expected one complete upload: {:#?}", emu.ietf_uploads())
    };
    emu.ietf_upload_bytes(&upload.url).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_file_is_stored_whole_in_interop_8_and_6() {
    for interop in [8_u64, 6] {
        let emu = emulator(KEY, "");
        let dir = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let (path, bytes) = file(dir.path(), "clip.mp4", 700_000);
        let out = http_upload(state.path(), &path, &emu.ietf_endpoint())
            .args(["--interop", &interop.to_string(), "--json"])
            .args(["--header", "Authorization: Bearer t0ken"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let uploads = emu.ietf_uploads();
        assert_eq!(uploads.len(), 1, "{uploads:#?}");
        assert_eq!(uploads[0].interop, interop);
        assert!(the_complete_upload(&emu) == bytes, "stored bytes differ");
        let log = emu.request_log();
        assert_eq!(log[0].kind, RequestKind::IetfCreate, "{log:#?}");
        assert_eq!(log[0].bytes_received, 0, "a careful creation: {log:#?}");
        assert!(
            log.iter().all(|r| r.authorization),
            "the header rides every request: {log:#?}"
        );
        let result = &lines_of(&out, "result")[0];
        assert_eq!(result["status"], "done");
        assert_eq!(result["size"], 700_000);
        assert_eq!(result["interop"], interop);
        let sha256: String = <sha2::Sha256 as sha2::Digest>::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(result["sha256"], sha256.as_str());
    }
}

#[test]
fn a_chunk_size_off_the_cloud_storage_unit_is_sent_as_asked() {
    let emu = emulator(KEY, "");
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let (path, bytes) = file(dir.path(), "notes.txt", 250_000);
    let mut cmd = resumable(KEY, state.path());
    let out = cmd
        .args(["http", "upload"])
        .arg(&path)
        .args(["--endpoint", &emu.ietf_endpoint(), "--chunk-size", "100000"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("not a multiple"), "{}", stderr(&out));
    assert!(the_complete_upload(&emu) == bytes, "stored bytes differ");
    let appends: Vec<u64> = emu
        .request_log()
        .iter()
        .filter(|r| r.kind == RequestKind::IetfAppend)
        .map(|r| r.bytes_received)
        .collect();
    assert_eq!(appends, [100_000, 100_000, 50_000]);
}

#[test]
fn an_upload_cut_off_is_listed_and_resumes_in_the_same_upload() {
    // The second PATCH is reset, and no retry is allowed: the run ends
    // with its checkpoint kept; the next run resumes where the server
    // stopped.
    let emu = emulator(KEY, "ietf-patch#2 reset");
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let (path, bytes) = file(dir.path(), "big.bin", 1_000_000);
    let first = http_upload(state.path(), &path, &emu.ietf_endpoint())
        .args(["--retries", "0"])
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("checkpoint is kept"),
        "{}",
        stderr(&first)
    );
    let status = resumable(KEY, state.path())
        .args(["status", "--json"])
        .output()
        .unwrap();
    let pending = lines_of(&status, "pending");
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert!(
        pending[0]["file"].as_str().unwrap().ends_with("big.bin"),
        "{pending:?}"
    );
    assert_eq!(
        pending[0]["destination"],
        format!("http upload at {} (interop 8)", emu.ietf_endpoint())
    );
    assert_eq!(pending[0]["persisted"], 256 * 1024);
    let again = http_upload(state.path(), &path, &emu.ietf_endpoint())
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stderr(&again).contains("resuming"), "{}", stderr(&again));
    assert_eq!(emu.ietf_uploads().len(), 1, "one upload resource, resumed");
    assert!(the_complete_upload(&emu) == bytes, "stored bytes differ");
    let status = resumable(KEY, state.path()).arg("status").output().unwrap();
    assert!(!String::from_utf8_lossy(&status.stdout).contains("big.bin"));
}

#[test]
fn a_resumed_upload_keeps_the_interop_version_it_was_created_in() {
    let emu = emulator(KEY, "ietf-patch#2 reset");
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let (path, bytes) = file(dir.path(), "six.bin", 900_000);
    let first = http_upload(state.path(), &path, &emu.ietf_endpoint())
        .args(["--interop", "6", "--retries", "0"])
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    let status = resumable(KEY, state.path()).arg("status").output().unwrap();
    let listed = String::from_utf8_lossy(&status.stdout);
    assert!(listed.contains("(interop 6)"), "{listed}");
    // Run again without --interop: the upload resource speaks 6.
    let again = http_upload(state.path(), &path, &emu.ietf_endpoint())
        .arg("--json")
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("resuming in interop version 6"),
        "{}",
        stderr(&again)
    );
    assert_eq!(lines_of(&again, "result")[0]["interop"], 6);
    let uploads = emu.ietf_uploads();
    assert_eq!(uploads.len(), 1, "{uploads:#?}");
    assert_eq!(uploads[0].interop, 6);
    assert!(the_complete_upload(&emu) == bytes, "stored bytes differ");
}

#[test]
fn cancel_deletes_an_interrupted_upload_and_its_checkpoint() {
    let emu = emulator(KEY, "ietf-patch#2 reset");
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let (path, _) = file(dir.path(), "gone.bin", 1_000_000);
    let first = http_upload(state.path(), &path, &emu.ietf_endpoint())
        .args(["--retries", "0"])
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    let cancel = resumable(KEY, state.path())
        .args(["cancel", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(cancel.status.success(), "{}", stderr(&cancel));
    let cancelled = lines_of(&cancel, "cancelled");
    assert_eq!(cancelled.len(), 1, "{cancelled:?}");
    let uploads = emu.ietf_uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].state, IetfStatus::Cancelled, "{:?}", uploads[0]);
    assert!(
        emu.request_log()
            .iter()
            .any(|r| r.kind == RequestKind::IetfCancel && r.status == Some(204)),
        "{:#?}",
        emu.request_log()
    );
    let store = resumable_blocking::FileCheckpointStore::new(state.path()).unwrap();
    assert!(store.list().unwrap().is_empty(), "the checkpoint is gone");
    let status = resumable(KEY, state.path()).arg("status").output().unwrap();
    assert!(!String::from_utf8_lossy(&status.stdout).contains("gone.bin"));
}

#[test]
fn an_optimistic_creation_cut_off_starts_over_with_a_new_creation() {
    // This command's HTTP client reads no 104, so a creation cut off
    // mid-body cannot resume at the upload the 104 named: it is sent
    // again, and the first upload resource is left to expire.
    let emu = emulator(KEY, "ietf-create#1 reset after=100KiB");
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let (path, bytes) = file(dir.path(), "fast.bin", 600_000);
    let out = http_upload(state.path(), &path, &emu.ietf_endpoint())
        .arg("--optimistic")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let log = emu.request_log();
    assert_eq!(log[0].kind, RequestKind::IetfCreate, "{log:#?}");
    assert!(log[0].bytes_received > 0, "the creation carries bytes");
    assert_eq!(log[1].kind, RequestKind::IetfCreate, "{log:#?}");
    assert_eq!(emu.ietf_uploads().len(), 2, "{:#?}", emu.ietf_uploads());
    assert!(the_complete_upload(&emu) == bytes, "stored bytes differ");
}

#[test]
fn a_completed_upload_the_server_fails_to_process_has_its_kind() {
    // The creation carries the whole file (smaller than a chunk) and its
    // Repr-Digest; a byte
    // damaged on its way in makes the server refuse the representation
    // once every byte is in.
    let emu = emulator(KEY, "ietf-create#1 corrupt");
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let (path, _) = file(dir.path(), "bad.bin", 200_000);
    let out = http_upload(state.path(), &path, &emu.ietf_endpoint())
        .args(["--optimistic", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let result = &lines_of(&out, "result")[0];
    assert_eq!(result["status"], "failed");
    assert_eq!(result["kind"], "processing_failed", "{result}");
    let error = result["error"].as_str().unwrap();
    assert!(
        error.contains("every byte arrived") && error.contains("run the same command again"),
        "{error}"
    );
    assert_eq!(emu.ietf_uploads()[0].state, IetfStatus::Failed);
}

#[test]
fn an_interop_version_the_command_does_not_speak_is_a_usage_error() {
    let state = tempfile::tempdir().unwrap();
    for bad in [vec!["--interop", "7"], vec!["--optimistic", "--careful"]] {
        let out = resumable(KEY, state.path())
            .args([
                "http",
                "upload",
                "f.bin",
                "--endpoint",
                "http://127.0.0.1:9/",
            ])
            .args(&bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}
