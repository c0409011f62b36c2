//! The Cloud Storage resumable endpoint, driven with raw HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use resumable_emulator::{Error, RequestKind, SessionStatus, Storage};
use serde_json::json;

#[test]
fn one_put_stores_the_object_and_answers_with_its_json() {
    let emu = start(builder());
    let body = data(300_000);
    let s = new_session(&emu, body.len() as u64, "video/mp4");
    let mut c = Conn::open(&emu);
    let r = put(&mut c, &s.target, "bytes 0-299999/300000", &body, &[]).unwrap();
    assert_eq!(r.status, 200);
    assert!(
        r.header("x-guploader-uploadid")
            .is_some_and(|v| !v.is_empty())
    );
    let o = r.json();
    assert_eq!(o["kind"], "storage#object");
    assert_eq!(o["name"], s.gcs_path.as_str());
    assert_eq!(o["bucket"], emu.bucket());
    assert_eq!(o["size"], "300000");
    assert_eq!(o["contentType"], "video/mp4");
    assert_eq!(o["crc32c"], crc32c_b64(&body).as_str());
    assert_eq!(o["md5Hash"], md5_b64(&body).as_str());
    assert_eq!(
        r.header("x-goog-hash").unwrap(),
        format!("crc32c={},md5={}", crc32c_b64(&body), md5_b64(&body))
    );
    assert!(emu.object_bytes(&s.gcs_path).unwrap() == body);
    let info = emu.object(&s.gcs_path).unwrap();
    assert_eq!(
        (info.size, info.crc32c_base64()),
        (300_000, crc32c_b64(&body))
    );
    assert_eq!(info.md5_base64(), md5_b64(&body));
}

#[test]
fn chunks_get_308_with_the_persisted_range_and_the_last_gets_200() {
    let emu = start(builder());
    let body = data(3 * UNIT + 1000);
    let total = body.len();
    let s = new_session(&emu, total as u64, "application/octet-stream");
    let mut c = Conn::open(&emu);
    for i in 0..3 {
        let r = put_range(
            &mut c,
            &s.target,
            &body,
            i * UNIT,
            (i + 1) * UNIT,
            Some(total),
        )
        .unwrap();
        assert_eq!(r.status, 308, "{:?}", r);
        assert_eq!(
            r.header("range").unwrap(),
            format!("bytes=0-{}", (i + 1) * UNIT - 1)
        );
        assert!(r.header("x-guploader-uploadid").is_some());
        assert!(r.body.is_empty());
    }
    let r = put_range(&mut c, &s.target, &body, 3 * UNIT, total, Some(total)).unwrap();
    assert_eq!(r.status, 200);
    assert!(emu.object_bytes(&s.gcs_path).unwrap() == body);
    // The same keep-alive connection served every request.
    let log = emu.request_log();
    let kinds: Vec<_> = log.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            RequestKind::UploadUrl,
            RequestKind::Chunk,
            RequestKind::Chunk,
            RequestKind::Chunk,
            RequestKind::Final
        ]
    );
}

#[test]
fn status_queries_answer_308_without_range_then_with_range_then_200() {
    let emu = start(builder());
    let body = data(UNIT + 10);
    let total = body.len();
    let s = new_session(&emu, total as u64, "text/plain");
    let r = query(&emu, &s.target, None);
    assert_eq!(r.status, 308);
    assert_eq!(r.header("range"), None, "nothing persisted: no Range");
    let r = query(&emu, &s.target, Some(total));
    assert_eq!((r.status, r.header("range")), (308, None));
    let mut c = Conn::open(&emu);
    assert_eq!(
        put_range(&mut c, &s.target, &body, 0, UNIT, None)
            .unwrap()
            .status,
        308
    );
    let r = query(&emu, &s.target, None);
    assert_eq!((r.status, r.header("range")), (308, Some("bytes=0-262143")));
    let r = query(&emu, &s.target, Some(total));
    assert_eq!((r.status, r.persisted()), (308, UNIT as u64));
    assert_eq!(
        put_range(&mut c, &s.target, &body, UNIT, total, Some(total))
            .unwrap()
            .status,
        200
    );
    let r = query(&emu, &s.target, Some(total));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["size"], total.to_string().as_str());
    let r = query(&emu, &s.target, None);
    assert_eq!(r.status, 200);
    // Any PUT to a finished session answers with the object.
    let r = put_range(&mut c, &s.target, &body, 0, UNIT, Some(total)).unwrap();
    assert_eq!(r.status, 200);
    assert!(emu.object_bytes(&s.gcs_path).unwrap() == body);
}

