//! Bad input through the `resumable` binary: a lying server (the emulator's
//! fault spec) and a bad local file each end with exit code 1, one line on
//! stderr that says what failed, and nothing registered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use resumable_emulator::{Emulator, EmulatorHandle, Storage};

const KEY: &str = "bad-input-key";
const UNIT: usize = 256 * 1024;
const BIN: &str = env!("CARGO_BIN_EXE_resumable");

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
        "nope.bin: cannot read the file: ",
    ),
    ("directory", "", Local::Directory, "not a regular file"),
];

fn emulator(faults: &str) -> EmulatorHandle {
    Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Memory)
        .faults(faults)
        .seed(3)
        .start_in_background()
        .expect("emulator starts")
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

#[test]
fn bad_input_exits_1_with_one_line_saying_why() {
    let mut wrong = Vec::new();
    for (name, faults, kind, expected) in CASES {
        let emu = emulator(faults);
        let dir = tempfile::tempdir().unwrap();
        let path = local(dir.path(), kind);
        let out = Command::new(BIN)
            .env_remove("FREDDY_ORG")
            .env_remove("FREDDY_API_URL")
            .env_remove("RUST_LOG")
            .env("FREDDY_API_KEY", KEY)
            .env("RESUMABLE_STATE_DIR", dir.path().join("state"))
            .args(["upload", "--org", "org_1", "--api-url", emu.base_url()])
            .args(["--chunk-size", "256KiB", "--quiet"])
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
