//! Independent tus clients against the emulator's tus mode, to show it
//! is faithful: `tuspy` (PyPI, in a virtualenv under the target directory)
//! and `tus-js-client` (npm, on the machine's Node.js, in the user's cache
//! directory), each uploading a file whole, and one interrupted by a
//! scripted fault and resumed from its URL, byte for byte; tus-js-client
//! also in its IETF draft mode (interop version 6) against the draft mode. A client that
//! cannot be installed or run fails its test; it never skips.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use resumable_emulator::{EmulatorHandle, RequestKind};
use resumable_testkit::{npm_packages, pypi_venv, run};
use serde_json::Value;

/// Pinned, so a run is repeatable.
const TUSPY: &[&str] = &["tuspy==1.1.0"];
/// Pinned, so a run is repeatable; the cache directory is named by it.
const TUS_JS_CLIENT: &str = "tus-js-client@4.3.1";

/// What the clients upload: a few chunks and a ragged end.
const SIZE: usize = 4 * UNIT + 12_345;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
}

/// The client's report, from its stdout.
fn report(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(stdout)))
}

/// Runs tuspy on `body` in `mode` (`whole`, `resume`), 256 KiB per PATCH.
fn tuspy(emu: &EmulatorHandle, body: &[u8], mode: &str) -> Value {
    let venv = pypi_venv(env!("CARGO_TARGET_TMPDIR"), "pypi-tus-clients", TUSPY);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upload.bin");
    std::fs::write(&path, body).unwrap();
    report(&run(Command::new(venv.join("bin/python"))
        .arg(script("tuspy_upload.py"))
        .arg(emu.tus_endpoint())
        .arg(&path)
        .arg(UNIT.to_string())
        .arg(mode)))
}

/// Runs tus-js-client on `body` in `mode` (`whole`, `resume`), 256 KiB per
/// PATCH.
fn tus_js(emu: &EmulatorHandle, body: &[u8], mode: &str) -> Value {
    tus_js_speaking(&emu.tus_endpoint(), "tus-v1", body, mode)
}