#[test]
fn unknown_total_ending_on_a_boundary_finishes_with_a_query() {
    let emu = start(builder().bucket("test-bucket"));
    let body = data(2 * UNIT);
    let mut c = Conn::open(&emu);
    let r = c
        .send(
            "POST",
            &format!(
                "/upload/storage/v1/b/{}/o?uploadType=resumable&name=stream.bin",
                emu.bucket()
            ),
            &[],
            b"",
        )
        .unwrap();
    assert_eq!(r.status, 200);
    let t = target(r.header("location").unwrap());
    assert_eq!(
        put_range(&mut c, &t, &body, 0, UNIT, None).unwrap().status,
        308
    );
    assert_eq!(
        put_range(&mut c, &t, &body, UNIT, 2 * UNIT, None)
            .unwrap()
            .status,
        308
    );
    let r = query(&emu, &t, None);
    assert_eq!(
        (r.status, r.persisted()),
        (308, 2 * UNIT as u64),
        "bytes */* never finalizes"
    );
    let r = query(&emu, &t, Some(2 * UNIT));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["size"], "524288");
    assert!(emu.object_bytes("stream.bin").unwrap() == body);
}

#[test]
fn chunks_that_are_not_256_kib_multiples_are_refused() {
    let emu = start(builder());
    let body = data(4 * UNIT);
    let total = body.len();
    let s = new_session(&emu, total as u64, "text/plain");
    let mut c = Conn::open(&emu);
    let r = put_range(&mut c, &s.target, &body, 0, 100_000, Some(total)).unwrap();
    assert_eq!(r.status, 400);
    assert!(r.error_message().contains("262144"));
    assert!(r.header("x-guploader-uploadid").is_some());
    let r = put_range(&mut c, &s.target, &body, 0, UNIT + 1, None).unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(
        query(&emu, &s.target, None).header("range"),
        None,
        "nothing stored"
    );
    // A chunk that starts off a boundary (below the persisted offset) is refused too.
    assert_eq!(
        put_range(&mut c, &s.target, &body, 0, UNIT, Some(total))
            .unwrap()
            .status,
        308
    );
    let r = put_range(&mut c, &s.target, &body, 1000, 1000 + UNIT, Some(total)).unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(query(&emu, &s.target, None).persisted(), UNIT as u64);
}

#[test]
fn resent_bytes_below_the_persisted_offset_are_ignored() {
    let emu = start(builder());
    let body = data(3 * UNIT + 5);
    let total = body.len();
    let s = new_session(&emu, total as u64, "text/plain");
    let mut c = Conn::open(&emu);
    assert_eq!(
        put_range(&mut c, &s.target, &body, 0, UNIT, Some(total))
            .unwrap()
            .persisted(),
        UNIT as u64
    );
    // Entirely old: nothing changes.
    let r = put_range(&mut c, &s.target, &body, 0, UNIT, Some(total)).unwrap();
    assert_eq!((r.status, r.persisted()), (308, UNIT as u64));
    // Overlapping: only the new part is appended.
    let r = put_range(&mut c, &s.target, &body, 0, 2 * UNIT, Some(total)).unwrap();
    assert_eq!((r.status, r.persisted()), (308, 2 * UNIT as u64));
    // The final chunk overlapping too.
    let r = put_range(&mut c, &s.target, &body, UNIT, total, Some(total)).unwrap();
    assert_eq!(r.status, 200);
    assert!(emu.object_bytes(&s.gcs_path).unwrap() == body);
    let info = emu.sessions().pop().unwrap();
    assert_eq!(
        info.bytes_received,
        (UNIT + UNIT + 2 * UNIT + (total - UNIT)) as u64
    );
}

