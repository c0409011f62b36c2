//! The application file API, driven with raw HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const UPLOAD_URL: &str = "/v1/organizations/org_1/files/upload-url";
const FILES: &str = "/v1/organizations/org_1/files";

#[test]
fn upload_url_issues_a_session() {
    let emu = start(builder());
    let s = new_session_named(&emu, "org_1", "large video.mp4", 123_456, "video/mp4");
    let j = &s.json;
    assert!(s.file_id.starts_with("file_") && s.file_id.len() > 8);
    assert_eq!(
        s.gcs_path,
        format!("files/org_1/{}/large video.mp4", s.file_id)
    );
    assert_eq!(j["max_file_size"], 5_368_709_120u64);
    assert_eq!(j["chunk_size_recommended"], 5_242_880);
    assert_eq!(j["upload_type"], "resumable");
    let expires = j["expires_at"].as_str().unwrap();
    assert_eq!(expires.len(), 20, "{expires}");
    assert!(expires.ends_with('Z') && expires.as_bytes()[10] == b'T');
    let prefix = format!(
        "{}/upload/storage/v1/b/{}/o?uploadType=resumable&name=",
        emu.base_url(),
        emu.bucket()
    );
    assert!(s.upload_url.starts_with(&prefix), "{}", s.upload_url);
    assert!(s.upload_url.contains(&format!(
        "name=files%2Forg_1%2F{}%2Flarge%20video.mp4&upload_id=",
        s.file_id
    )));
    // Each call is a new session.
    let t = new_session(&emu, 1, "text/plain");
    assert_ne!(t.upload_url, s.upload_url);
    assert_eq!(emu.sessions_created(), 2);
    assert_eq!(emu.sessions()[0].total, Some(123_456));
}

#[test]
fn the_configured_limits_are_reported() {
    let emu = start(
        builder()
            .max_file_size(1000)
            .chunk_size_recommended(5_000_000),
    );
    let s = new_session(&emu, 1000, "text/plain");
    assert_eq!(s.json["max_file_size"], 1000);
    assert_eq!(s.json["chunk_size_recommended"], 5_000_000);
    let mut c = Conn::open(&emu);
    let r = api_post(
        &mut c,
        UPLOAD_URL,
        Some(KEY),
        &json!({"filename": "a", "file_size": 1001, "mime_type": "text/plain"}),
    );
    assert_eq!(r.status, 413);
    assert!(r.error_message().contains("1000"));
}

#[test]
fn a_missing_or_wrong_api_key_is_401() {
    let emu = start(builder());
    let mut c = Conn::open(&emu);
    let body = json!({"filename": "a.txt", "file_size": 1, "mime_type": "text/plain"});
    for (path, key) in [
        (UPLOAD_URL, None),
        (UPLOAD_URL, Some("wrong")),
        (FILES, None),
        (FILES, Some("")),
    ] {
        let r = api_post(&mut c, path, key, &body);
        assert_eq!(r.status, 401, "{path} {key:?}");
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
        r.error_message();
    }
    assert_eq!(emu.sessions_created(), 0);
}

