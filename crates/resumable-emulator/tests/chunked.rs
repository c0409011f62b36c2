//! Data requests framed by `Transfer-Encoding: chunked`, as Cloud Storage takes
//! them (Google's Rust client sends every resumable `PUT` so), over raw TCP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use resumable_emulator::{EmulatorBuilder, EmulatorHandle, RequestKind};

/// A chunked `PUT` of `body`, cut into pieces of `piece` bytes.
fn put_chunked(
    c: &mut Conn,
    target: &str,
    range: Option<String>,
    body: &[u8],
    piece: usize,
    extra: &[(&str, String)],
) -> Resp {
    let mut headers: Vec<(&str, String)> =
        range.map(|r| ("Content-Range", r)).into_iter().collect();
    headers.extend_from_slice(extra);
    let pieces: Vec<&[u8]> = body.chunks(piece).collect();
    c.send_chunked("PUT", target, &headers, &pieces).unwrap()
}

/// An emulator (built by `b`), a file API session for `len` bytes of data,
/// the data, and a connection.
fn setup(b: EmulatorBuilder, len: usize) -> (EmulatorHandle, Sess, Vec<u8>, Conn) {
    let emu = start(b);
    let s = new_session(&emu, len as u64, "text/plain");
    let c = Conn::open(&emu);
    (emu, s, data(len), c)
}

fn last_put(emu: &EmulatorHandle) -> resumable_emulator::RequestRecord {
    emu.request_log()
        .into_iter()
        .rev()
        .find(|r| r.method == "PUT")
        .unwrap()
}

#[test]
fn chunked_chunks_and_a_chunked_final_request_store_the_object() {
    let (emu, s, body, mut c) = setup(builder(), 2 * UNIT + 12_345);
    let total = body.len();
    // A chunk of unknown total, in uneven pieces.
    let r = put_chunked(
        &mut c,
        &s.target,
        Some(format!("bytes 0-{}/*", UNIT - 1)),
        &body[..UNIT],
        1000,
        &[],
    );
    assert_eq!(r.status, 308, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.persisted(), UNIT as u64);
    let rec = last_put(&emu);
    assert!(rec.chunked);
    assert_eq!(rec.content_length, None);
    assert_eq!(rec.kind, RequestKind::Chunk);
    // The final request names the total.
    let r = put_chunked(
        &mut c,
        &s.target,
        Some(format!("bytes {UNIT}-{}/{total}", total - 1)),
        &body[UNIT..],
        65_536,
        &[("X-Goog-Hash", format!("crc32c={}", crc32c_b64(&body)))],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["size"], total.to_string());
    assert_eq!(r.json()["crc32c"], crc32c_b64(&body));
    assert_eq!(last_put(&emu).kind, RequestKind::Final);
    assert!(emu.object_bytes(&s.gcs_path).unwrap() == body);
}

#[test]
fn a_chunked_body_shorter_than_its_range_is_400_and_keeps_whole_units() {
    let (emu, s, body, mut c) = setup(builder(), 3 * UNIT);
    let total = body.len();
    // Two units named, one and a half sent.
    let r = put_chunked(
        &mut c,
        &s.target,
        Some(format!("bytes 0-{}/{total}", 2 * UNIT - 1)),
        &body[..UNIT + UNIT / 2],
        100_000,
        &[],
    );
    assert_eq!(r.status, 400);
    assert!(r.error_message().contains("fewer"), "{}", r.error_message());
    assert_eq!(query(&emu, &s.target, Some(total)).persisted(), UNIT as u64);
    // A final request short of the total: nothing finalized, whole units kept.
    let r = put_chunked(
        &mut c,
        &s.target,
        Some(format!("bytes {UNIT}-{}/{total}", total - 1)),
        &body[UNIT..total - 1],
        UNIT,
        &[],
    );
    assert_eq!(r.status, 400);
    assert!(emu.object(&s.gcs_path).is_none());
    assert_eq!(
        query(&emu, &s.target, Some(total)).persisted(),
        2 * UNIT as u64
    );
    // The rest, with a Content-Length, finishes the object byte for byte.
    let r = put_range(&mut c, &s.target, &body, 2 * UNIT, total, Some(total)).unwrap();
    assert_eq!(r.status, 200);
    assert!(emu.object_bytes(&s.gcs_path).unwrap() == body);
}

#[test]
fn a_chunked_body_longer_than_its_range_is_400_and_finalizes_nothing() {
    let (emu, s, body, mut c) = setup(builder(), 1000);
    let mut longer = body.clone();
    longer.extend_from_slice(b"0123456789");
    let r = put_chunked(
        &mut c,
        &s.target,
        Some("bytes 0-999/1000".into()),
        &longer,
        300,
        &[],
    );
    assert_eq!(r.status, 400);
    assert!(r.error_message().contains("more"), "{}", r.error_message());
    assert!(emu.object(&s.gcs_path).is_none());
    assert_eq!(query(&emu, &s.target, Some(1000)).header("range"), None);
    // Exactly the range's bytes finish it.
    let r = put_chunked(
        &mut c,
        &s.target,
        Some("bytes 0-999/1000".into()),
        &body,
        300,
        &[],
    );
    assert_eq!(r.status, 200);
    assert!(emu.object_bytes(&s.gcs_path).unwrap() == body);
}