#[test]
fn a_chunk_beyond_the_persisted_offset_is_refused_and_stores_nothing() {
    let emu = start(builder());
    let body = data(3 * UNIT);
    let total = body.len();
    let s = new_session(&emu, total as u64, "text/plain");
    let mut c = Conn::open(&emu);
    let r = put_range(&mut c, &s.target, &body, UNIT, 2 * UNIT, Some(total)).unwrap();
    assert_eq!(r.status, 400);
    assert!(r.error_message().contains("persisted"));
    assert_eq!(query(&emu, &s.target, Some(total)).header("range"), None);
    put_range(&mut c, &s.target, &body, 0, UNIT, Some(total)).unwrap();
    let r = put_range(&mut c, &s.target, &body, 2 * UNIT, total, Some(total)).unwrap();
    assert_eq!(r.status, 400, "final chunk leaving a gap");
    assert_eq!(query(&emu, &s.target, Some(total)).persisted(), UNIT as u64);
}

#[test]
fn content_length_and_content_range_must_agree() {
    let emu = start(builder());
    let body = data(UNIT);
    let s = new_session(&emu, UNIT as u64, "text/plain");
    let mut c = Conn::open(&emu);
    // Neither Content-Length nor chunked framing (tests/chunked.rs has the chunked forms).
    c.write_head(
        "PUT",
        &s.target,
        &[("Content-Range", "bytes 0-9/262144".into())],
    )
    .unwrap();
    let r = c.read_response().unwrap();
    assert_eq!(r.status, 411);
    r.error_message();
    // Content-Length that contradicts the range.
    let mut c = Conn::open(&emu);
    let r = put(
        &mut c,
        &s.target,
        "bytes 0-262143/262144",
        &body[..1000],
        &[],
    )
    .unwrap();
    assert_eq!(r.status, 400);
    assert!(r.error_message().contains("Content-Length"));
    // A status query with a body.
    let r = put(&mut c, &s.target, "bytes */262144", b"xyz", &[]).unwrap();
    assert_eq!(r.status, 400);
    // Malformed ranges.
    for bad in [
        "bytes 5-1/262144",
        "bytes 0-262144/262144",
        "bits 0-1/2",
        "bytes 0-1",
        "bytes x-y/z",
    ] {
        let r = put(&mut c, &s.target, bad, &body[..2], &[]).unwrap();
        assert_eq!(r.status, 400, "{bad}");
        r.error_message();
    }
    // A total that contradicts the declared file_size, then one named earlier.
    let r = put(&mut c, &s.target, "bytes */999", b"", &[]).unwrap();
    assert_eq!(r.status, 400);
    assert!(r.error_message().contains("declared"));
    assert_eq!(query(&emu, &s.target, None).header("range"), None);
    let r = put_range(&mut c, &s.target, &body, 0, UNIT, Some(UNIT)).unwrap();
    assert_eq!(r.status, 200);
}

#[test]
fn totals_must_stay_consistent_without_a_declared_length() {
    let emu = start(builder());
    let body = data(2 * UNIT);
    let mut c = Conn::open(&emu);
    let r = c
        .send(
            "POST",
            &format!(
                "/upload/storage/v1/b/{}/o?uploadType=resumable&name=x",
                emu.bucket()
            ),
            &[],
            b"",
        )
        .unwrap();
    let t = target(r.header("location").unwrap());
    assert_eq!(
        put_range(&mut c, &t, &body, 0, UNIT, Some(2 * UNIT))
            .unwrap()
            .status,
        308
    );
    let r = put_range(&mut c, &t, &body, UNIT, 2 * UNIT, Some(3 * UNIT)).unwrap();
    assert_eq!(r.status, 400);
    assert!(r.error_message().contains("named earlier"));
    let r = put(&mut c, &t, "bytes */100", b"", &[]).unwrap();
    assert_eq!(r.status, 400, "a total below the persisted bytes");
    // `*` chunk that reaches the known total finishes.
    assert_eq!(
        put_range(&mut c, &t, &body, UNIT, 2 * UNIT, None)
            .unwrap()
            .status,
        200
    );
}

