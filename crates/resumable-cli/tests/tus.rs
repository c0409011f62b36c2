//! `resumable tus upload` against the emulator's tus mode: a whole upload
//! with its metadata, an upload that fails, is listed by `status`, and
//! resumes when run again in the same upload resource, and `cancel`
//! terminating one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use support::{emulator, resumable, sample_file as file};

const KEY: &str = "tus-cli-key";

fn tus_upload(state: &Path, path: &Path, endpoint: &str) -> std::process::Command {
    let mut cmd = resumable(KEY, state);
    cmd.args(["tus", "upload"])
        .arg(path)
        .args(["--endpoint", endpoint, "--chunk-size", "256KiB"]);
    cmd
}

#[test]
fn a_file_is_created_with_its_metadata_and_stored_whole() {
    let emu = emulator(KEY, "");
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let (path, bytes) = file(dir.path(), "clip.mp4", 700_000);
    let out = tus_upload(state.path(), &path, &emu.tus_endpoint())
        .args(["--metadata", "album=holidays 2026", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let uploads = emu.tus_uploads();
    assert_eq!(uploads.len(), 1);
    let upload = &uploads[0];
    assert!(emu.tus_upload_bytes(&upload.url).unwrap() == bytes);
    assert_eq!(upload.metadata["filename"], "clip.mp4");
    assert_eq!(upload.metadata["filetype"], "video/mp4");
    assert_eq!(upload.metadata["album"], "holidays 2026");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["type"] == "result")
        .expect("a result line");
    assert_eq!(result["status"], "done");
    assert_eq!(result["size"], 700_000);
}

#[test]
fn a_failed_upload_is_listed_and_resumes_in_the_same_upload() {
    // The second PATCH is refused for good: the run ends, its checkpoint
    // kept; the next run resumes where the server stopped.
    let emu = emulator(KEY, "patch#2 status=400");
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let (path, bytes) = file(dir.path(), "big.bin", 1_000_000);
    let first = tus_upload(state.path(), &path, &emu.tus_endpoint())
        .output()
        .unwrap();
    assert_eq!(
        first.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let status = resumable(KEY, state.path())
        .args(["status", "--json"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&status.stdout);
    assert!(
        listed.contains("big.bin") && listed.contains("tus at "),
        "{listed}"
    );
    let again = tus_upload(state.path(), &path, &emu.tus_endpoint())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(stderr.contains("resuming"), "{stderr}");
    let uploads = emu.tus_uploads();
    assert_eq!(uploads.len(), 1, "one upload resource, resumed");
    assert!(emu.tus_upload_bytes(&uploads[0].url).unwrap() == bytes);
}

#[test]
fn cancel_terminates_an_interrupted_tus_upload() {
    let emu = emulator(KEY, "patch#2 status=400");
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let (path, _) = file(dir.path(), "gone.bin", 1_000_000);
    let first = tus_upload(state.path(), &path, &emu.tus_endpoint())
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(1));
    let cancel = resumable(KEY, state.path())
        .arg("cancel")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        cancel.status.success(),
        "{}",
        String::from_utf8_lossy(&cancel.stderr)
    );
    let uploads = emu.tus_uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(
        uploads[0].state,
        resumable_emulator::TusStatus::Terminated,
        "{:?}",
        uploads[0]
    );
    let status = resumable(KEY, state.path()).arg("status").output().unwrap();
    assert!(!String::from_utf8_lossy(&status.stdout).contains("gone.bin"));
}

#[test]
fn a_metadata_pair_that_tus_cannot_carry_is_a_usage_error() {
    let state = tempfile::tempdir().unwrap();
    for bad in ["novalue", "two words=x", "filename=x.bin"] {
        let out = resumable(KEY, state.path())
            .args([
                "tus",
                "upload",
                "f.bin",
                "--endpoint",
                "http://127.0.0.1:9/",
            ])
            .args(["--metadata", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}