#[test]
fn upload_url_validates_its_fields() {
    let emu = start(builder());
    let mut c = Conn::open(&emu);
    let ok = json!({"filename": "a.txt", "file_size": 10, "mime_type": "text/plain"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = ok.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    let cases = [
        (with("filename", json!("")), 400, "filename"),
        (with("filename", json!("x".repeat(256))), 400, "255"),
        (with("filename", json!(5)), 400, "filename"),
        (with("file_size", json!(0)), 400, "greater than 0"),
        (with("file_size", json!(-5)), 400, "greater than 0"),
        (with("file_size", json!("10")), 400, "file_size"),
        (with("file_size", json!(1.5)), 400, "whole"),
        (with("file_size", json!(5_368_709_121u64)), 413, "maximum"),
        (with("mime_type", json!("")), 400, "mime_type"),
        (with("upload_type", json!("simple")), 400, "upload_type"),
        (without("filename"), 400, "missing field `filename`"),
        (without("file_size"), 400, "missing field `file_size`"),
        (without("mime_type"), 400, "missing field `mime_type`"),
        (json!([1, 2]), 400, "JSON object"),
    ];
    for (body, status, needle) in cases {
        let r = api_post(&mut c, UPLOAD_URL, Some(KEY), &body);
        assert_eq!(r.status, status, "{body}");
        let m = r.error_message();
        assert!(m.contains(needle), "{m:?} lacks {needle:?}");
    }
    let r = c
        .send(
            "POST",
            UPLOAD_URL,
            &[("X-API-Key", KEY.into())],
            b"{not json",
        )
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(r.error_message().contains("JSON"));
    // The limits themselves are fine.
    for body in [
        with("filename", json!("é".repeat(255))),
        with("file_size", json!(5_368_709_120u64)),
        with("upload_type", json!("resumable")),
        with("upload_type", Value::Null),
    ] {
        assert_eq!(
            api_post(&mut c, UPLOAD_URL, Some(KEY), &body).status,
            200,
            "{body}"
        );
    }
    assert_eq!(emu.sessions_created(), 4);
}

fn upload(emu: &resumable_emulator::EmulatorHandle, s: &Sess, body: &[u8]) {
    let mut c = Conn::open(emu);
    let r = put(
        &mut c,
        &s.target,
        &format!("bytes 0-{}/{}", body.len() - 1, body.len()),
        body,
        &[],
    )
    .unwrap();
    assert_eq!(r.status, 200);
}

#[test]
fn register_creates_the_file_once() {
    let emu = start(builder());
    let body = data(5000);
    let s = new_session_named(&emu, "org_1", "notes.txt", 5000, "text/plain");
    upload(&emu, &s, &body);
    let mut c = Conn::open(&emu);
    let req = json!({"filename": "notes.txt", "gcs_path": s.gcs_path, "file_size": 5000, "mime_type": "text/plain"});
    let r = api_post(&mut c, FILES, Some(KEY), &req);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let file = r.json();
    assert_eq!(file["id"], s.file_id.as_str());
    assert_eq!(file["filename"], "notes.txt");
    assert_eq!(file["gcs_path"], s.gcs_path.as_str());
    assert_eq!(file["file_size"], 5000);
    assert_eq!(file["mime_type"], "text/plain");
    assert_eq!(file["organization_id"], "org_1");
    assert_eq!(file["crc32c"], crc32c_b64(&body).as_str());
    assert!(file["created_at"].as_str().unwrap().ends_with('Z'));
    let again = api_post(&mut c, FILES, Some(KEY), &req);
    assert_eq!(again.status, 200);
    assert_eq!(again.json(), file, "the same File, not a duplicate");
    assert_eq!(emu.registrations(), 1);
    assert_eq!(emu.files().len(), 1);
    assert_eq!(emu.stats().register_calls, 2);
}

#[test]
fn register_checks_the_object() {
    let emu = start(builder());
    let s = new_session_named(&emu, "org_1", "a.bin", 10, "application/pdf");
    let mut c = Conn::open(&emu);
    let req = |size: u64, mime: &str| json!({"filename": "a.bin", "gcs_path": s.gcs_path, "file_size": size, "mime_type": mime});
    // Not uploaded yet.
    let r = api_post(&mut c, FILES, Some(KEY), &req(10, "application/pdf"));
    assert_eq!(r.status, 404);
    assert!(r.error_message().contains("no uploaded object"));
    upload(&emu, &s, b"0123456789");
    let r = api_post(&mut c, FILES, Some(KEY), &req(11, "application/pdf"));
    assert_eq!(r.status, 409);
    assert!(r.error_message().contains("11"));
    let r = api_post(&mut c, FILES, Some(KEY), &req(10, "text/plain"));
    assert_eq!(r.status, 409);
    assert!(r.error_message().contains("mime_type"));
    // Another organization cannot see it.
    let r = api_post(
        &mut c,
        "/v1/organizations/org_2/files",
        Some(KEY),
        &req(10, "application/pdf"),
    );
    assert_eq!(r.status, 404);
    // Validation.
    let r = api_post(
        &mut c,
        FILES,
        Some(KEY),
        &json!({"filename": "a.bin", "file_size": 10, "mime_type": "x/y"}),
    );
    assert_eq!(r.status, 400);
    assert!(r.error_message().contains("gcs_path"));
    let r = api_post(
        &mut c,
        FILES,
        Some(KEY),
        &json!({"filename": "", "gcs_path": s.gcs_path, "file_size": 10, "mime_type": "x/y"}),
    );
    assert_eq!(r.status, 400);
    let r = api_post(&mut c, FILES, Some(KEY), &req(0, "application/pdf"));
    assert_eq!(r.status, 400);
    assert_eq!(emu.registrations(), 0);
    let r = api_post(&mut c, FILES, Some(KEY), &req(10, "application/pdf"));
    assert_eq!(r.status, 201);
    assert_eq!(emu.registrations(), 1);
}

#[test]
fn the_binary_prints_its_base_url_and_serves() {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_resumable-emulator"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--storage",
            "memory",
            "--seed",
            "3",
            "--faults",
            "register#1 status=503",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base:?}");
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    use std::io::{Read as _, Write as _};
    s.write_all(b"GET /_emulator/faults HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("register#1 status=503"), "{out}");
}