#[test]
fn x_goog_hash_is_checked_on_the_final_request() {
    let emu = start(builder());
    let body = data(UNIT + 77);
    let total = body.len();
    let s = new_session(&emu, total as u64, "text/plain");
    let mut c = Conn::open(&emu);
    // Ignored on a chunk that does not finish.
    let wrong = ("X-Goog-Hash", "crc32c=AAAAAA==".to_owned());
    let r = put(
        &mut c,
        &s.target,
        &format!("bytes 0-{}/{total}", UNIT - 1),
        &body[..UNIT],
        std::slice::from_ref(&wrong),
    )
    .unwrap();
    assert_eq!(r.status, 308);
    let last = format!("bytes {UNIT}-{}/{total}", total - 1);
    let r = put(&mut c, &s.target, &last, &body[UNIT..], &[wrong]).unwrap();
    assert_eq!(r.status, 400);
    assert!(r.error_message().contains("crc32c"));
    assert_eq!(
        query(&emu, &s.target, Some(total)).persisted(),
        UNIT as u64,
        "nothing kept"
    );
    assert!(emu.object(&s.gcs_path).is_none());
    let bad_md5 = (
        "X-Goog-Hash",
        format!("crc32c={},md5=1B2M2Y8AsgTpgAmY7PhCfg==", crc32c_b64(&body)),
    );
    let r = put(&mut c, &s.target, &last, &body[UNIT..], &[bad_md5]).unwrap();
    assert_eq!(r.status, 400);
    assert!(r.error_message().contains("md5"));
    let malformed = ("X-Goog-Hash", "crc32c=!!".to_owned());
    assert_eq!(
        put(&mut c, &s.target, &last, &body[UNIT..], &[malformed])
            .unwrap()
            .status,
        400
    );
    let right = (
        "X-Goog-Hash",
        format!("crc32c={},md5={}", crc32c_b64(&body), md5_b64(&body)),
    );
    let r = put(&mut c, &s.target, &last, &body[UNIT..], &[right]).unwrap();
    assert_eq!(r.status, 200);
    assert!(emu.object_bytes(&s.gcs_path).unwrap() == body);
    let log = emu.request_log();
    assert!(
        log.last()
            .unwrap()
            .x_goog_hash
            .as_deref()
            .unwrap()
            .starts_with("crc32c=")
    );
}

#[test]
fn a_cut_off_body_persists_only_whole_256_kib_units() {
    for storage in [Storage::Memory, Storage::TempDir] {
        let emu = start(builder().storage(storage));
        let body = data(4 * UNIT + 99);
        let total = body.len();
        let s = new_session(&emu, total as u64, "text/plain");
        let mut c = Conn::open(&emu);
        assert_eq!(
            put_range(&mut c, &s.target, &body, 0, UNIT, Some(total))
                .unwrap()
                .status,
            308
        );
        // Announce 3 units, send 1.5 (from the persisted offset), then hang up.
        let mut c = Conn::open(&emu);
        c.write_head(
            "PUT",
            &s.target,
            &[
                (
                    "Content-Range",
                    format!("bytes {UNIT}-{}/{total}", 4 * UNIT - 1),
                ),
                ("Content-Length", (3 * UNIT).to_string()),
            ],
        )
        .unwrap();
        c.write_body(&body[UNIT..UNIT + UNIT + UNIT / 2]).unwrap();
        c.finish_writing();
        assert!(c.read_response().is_err(), "no answer to a cut-off request");
        let rec = wait_for_log(&emu, |r| r.outcome == "cut-off");
        assert_eq!(rec.status, None);
        assert_eq!(rec.bytes_received, (UNIT + UNIT / 2) as u64);
        assert_eq!(rec.persisted, Some(2 * UNIT as u64));
        let r = query(&emu, &s.target, Some(total));
        assert_eq!(r.persisted(), 2 * UNIT as u64);
        // Resume from there; the stored object is byte-identical.
        let mut c = Conn::open(&emu);
        assert_eq!(
            put_range(&mut c, &s.target, &body, 2 * UNIT, total, Some(total))
                .unwrap()
                .status,
            200
        );
        assert!(emu.object_bytes(&s.gcs_path).unwrap() == body);
    }
}