/// Runs tus-js-client speaking `protocol` to `endpoint`.
fn tus_js_speaking(endpoint: &str, protocol: &str, body: &[u8], mode: &str) -> Value {
    let version = TUS_JS_CLIENT.rsplit('@').next().unwrap();
    let modules = npm_packages(&format!("npm-tus-js-client-{version}"), &[TUS_JS_CLIENT]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upload.bin");
    std::fs::write(&path, body).unwrap();
    report(&run(Command::new("node")
        .env("NODE_PATH", modules.join("node_modules"))
        .arg(script("tus_js_upload.js"))
        .arg(endpoint)
        .arg(&path)
        .arg(UNIT.to_string())
        .arg(mode)
        .arg(protocol)))
}

/// The upload the client reports is stored byte for byte, in the one
/// upload the emulator created.
fn assert_stored(emu: &EmulatorHandle, out: &Value, body: &[u8]) {
    let url = out["url"].as_str().expect("the client names its upload");
    assert!(emu.tus_upload_bytes(url).unwrap() == body, "byte for byte");
    assert_eq!(
        emu.stats().tus_uploads_created,
        1,
        "{:#?}",
        emu.request_log()
    );
}

/// After the faulted PATCH, the client asked for the offset and went on
/// from what the emulator kept; returns that offset.
fn assert_resumed_by_head(emu: &EmulatorHandle) -> u64 {
    let log = emu.request_log();
    let cut = log.iter().position(|r| r.fault.is_some()).unwrap();
    assert_eq!(log[cut].outcome, "fault-reset", "{log:#?}");
    let head = log[cut..]
        .iter()
        .find(|r| r.kind == RequestKind::TusHead)
        .unwrap_or_else(|| panic!("no HEAD after the fault: {log:#?}"));
    assert_eq!(head.status, Some(200));
    head.persisted.unwrap()
}

#[test]
fn tuspy_uploads_a_file_whole_with_a_checksum_on_every_patch() {
    let emu = start(builder());
    let body = data(SIZE);
    let out = tuspy(&emu, &body, "whole");
    assert_stored(&emu, &out, &body);
    let log = emu.request_log();
    let patches = log
        .iter()
        .filter(|r| r.kind == RequestKind::TusPatch)
        .count();
    assert_eq!(patches, 5, "{log:#?}");
    assert!(log.iter().all(|r| r.outcome == "ok"), "{log:#?}");
}

#[test]
fn tuspy_resumes_a_patch_cut_off_by_a_reset() {
    let emu = start(builder().faults("patch#2 reset after=100KiB"));
    let body = data(SIZE);
    let out = tuspy(&emu, &body, "resume");
    assert!(out["failed"].is_string(), "{out}");
    // A body with a checksum cut off is not kept: the offset is where it began.
    assert_eq!(assert_resumed_by_head(&emu), UNIT as u64);
    assert_eq!(out["resumed_from"], UNIT);
    assert_stored(&emu, &out, &body);
}

#[test]
fn tus_js_client_uploads_a_file_whole() {
    let emu = start(builder());
    let body = data(SIZE);
    let out = tus_js(&emu, &body, "whole");
    assert_stored(&emu, &out, &body);
    let log = emu.request_log();
    assert_eq!(log[0].kind, RequestKind::TusCreate, "{log:#?}");
    assert!(log.iter().all(|r| r.outcome == "ok"), "{log:#?}");
    let info = &emu.tus_uploads()[0];
    assert_eq!(info.metadata["filename"], "tus-js.bin");
}

#[test]
fn tus_js_client_resumes_a_patch_cut_off_by_a_reset() {
    let emu = start(builder().faults("patch#2 reset after=100KiB"));
    let body = data(SIZE);
    let out = tus_js(&emu, &body, "resume");
    assert!(out["failed"].is_string(), "{out}");
    // Without a checksum, the bytes that arrived are kept.
    assert_eq!(assert_resumed_by_head(&emu), (UNIT + 100 * 1024) as u64);
    assert_stored(&emu, &out, &body);
}

/// The upload tus-js-client reports in IETF draft mode is stored byte for
/// byte, in the one draft upload the emulator created, at interop 6.
fn assert_stored_by_draft(emu: &EmulatorHandle, out: &Value, body: &[u8]) {
    let url = out["url"].as_str().expect("the client names its upload");
    assert!(emu.ietf_upload_bytes(url).unwrap() == body, "byte for byte");
    let uploads = emu.ietf_uploads();
    assert_eq!(uploads.len(), 1, "{:#?}", emu.request_log());
    assert_eq!(uploads[0].interop, 6);
}

#[test]
fn tus_js_client_in_ietf_draft_mode_uploads_a_file_whole() {
    let emu = start(builder());
    let body = data(SIZE);
    let out = tus_js_speaking(&emu.ietf_endpoint(), "ietf-draft-05", &body, "whole");
    assert_stored_by_draft(&emu, &out, &body);
    let log = emu.request_log();
    assert_eq!(log[0].kind, RequestKind::IetfCreate, "{log:#?}");
    let appends = log
        .iter()
        .filter(|r| r.kind == RequestKind::IetfAppend)
        .count();
    assert_eq!(appends, 5, "{log:#?}");
    assert!(log.iter().all(|r| r.outcome == "ok"), "{log:#?}");
}

#[test]
fn tus_js_client_in_ietf_draft_mode_resumes_an_append_cut_off_by_a_reset() {
    let emu = start(builder().faults("ietf-patch#2 reset after=100KiB"));
    let body = data(SIZE);
    let out = tus_js_speaking(&emu.ietf_endpoint(), "ietf-draft-05", &body, "resume");
    assert!(out["failed"].is_string(), "{out}");
    let log = emu.request_log();
    let cut = log.iter().position(|r| r.fault.is_some()).unwrap();
    assert_eq!(log[cut].outcome, "fault-reset", "{log:#?}");
    let head = log[cut..]
        .iter()
        .find(|r| r.kind == RequestKind::IetfHead)
        .unwrap_or_else(|| panic!("no HEAD after the fault: {log:#?}"));
    assert_eq!(head.status, Some(204));
    assert_eq!(head.persisted, Some((UNIT + 100 * 1024) as u64));
    assert_stored_by_draft(&emu, &out, &body);
}
