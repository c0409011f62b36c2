//! Google's Python upload client (`google-resumable-media` from PyPI) against
//! the emulator: installed on first use into a virtualenv under the target
//! directory. A client that cannot be installed or run fails the test; it
//! never skips.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use resumable_emulator::RequestKind;
use resumable_testkit::{pypi_venv, run};
use serde_json::Value;

/// Pinned, so a test run is repeatable.
const PACKAGES: &[&str] = &["google-resumable-media[requests]==2.11.0"];

/// The virtualenv with the clients, installed once per target directory.
fn venv() -> PathBuf {
    pypi_venv(env!("CARGO_TARGET_TMPDIR"), "pypi-clients", PACKAGES)
}

#[test]
fn google_resumable_media_uploads_in_256_kib_chunks_through_initiate() {
    let python = venv().join("bin/python");
    // A 503 on the second chunk: the client's own retry resends it.
    let emu = start(builder().faults("chunk#2 status=503"));
    let dir = tempfile::tempdir().unwrap();
    let body = data(4 * UNIT + 12_345);
    let path = dir.path().join("upload.bin");
    fs::write(&path, &body).unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/resumable_media_upload.py");
    let stdout = run(Command::new(python)
        .arg(script)
        .args([emu.base_url(), emu.bucket(), "dir/media.bin"])
        .arg(&path)
        .arg(UNIT.to_string()));
    let out: Value = serde_json::from_slice(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&stdout)));
    assert_eq!(out["bytes"], body.len());
    assert_eq!(out["object"]["size"], body.len().to_string());
    assert_eq!(out["object"]["crc32c"], crc32c_b64(&body));
    assert!(
        emu.object_bytes("dir/media.bin").unwrap() == body,
        "byte for byte"
    );
    let log = emu.request_log();
    assert_eq!(
        log.iter()
            .filter(|r| r.kind == RequestKind::Initiate)
            .count(),
        1
    );
    let data_puts: Vec<_> = log
        .iter()
        .filter(|r| matches!(r.kind, RequestKind::Chunk | RequestKind::Final))
        .collect();
    assert_eq!(
        data_puts.len(),
        6,
        "five chunks and the one resent: {log:#?}"
    );
    assert!(log.iter().any(|r| r.status == Some(503)));
}