#[test]
fn a_body_cut_off_inside_the_first_unit_keeps_nothing() {
    let emu = start(builder());
    let body = data(2 * UNIT);
    let s = new_session(&emu, body.len() as u64, "text/plain");
    let mut c = Conn::open(&emu);
    c.write_head(
        "PUT",
        &s.target,
        &[
            (
                "Content-Range",
                format!("bytes 0-{}/{}", body.len() - 1, body.len()),
            ),
            ("Content-Length", body.len().to_string()),
        ],
    )
    .unwrap();
    c.write_body(&body[..UNIT - 1]).unwrap();
    drop(c);
    wait_for_log(&emu, |r| r.outcome == "cut-off");
    assert_eq!(query(&emu, &s.target, None).header("range"), None);
}

#[test]
fn delete_answers_499_and_the_session_is_gone() {
    let emu = start(builder());
    let body = data(UNIT);
    let s = new_session(&emu, 2 * UNIT as u64, "text/plain");
    let mut c = Conn::open(&emu);
    put_range(&mut c, &s.target, &body, 0, UNIT, Some(2 * UNIT)).unwrap();
    let r = c.send("DELETE", &s.target, &[], b"").unwrap();
    assert_eq!(r.status, 499);
    assert!(r.header("x-guploader-uploadid").is_some());
    let r = query(&emu, &s.target, None);
    assert_eq!(r.status, 404);
    r.error_message();
    assert!(r.header("x-guploader-uploadid").is_some());
    assert_eq!(c.send("DELETE", &s.target, &[], b"").unwrap().status, 404);
    assert_eq!(emu.sessions()[0].state, SessionStatus::Cancelled);
}

#[test]
fn an_expired_session_answers_410() {
    let emu = start(builder().session_lifetime(std::time::Duration::from_millis(300)));
    let s = new_session(&emu, 10, "text/plain");
    std::thread::sleep(std::time::Duration::from_millis(400));
    let r = query(&emu, &s.target, None);
    assert_eq!(r.status, 410);
    assert!(r.error_message().contains("expired"));
    let mut c = Conn::open(&emu);
    assert_eq!(
        put(&mut c, &s.target, "bytes 0-9/10", b"0123456789", &[])
            .unwrap()
            .status,
        410
    );
    assert_eq!(c.send("DELETE", &s.target, &[], b"").unwrap().status, 410);
    assert_eq!(emu.sessions()[0].state, SessionStatus::Expired);
}

#[test]
fn unknown_or_missing_upload_ids_and_other_methods() {
    let emu = start(builder());
    let s = new_session(&emu, 10, "text/plain");
    let mut c = Conn::open(&emu);
    let bucket = emu.bucket().to_owned();
    let r = put(
        &mut c,
        &format!("/upload/storage/v1/b/{bucket}/o?uploadType=resumable&upload_id=nope"),
        "bytes */*",
        b"",
        &[],
    )
    .unwrap();
    assert_eq!(r.status, 404);
    assert!(r.header("x-guploader-uploadid").is_some());
    let r = put(
        &mut c,
        &format!("/upload/storage/v1/b/{bucket}/o?uploadType=resumable"),
        "bytes */*",
        b"",
        &[],
    )
    .unwrap();
    assert_eq!(r.status, 400);
    let r = c.send("GET", &s.target, &[], b"").unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("PUT, DELETE"));
    let r = c.send("GET", "/nowhere", &[], b"").unwrap();
    assert_eq!(r.status, 404);
    r.error_message();
}