#[test]
fn a_chunked_final_request_with_a_wrong_hash_keeps_nothing() {
    let (emu, s, body, mut c) = setup(builder(), UNIT + 10);
    let r = put_chunked(
        &mut c,
        &s.target,
        Some(format!("bytes 0-{}/{}", body.len() - 1, body.len())),
        &body,
        4096,
        &[("X-Goog-Hash", "crc32c=AAAAAA==".into())],
    );
    assert_eq!(r.status, 400);
    assert!(emu.object(&s.gcs_path).is_none());
    assert_eq!(query(&emu, &s.target, None).header("range"), None);
}

#[test]
fn a_chunked_request_without_content_range_is_the_whole_object() {
    let emu = start(builder());
    let body = data(UNIT + 77);
    // Its length declared by file_size.
    let s = new_session(&emu, body.len() as u64, "text/plain");
    let mut c = Conn::open(&emu);
    let r = put_chunked(&mut c, &s.target, None, &body, 50_000, &[]);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(emu.object_bytes(&s.gcs_path).unwrap() == body);
    // Not the declared length: 400, nothing finalized.
    let s = new_session(&emu, body.len() as u64, "text/plain");
    let r = put_chunked(&mut c, &s.target, None, &body[..1000], 500, &[]);
    assert_eq!(r.status, 400);
    assert!(emu.object(&s.gcs_path).is_none());

    // Of an initiated session with no declared length: the body's end is the total.
    let bucket = emu.bucket().to_owned();
    let r = c
        .send(
            "POST",
            &format!("/upload/storage/v1/b/{bucket}/o?uploadType=resumable&name=whole.bin"),
            &[],
            b"",
        )
        .unwrap();
    assert_eq!(r.status, 200);
    let t = target(r.header("location").unwrap());
    let r = put_chunked(&mut c, &t, None, &body, 70_000, &[]);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["size"], body.len().to_string());
    assert!(emu.object_bytes("whole.bin").unwrap() == body);
}

#[test]
fn a_chunked_status_query_must_be_empty() {
    let (_emu, s, body, mut c) = setup(builder(), 2 * UNIT);
    let r = put_range(&mut c, &s.target, &body, 0, UNIT, None).unwrap();
    assert_eq!(r.status, 308);
    let r = put_chunked(&mut c, &s.target, Some("bytes */*".into()), b"", 1, &[]);
    assert_eq!(r.status, 308);
    assert_eq!(r.persisted(), UNIT as u64);
    let r = put_chunked(&mut c, &s.target, Some("bytes */*".into()), b"x", 1, &[]);
    assert_eq!(r.status, 400);
    r.error_message();
}

#[test]
fn a_body_with_neither_content_length_nor_chunked_framing_is_411() {
    let emu = start(builder());
    let s = new_session(&emu, 10, "text/plain");
    let mut c = Conn::open(&emu);
    c.write_head(
        "PUT",
        &s.target,
        &[("Content-Range", "bytes 0-9/10".into())],
    )
    .unwrap();
    let r = c.read_response().unwrap();
    assert_eq!(r.status, 411);
    assert!(r.error_message().contains("chunked"));
}

#[test]
fn a_chunked_body_cut_off_keeps_only_whole_units_and_gets_no_answer() {
    let (emu, s, body, mut c) = setup(builder(), 3 * UNIT);
    let total = body.len();
    c.write_head(
        "PUT",
        &s.target,
        &[
            ("Content-Range", format!("bytes 0-{}/{total}", total - 1)),
            ("Transfer-Encoding", "chunked".into()),
        ],
    )
    .unwrap();
    let sent = UNIT + UNIT / 2;
    c.write_body(format!("{sent:x}\r\n").as_bytes()).unwrap();
    c.write_body(&body[..sent]).unwrap();
    c.finish_writing();
    assert!(c.read_response().is_err(), "no answer to a cut-off request");
    let rec = wait_for_log(&emu, |r| r.outcome == "cut-off");
    assert_eq!(rec.persisted, Some(UNIT as u64));
    assert_eq!(query(&emu, &s.target, Some(total)).persisted(), UNIT as u64);
}

#[test]
fn faults_apply_to_chunked_bodies() {
    let (emu, s, body, mut c) = setup(
        builder().faults("chunk#1 status=503 after=256KiB"),
        3 * UNIT,
    );
    let total = body.len();
    let r = put_chunked(
        &mut c,
        &s.target,
        Some(format!("bytes 0-{}/{total}", 2 * UNIT - 1)),
        &body[..2 * UNIT],
        100_000,
        &[],
    );
    assert_eq!(r.status, 503);
    assert_eq!(query(&emu, &s.target, Some(total)).persisted(), UNIT as u64);
}
