//! Any number of buckets: the default one (the file API's), those given at
//! start, and those an initiate creates by naming them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::Value;

/// Initiates a session for `name` in `bucket` on `c`; its target.
fn initiate(c: &mut Conn, bucket: &str, name: &str) -> String {
    let r = c
        .send(
            "POST",
            &format!("/upload/storage/v1/b/{bucket}/o?uploadType=resumable&name={name}"),
            &[("X-Upload-Content-Type", "text/plain".into())],
            b"",
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    target(r.header("location").unwrap())
}

/// Initiates, uploads `body` in one request and downloads it again from `bucket`.
fn round_trip(c: &mut Conn, bucket: &str, name: &str, body: &[u8]) -> Value {
    let t = initiate(c, bucket, name);
    assert!(
        t.starts_with(&format!("/upload/storage/v1/b/{bucket}/o?")),
        "{t}"
    );
    let range = format!("bytes 0-{}/{}", body.len() - 1, body.len());
    let r = put(c, &t, &range, body, &[]).unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["bucket"], bucket);
    let r = c
        .send(
            "GET",
            &format!("/storage/v1/b/{bucket}/o/{name}?alt=media"),
            &[],
            b"",
        )
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(
        r.body == body,
        "the object downloaded from {bucket} is the one uploaded"
    );
    let r = c
        .send("GET", &format!("/storage/v1/b/{bucket}/o/{name}"), &[], b"")
        .unwrap();
    assert_eq!(r.status, 200);
    r.json()
}

#[test]
fn an_initiate_creates_its_bucket_and_the_file_api_keeps_the_default() {
    let emu = start(builder().add_bucket("given-at-start"));
    assert_eq!(
        emu.buckets(),
        vec!["given-at-start".to_owned(), emu.bucket().to_owned()],
        "sorted"
    );
    let mut c = Conn::open(&emu);
    let body = data(1000);
    round_trip(&mut c, "given-at-start", "a.txt", &body);
    round_trip(&mut c, "made-on-first-use", "a.txt", &body[..10]);
    assert!(emu.buckets().contains(&"made-on-first-use".to_owned()));
    // One name in three buckets: three objects.
    let s = new_session_named(&emu, "org_1", "a.txt", 3, "text/plain");
    assert!(
        s.upload_url
            .contains(&format!("/upload/storage/v1/b/{}/o?", emu.bucket())),
        "{}",
        s.upload_url
    );
    let r = put(&mut c, &s.target, "bytes 0-2/3", b"abc", &[]).unwrap();
    assert_eq!(r.json()["bucket"], emu.bucket());
    assert_eq!(emu.object_bytes(&s.gcs_path).unwrap(), b"abc");
    assert!(emu.object_bytes_in("given-at-start", "a.txt").unwrap() == body);
    assert_eq!(
        emu.object_in("made-on-first-use", "a.txt").unwrap().size,
        10
    );
    assert!(emu.object("a.txt").is_none(), "not in the default bucket");
    assert_eq!(emu.object_names(), vec![s.gcs_path.clone()]);
    let r = c
        .send("GET", "/storage/v1/b/no-such-bucket/o/a.txt", &[], b"")
        .unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(emu.stats().buckets, emu.buckets());
}

#[test]
fn invalid_bucket_names_are_refused() {
    let emu = start(builder());
    let mut c = Conn::open(&emu);
    for bad in ["ab", "UPPER", "-dash-first", "dot..dot", "under_score_"] {
        let r = c
            .send(
                "POST",
                &format!("/upload/storage/v1/b/{bad}/o?uploadType=resumable&name=x"),
                &[],
                b"",
            )
            .unwrap();
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.error_message().contains("bucket"), "{bad}");
    }
    assert_eq!(emu.buckets(), vec![emu.bucket().to_owned()]);
    assert!(matches!(
        builder().add_bucket("Bad Name").start_in_background(),
        Err(resumable_emulator::Error::BadBucket(..))
    ));
}

struct Binary(Child);

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_takes_any_number_of_buckets_the_first_the_default() {
    let mut child = Binary(
        Command::new(env!("CARGO_BIN_EXE_resumable-emulator"))
            .args(["--addr", "127.0.0.1:0", "--storage", "memory", "--api-key"])
            .arg(KEY)
            .args(["--bucket", "first-bucket", "--bucket", "second-bucket"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("no base URL: {line:?}"))
        .to_owned();
    let emu_addr: std::net::SocketAddr = addr.parse().unwrap();
    let mut c = Conn::open_addr(emu_addr);
    let stats = c.send("GET", "/_emulator/stats", &[], b"").unwrap().json();
    assert_eq!(
        stats["buckets"],
        serde_json::json!(["first-bucket", "second-bucket"])
    );
    let body = data(UNIT + 5);
    round_trip(&mut c, "second-bucket", "dir%2Fb.bin", &body);
    // The file API writes to the first.
    let r = api_post(
        &mut c,
        "/v1/organizations/org_1/files/upload-url",
        Some(KEY),
        &serde_json::json!({"filename": "f.txt", "file_size": 3, "mime_type": "text/plain"}),
    );
    assert_eq!(r.status, 200);
    let url = r.json()["upload_url"].as_str().unwrap().to_owned();
    assert!(
        url.contains("/upload/storage/v1/b/first-bucket/o?"),
        "{url}"
    );
}