#[test]
fn initiate_returns_a_session_in_location() {
    let emu = start(builder());
    let bucket = emu.bucket().to_owned();
    let body = data(1000);
    let mut c = Conn::open(&emu);
    let r = c
        .send(
            "POST",
            &format!("/upload/storage/v1/b/{bucket}/o?uploadType=resumable&name=dir%2Fa%20b.txt"),
            &[
                ("Authorization", "Bearer token".into()),
                ("X-Upload-Content-Type", "text/csv".into()),
                ("X-Upload-Content-Length", "1000".into()),
            ],
            b"",
        )
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.header("x-guploader-uploadid").is_some());
    let location = r.header("location").unwrap().to_owned();
    assert!(location.starts_with(&format!(
        "{}/upload/storage/v1/b/{bucket}/o?",
        emu.base_url()
    )));
    assert!(location.contains("upload_id="));
    let t = target(&location);
    let r = put(&mut c, &t, "bytes 0-999/2000", &body, &[]).unwrap();
    assert_eq!(r.status, 400, "X-Upload-Content-Length is the total");
    let r = put(&mut c, &t, "bytes 0-999/1000", &body, &[]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["contentType"], "text/csv");
    assert_eq!(r.json()["name"], "dir/a b.txt");
    assert!(emu.object_bytes("dir/a b.txt").unwrap() == body);
    let rec = &emu.request_log()[0];
    assert_eq!(rec.kind, RequestKind::Initiate);
    assert!(rec.authorization);

    // The name may come in JSON metadata instead.
    let r = c
        .send(
            "POST",
            &format!("/upload/storage/v1/b/{bucket}/o?uploadType=resumable"),
            &[("Content-Type", "application/json".into())],
            json!({"name": "meta.bin", "contentType": "image/png"})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    assert_eq!(r.status, 200);
    let t = target(r.header("location").unwrap());
    let r = put(&mut c, &t, "bytes 0-2/3", b"abc", &[]).unwrap();
    assert_eq!(
        (r.status, r.json()["contentType"].as_str()),
        (200, Some("image/png"))
    );

    // Refusals.
    let post = |c: &mut Conn, path: String| c.send("POST", &path, &[], b"").unwrap();
    let r = post(
        &mut c,
        format!("/upload/storage/v1/b/{bucket}/o?uploadType=resumable"),
    );
    assert_eq!(r.status, 400, "no name");
    let r = post(
        &mut c,
        format!("/upload/storage/v1/b/{bucket}/o?uploadType=media&name=x"),
    );
    assert_eq!(r.status, 400);
    let r = post(&mut c, format!("/upload/storage/v1/b/{bucket}/o?name=x"));
    assert_eq!(r.status, 400);
    // A session named with an encoded `upload_id` is a session, not a new one.
    emu.clear_request_log();
    let r = post(
        &mut c,
        format!("/upload/storage/v1/b/{bucket}/o?uploadType=resumable&name=x&upload%5Fid=nope"),
    );
    assert_ne!(r.status, 200, "no session was initiated");
    assert_ne!(emu.request_log()[0].kind, RequestKind::Initiate);
    // Buckets come into being on first use (tests/buckets.rs), if the name is valid.
    let r = post(
        &mut c,
        "/upload/storage/v1/b/Not_A..Bucket/o?uploadType=resumable&name=x".into(),
    );
    assert_eq!(r.status, 400);
    r.error_message();
    let r = c
        .send(
            "POST",
            &format!("/upload/storage/v1/b/{bucket}/o?uploadType=resumable&name=x"),
            &[("X-Upload-Content-Length", "lots".into())],
            b"",
        )
        .unwrap();
    assert_eq!(r.status, 400);
}

