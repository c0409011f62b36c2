//! Bad input through the `resumable` binary: a lying server (the emulator's
//! fault spec) and a bad local file each end with exit code 1, one line on
//! stderr that says what failed, and nothing registered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use resumable_blocking::{FileApiTarget, FileCheckpointStore, checkpoint_key};
use resumable_core::Secret;
use resumable_emulator::EmulatorHandle;

const KEY: &str = "bad-input-key";
const UNIT: usize = 256 * 1024;

/// The file a case uploads.
enum Local {
    /// A regular file of four and a bit chunks.
    File,
    /// No file at that path.
    Missing,
    /// A directory.
    Directory,
}

/// Name, fault spec, file, and a piece of the one stderr line.
const CASES: &[(&str, &str, Local, &str)] = &[
    (
        "308 Range malformed",
        "chunk#1 range=bytes=0-x",
        Local::File,
        "broke the upload protocol (bad Range header",
    ),
    (
        "persisted beyond what was sent",
        "chunk#1 persisted=768KiB",
        Local::File,
        "broke the upload protocol (server reports 786432 bytes persisted",
    ),
    (
        "final object CRC32C differs",
        r#"final#1 set=crc32c:"AAAAAA==""#,
        Local::File,
        "checksum mismatch",
    ),
    (
        "session upload_url not http",
        r#"upload-url#1 set=upload_url:"ftp://127.0.0.1/x""#,
        Local::File,
        "upload_url is not an absolute http(s) URL",
    ),
    (
        "session max_file_size below the file size",
        "upload-url#1 set=max_file_size:1000",
        Local::File,
        "max_file_size of 1000; nothing was sent",
    ),
    (
        "upload-url 401",
        "upload-url#1 status=401",
        Local::File,
        "the API refused the key (401)",
    ),
    (
        "308 body of 1 GiB",
        "chunk#1 bloat=1GiB",
        Local::File,
        "larger than allowed",
    ),
    (
        "missing file",
        "",
        Local::Missing,
        "nope.bin: no such file (",
    ),
    (
        "directory",
        "",
        Local::Directory,
        "is a directory; upload the files under it with -r, or name them (",
    ),
];

fn emulator(faults: &str) -> EmulatorHandle {
    support::emulator(KEY, faults)
}

fn local(dir: &Path, kind: &Local) -> PathBuf {
    match kind {
        Local::File => {
            let path = dir.join("video.bin");
            let bytes: Vec<u8> = (0..4 * UNIT + 1000).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, bytes).unwrap();
            path
        }
        Local::Missing => dir.join("nope.bin"),
        Local::Directory => {
            let path = dir.join("folder");
            std::fs::create_dir(&path).unwrap();
            path
        }
    }
}

/// The binary with the test key and its own state dir.
fn resumable(state: &Path) -> Command {
    Command::from_std(support::resumable(KEY, state))
}

/// `resumable upload` to the emulator, quiet, in 256 KiB chunks.
fn upload(emu: &EmulatorHandle, state: &Path) -> Command {
    let mut cmd = resumable(state);
    cmd.args(["upload", "--org", "org_1", "--api-url", emu.base_url()])
        .args(["--chunk-size", "256KiB", "--quiet"]);
    cmd
}

#[test]
fn bad_input_exits_1_with_one_line_saying_why() {
    let mut wrong = Vec::new();
    for (name, faults, kind, expected) in CASES {
        let emu = emulator(faults);
        let dir = tempfile::tempdir().unwrap();
        let path = local(dir.path(), kind);
        let out = upload(&emu, &dir.path().join("state"))
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(1) || err.lines().count() != 1 || !err.contains(expected) {
            wrong.push(format!(
                "{name}: expected exit 1 and one line with {expected:?}, got {:?}: {err}",
                out.status.code()
            ));
        }
        if emu.registrations() != 0 {
            wrong.push(format!("{name}: registered"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_corrupt_checkpoint_is_reported_kept_and_listed_until_restarted() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    let (state, path) = (dir.path().join("state"), local(dir.path(), &Local::File));
    let api = FileApiTarget {
        api_base: emu.base_url().to_owned(),
        organization: "org_1".into(),
        api_key: Secret::new(KEY),
        mime_type: None,
        filename: None,
    };
    let store = FileCheckpointStore::new(&state).unwrap();
    let cut_short = store.path_for(&checkpoint_key(&api, &path));
    std::fs::write(&cut_short, b"{\"key\": \"api|org").unwrap();

    let out = upload(&emu, &state).arg(&path).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("its checkpoint cannot be read ("), "{err}");
    assert!(err.contains("--restart"), "{err}");
    assert_eq!(emu.sessions_created(), 0, "nothing sent");
    assert!(cut_short.exists(), "the checkpoint is not thrown away");

    let status = resumable(&state)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(status.status.success());
    let listed: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(listed["type"], "unreadable", "{listed}");
    assert_eq!(listed["checkpoint"], cut_short.display().to_string());

    let out = upload(&emu, &state)
        .arg("--restart")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = &emu.files()[0];
    assert_eq!(
        emu.object_bytes(&file.gcs_path).unwrap(),
        std::fs::read(&path).unwrap()
    );
    assert_eq!(emu.registrations(), 1);
    assert!(!cut_short.exists(), "replaced, then removed when done");
}