#[test]
fn an_empty_object_finishes_with_bytes_star_slash_zero() {
    let emu = start(builder());
    let mut c = Conn::open(&emu);
    let r = c
        .send(
            "POST",
            &format!(
                "/upload/storage/v1/b/{}/o?uploadType=resumable&name=empty",
                emu.bucket()
            ),
            &[],
            b"",
        )
        .unwrap();
    let t = target(r.header("location").unwrap());
    let r = put(&mut c, &t, "bytes */0", b"", &[]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["size"], "0");
    assert_eq!(r.json()["crc32c"], "AAAAAA==");
    assert!(emu.object_bytes("empty").unwrap().is_empty());
}

#[test]
fn objects_can_be_read_back_over_http() {
    let emu = start(builder().storage(Storage::TempDir));
    let body = data(600_000);
    let s = new_session(&emu, body.len() as u64, "application/x-thing");
    let mut c = Conn::open(&emu);
    assert_eq!(
        put(&mut c, &s.target, "bytes 0-599999/600000", &body, &[])
            .unwrap()
            .status,
        200
    );
    let enc = s.gcs_path.replace('/', "%2F");
    let bucket = emu.bucket().to_owned();
    let r = c
        .send("GET", &format!("/storage/v1/b/{bucket}/o/{enc}"), &[], b"")
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["size"], "600000");
    assert_eq!(r.json()["md5Hash"], md5_b64(&body).as_str());
    let r = c
        .send(
            "GET",
            &format!("/storage/v1/b/{bucket}/o/{enc}?alt=media"),
            &[],
            b"",
        )
        .unwrap();
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("application/x-thing"))
    );
    assert!(r.body == body);
    let r = c
        .send(
            "GET",
            &format!("/download/storage/v1/b/{bucket}/o/{enc}?alt=media"),
            &[],
            b"",
        )
        .unwrap();
    assert!(r.body == body);
    assert!(
        r.header("x-goog-hash")
            .unwrap()
            .contains(&crc32c_b64(&body))
    );
    let r = c
        .send(
            "GET",
            &format!("/storage/v1/b/{bucket}/o/missing"),
            &[],
            b"",
        )
        .unwrap();
    assert_eq!(r.status, 404);
    // Downloads are logged (kind `object`); the control endpoints are not.
    c.send("GET", "/_emulator/stats", &[], b"").unwrap();
    assert_eq!(emu.request_log().last().unwrap().kind, RequestKind::Object);
}

#[test]
fn sixteen_mib_in_one_streamed_put_to_disk() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(builder().storage(Storage::Disk(dir.path().to_owned())));
    let body = data(16 << 20);
    let total = body.len();
    let s = new_session(&emu, total as u64, "application/octet-stream");
    let mut c = Conn::open(&emu);
    let r = put(
        &mut c,
        &s.target,
        &format!("bytes 0-{}/{total}", total - 1),
        &body,
        &[],
    )
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["crc32c"], crc32c_b64(&body).as_str());
    assert!(emu.object_bytes(&s.gcs_path).unwrap() == body);
    let objects = std::fs::read_dir(dir.path().join("objects"))
        .unwrap()
        .count();
    assert_eq!(objects, 1, "the object is a file under the given directory");
}

#[test]
fn many_sessions_at_once() {
    let emu = start(builder().storage(Storage::TempDir));
    let results: Vec<(String, Vec<u8>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let emu = &emu;
                scope.spawn(move || {
                    let body = data(2 * UNIT + i * 1000 + 1);
                    let total = body.len();
                    let s = new_session(emu, total as u64, "text/plain");
                    let mut c = Conn::open(emu);
                    for k in 0..2 {
                        let r = put_range(
                            &mut c,
                            &s.target,
                            &body,
                            k * UNIT,
                            (k + 1) * UNIT,
                            Some(total),
                        )
                        .unwrap();
                        assert_eq!(r.status, 308);
                    }
                    let r =
                        put_range(&mut c, &s.target, &body, 2 * UNIT, total, Some(total)).unwrap();
                    assert_eq!(r.status, 200);
                    (s.gcs_path, body)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (path, body) in &results {
        assert!(emu.object_bytes(path).unwrap() == *body);
    }
    assert_eq!(emu.sessions_created(), 8);
    assert_eq!(emu.object_names().len(), 8);
}

#[test]
fn the_sink_keeps_sizes_and_checksums_only() {
    let emu = start(builder().storage(Storage::Sink));
    let body = data(UNIT + 3);
    let total = body.len();
    let s = new_session(&emu, total as u64, "text/plain");
    let mut c = Conn::open(&emu);
    put_range(&mut c, &s.target, &body, 0, UNIT, Some(total)).unwrap();
    let r = put_range(&mut c, &s.target, &body, UNIT, total, Some(total)).unwrap();
    assert_eq!(r.status, 200);
    let info = emu.object(&s.gcs_path).unwrap();
    assert_eq!(
        (info.size, info.crc32c_base64(), info.md5_base64()),
        (total as u64, crc32c_b64(&body), md5_b64(&body))
    );
    assert!(matches!(
        emu.object_bytes(&s.gcs_path),
        Err(Error::NotStored)
    ));
    let enc = s.gcs_path.replace('/', "%2F");
    let r = c
        .send(
            "GET",
            &format!("/storage/v1/b/{}/o/{enc}?alt=media", emu.bucket()),
            &[],
            b"",
        )
        .unwrap();
    assert_eq!(r.status, 501);
}

#[test]
fn the_log_redacts_upload_ids_and_notes_api_keys_on_the_upload_host() {
    let emu = start(builder());
    let s = new_session(&emu, 3, "text/plain");
    let mut c = Conn::open(&emu);
    let r = put(
        &mut c,
        &s.target,
        "bytes 0-2/3",
        b"abc",
        &[("X-API-Key", KEY.to_owned())],
    )
    .unwrap();
    assert_eq!(r.status, 200);
    let log = emu.request_log();
    assert_eq!(log.len(), 2);
    assert!(log[0].x_api_key);
    let rec = &log[1];
    assert!(
        rec.x_api_key,
        "the key was (wrongly) sent to the upload endpoint, and logged as such"
    );
    assert!(rec.path.contains("upload_id=REDACTED"));
    let upload_id = s.upload_url.split("upload_id=").nth(1).unwrap();
    assert!(!rec.path.contains(upload_id));
    assert_eq!(rec.method, "PUT");
    assert_eq!(rec.content_range.as_deref(), Some("bytes 0-2/3"));
    assert_eq!(rec.content_length, Some(3));
    assert_eq!(rec.host.as_deref(), Some(emu.addr().to_string().as_str()));
    assert_eq!(
        (rec.status, rec.bytes_received, rec.persisted),
        (Some(200), 3, Some(3))
    );
    assert_eq!((rec.session, rec.outcome.as_str()), (Some(1), "ok"));
    // The same log over HTTP.
    let r = c.send("GET", "/_emulator/requests", &[], b"").unwrap();
    let http_log: Vec<resumable_emulator::RequestRecord> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(http_log, log);
    assert_eq!(
        c.send("DELETE", "/_emulator/requests", &[], b"")
            .unwrap()
            .status,
        204
    );
    assert!(emu.request_log().is_empty());
    let stats = c.send("GET", "/_emulator/stats", &[], b"").unwrap().json();
    assert_eq!(stats["sessions_created"], 1);
    assert_eq!(stats["sessions"][0]["state"], "complete");
    assert_eq!(stats["sessions"][0]["bytes_received"], 3);
    assert_eq!(
        c.send("GET", "/_emulator/health", &[], b"").unwrap().status,
        200
    );
}
