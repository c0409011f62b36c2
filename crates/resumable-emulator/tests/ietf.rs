//! The emulator's "Resumable Uploads for HTTP" (IETF draft) mode over real
//! sockets, with raw HTTP/1.1 (no upload library): both creation
//! strategies, the `104 (Upload Resumption Supported)` heads on the wire,
//! appends, offset retrieval, limits, problem documents, digests,
//! cancellation, both interop versions, and the faults the spec language
//! scripts on draft requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use resumable_emulator::{EmulatorHandle, IetfLimits, IetfStatus, Interop, RequestKind};
use sha2::Digest as _;

const PARTIAL: &str = "application/partial-upload";
const MISMATCH: &str = "https://iana.org/assignments/http-problem-types#mismatching-upload-offset";

fn iv(version: u64) -> (&'static str, String) {
    ("Upload-Draft-Interop-Version", version.to_string())
}

fn emulator() -> EmulatorHandle {
    start(builder())
}

/// Reads heads until the final one: the `1xx` heads, then the final
/// response (with its body).
fn exchange(c: &mut Conn) -> (Vec<Resp>, Resp) {
    let mut interim = Vec::new();
    loop {
        let r = c.read_response().unwrap();
        if r.status / 100 == 1 {
            interim.push(r);
        } else {
            return (interim, r);
        }
    }
}

/// Sends a request and reads every head of its answer.
fn send(
    c: &mut Conn,
    method: &str,
    target: &str,
    headers: &[(&'static str, String)],
    body: &[u8],
) -> (Vec<Resp>, Resp) {
    let mut all = headers.to_vec();
    all.push(("Content-Length", body.len().to_string()));
    c.write_head(method, target, &all).unwrap();
    c.write_body(body).unwrap();
    exchange(c)
}

/// A careful creation (no content, `Upload-Complete: ?0`) of `length`
/// bytes; its URL, checked against its `104`.
fn create(c: &mut Conn, v: u64, length: Option<u64>) -> String {
    let mut h = vec![iv(v), ("Upload-Complete", "?0".to_owned())];
    h.extend(length.map(|l| ("Upload-Length", l.to_string())));
    let (interim, r) = send(c, "POST", "/ietf/files/", &h, b"");
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let url = r.header("location").unwrap().to_owned();
    assert_eq!(interim.len(), 1);
    assert_eq!(interim[0].header("location"), Some(url.as_str()));
    url
}

fn append(
    c: &mut Conn,
    url: &str,
    v: u64,
    offset: u64,
    complete: bool,
    body: &[u8],
    extra: &[(&'static str, String)],
) -> (Vec<Resp>, Resp) {
    let mut h = vec![
        iv(v),
        ("Content-Type", PARTIAL.to_owned()),
        ("Upload-Offset", offset.to_string()),
        (
            "Upload-Complete",
            if complete { "?1" } else { "?0" }.to_owned(),
        ),
    ];
    h.extend_from_slice(extra);
    send(c, "PATCH", &target(url), &h, body)
}

/// Writes the head of an append whose framing is `framing`, its body
/// left to the test.
fn append_head(
    c: &mut Conn,
    url: &str,
    v: u64,
    offset: u64,
    complete: bool,
    framing: (&'static str, String),
) {
    let h = [
        iv(v),
        ("Content-Type", PARTIAL.to_owned()),
        ("Upload-Offset", offset.to_string()),
        (
            "Upload-Complete",
            if complete { "?1" } else { "?0" }.to_owned(),
        ),
        framing,
    ];
    c.write_head("PATCH", &target(url), &h).unwrap();
}

fn head(c: &mut Conn, url: &str, v: u64) -> Resp {
    c.head(&target(url), &[iv(v)]).unwrap()
}

fn offset(r: &Resp) -> u64 {
    r.header("upload-offset").unwrap().parse().unwrap()
}

fn sha256_field(body: &[u8]) -> (&'static str, String) {
    (
        "Content-Digest",
        format!("sha-256=:{}:", STANDARD.encode(sha2::Sha256::digest(body))),
    )
}

/// Reads one raw head (up to the blank line) from `s`, byte by byte.
fn raw_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "closed after {head:?}");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

#[test]
fn careful_creation_appends_and_completion_in_both_versions() {
    let emu = emulator();
    let bytes = data(300_000);
    // (version, an append's status, the completing append's status, lifetime key)
    for (v, appended, done, age) in [(6, 201, 201, "expires"), (8, 204, 200, "max-age")] {
        let mut c = Conn::open(&emu);
        let url = create(&mut c, v, Some(bytes.len() as u64));
        assert!(url.starts_with(&emu.ietf_endpoint()), "{url}");
        let r = head(&mut c, &url, v);
        assert_eq!(r.status, 204);
        assert_eq!(r.header("upload-offset"), Some("0"));
        assert_eq!(r.header("upload-complete"), Some("?0"));
        assert_eq!(r.header("upload-length"), Some("300000"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(
            r.header("upload-draft-interop-version"),
            Some(&*v.to_string())
        );
        let limit = r.header("upload-limit").unwrap();
        assert!(limit.starts_with("max-size=5368709120, "), "{limit}");
        assert!(limit.contains(&format!("{age}=")), "{limit}");
        let (_, r) = append(&mut c, &url, v, 0, false, &bytes[..100_000], &[]);
        assert_eq!((r.status, offset(&r)), (appended, 100_000));
        assert_eq!(r.header("upload-complete"), Some("?0"));
        let (_, r) = append(&mut c, &url, v, 100_000, true, &bytes[100_000..], &[]);
        assert_eq!(r.status, done, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.header("upload-complete"), Some("?1"));
        assert_eq!(offset(&r), 300_000);
        assert_eq!(emu.ietf_upload_bytes(&url).unwrap(), bytes);
        let r = head(&mut c, &url, v);
        assert_eq!(r.header("upload-complete"), Some("?1"));
        // A completed upload takes nothing more.
        let (_, r) = append(&mut c, &url, v, 300_000, true, b"", &[]);
        assert_eq!(r.status, 400);
    }
    let infos = emu.ietf_uploads();
    assert_eq!(infos.len(), 2);
    assert!(infos.iter().all(|i| i.state == IetfStatus::Complete));
    assert_eq!((infos[0].interop, infos[1].interop), (6, 8));
}

#[test]
fn optimistic_creation_gets_its_104_before_the_body_is_read() {
    let emu = emulator();
    let bytes = data(50_000);
    for v in [6u64, 8] {
        let mut s = TcpStream::connect(emu.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = format!(
            "POST /ietf/files/ HTTP/1.1\r\nHost: {}\r\nUpload-Draft-Interop-Version: {v}\r\n\
             Upload-Complete: ?1\r\nContent-Type: image/png\r\nContent-Length: {}\r\n\r\n",
            emu.addr(),
            bytes.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        // Not a byte of the body is sent yet: the 104 comes first.
        let first = raw_head(&mut s);
        assert!(
            first.starts_with("HTTP/1.1 104 Upload Resumption Supported\r\n"),
            "{first}"
        );
        assert!(
            first.contains(&format!("upload-draft-interop-version: {v}\r\n")),
            "{first}"
        );
        assert!(
            first.contains("upload-limit: max-size=5368709120, "),
            "{first}"
        );
        let location = first
            .lines()
            .find_map(|l| l.strip_prefix("location: "))
            .unwrap()
            .to_owned();
        s.write_all(&bytes).unwrap();
        let last = raw_head(&mut s);
        let want = if v == 8 {
            "HTTP/1.1 200 OK\r\n"
        } else {
            "HTTP/1.1 201 Created\r\n"
        };
        assert!(last.starts_with(want), "{last}");
        assert!(
            last.contains(&format!("location: {location}\r\n")),
            "{last}"
        );
        assert!(last.contains("upload-complete: ?1\r\n"), "{last}");
        assert_eq!(emu.ietf_upload_bytes(&location).unwrap(), bytes);
    }
}

#[test]
fn progress_104s_arrive_while_the_body_streams() {
    let emu = start(builder().ietf_progress_every(Some(1000)));
    let mut c = Conn::open(&emu);
    let url = create(&mut c, 8, None);
    let bytes = data(3500);
    append_head(
        &mut c,
        &url,
        8,
        0,
        true,
        ("Content-Length", "3500".to_owned()),
    );
    for (i, piece) in bytes.chunks(1000).take(3).enumerate() {
        c.write_body(piece).unwrap();
        // Each is read before the next piece is written: sent as stored.
        let r = c.read_response().unwrap();
        assert_eq!(r.status, 104);
        assert_eq!(offset(&r), (i as u64 + 1) * 1000);
        assert_eq!(r.header("location"), None);
        assert_eq!(r.header("upload-draft-interop-version"), Some("8"));
    }
    c.write_body(&bytes[3000..]).unwrap();
    let (interim, r) = exchange(&mut c);
    assert!(interim.is_empty(), "{interim:?}");
    assert_eq!((r.status, offset(&r)), (200, 3500));
    assert_eq!(
        r.header("upload-length"),
        None,
        "only HEAD tells the length"
    );
    assert_eq!(emu.ietf_upload_bytes(&url).unwrap(), bytes);
}

#[test]
fn a_reset_mid_body_keeps_what_arrived_and_head_reports_it() {
    let emu =
        start(builder().faults("ietf-patch#1 reset after=5000; ietf-create#2 reset after=3000"));
    let bytes = data(10_000);
    let mut c = Conn::open(&emu);
    let url = create(&mut c, 8, Some(10_000));
    append_head(
        &mut c,
        &url,
        8,
        0,
        true,
        ("Content-Length", "10000".to_owned()),
    );
    let _ = c.write_body(&bytes);
    assert!(c.read_response().is_err(), "the connection is reset");
    let mut c = Conn::open(&emu);
    let r = head(&mut c, &url, 8);
    assert_eq!(
        (offset(&r), r.header("upload-complete")),
        (5000, Some("?0"))
    );
    let (_, r) = append(&mut c, &url, 8, 5000, true, &bytes[5000..], &[]);
    assert_eq!(r.status, 200);
    assert_eq!(emu.ietf_upload_bytes(&url).unwrap(), bytes);
    // An optimistic creation reset mid-body resumes at the URL of its 104.
    let mut c = Conn::open(&emu);
    c.write_head(
        "POST",
        "/ietf/files/",
        &[
            iv(8),
            ("Upload-Complete", "?1".to_owned()),
            ("Content-Length", "10000".to_owned()),
        ],
    )
    .unwrap();
    let _ = c.write_body(&bytes);
    let announced = c.read_response().unwrap();
    assert_eq!(announced.status, 104);
    let url = announced.header("location").unwrap().to_owned();
    assert!(c.read_response().is_err(), "the connection is reset");
    let mut c = Conn::open(&emu);
    let r = head(&mut c, &url, 8);
    assert_eq!(offset(&r), 3000);
    assert_eq!(
        r.header("upload-length"),
        Some("10000"),
        "told by Content-Length with ?1"
    );
    let (_, r) = append(&mut c, &url, 8, 3000, true, &bytes[3000..], &[]);
    assert_eq!(r.status, 200);
    assert_eq!(emu.ietf_upload_bytes(&url).unwrap(), bytes);
    // A client that stops writing mid-body: what arrived is kept.
    let mut c = Conn::open(&emu);
    let url = create(&mut c, 6, None);
    append_head(
        &mut c,
        &url,
        6,
        0,
        false,
        ("Content-Length", "10000".to_owned()),
    );
    c.write_body(&bytes[..4321]).unwrap();
    c.finish_writing();
    assert!(c.read_response().is_err());
    let r = wait_for_offset(&emu, &url, 4321);
    assert_eq!(r.header("upload-complete"), Some("?0"));
}

/// `HEAD` until the upload's offset is `want` (the server notices a cut
/// body asynchronously).
fn wait_for_offset(emu: &EmulatorHandle, url: &str, want: u64) -> Resp {
    for _ in 0..200 {
        let r = head(&mut Conn::open(emu), url, 6);
        if offset(&r) == want {
            return r;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the offset never reached {want}");
}

#[test]
fn a_mismatching_offset_is_a_409_problem_document() {
    let emu = emulator();
    let mut c = Conn::open(&emu);
    let url = create(&mut c, 8, None);
    let (_, r) = append(&mut c, &url, 8, 0, false, b"hello", &[]);
    assert_eq!(r.status, 204);
    let (_, r) = append(&mut c, &url, 8, 3, false, b"lo world", &[]);
    assert_eq!(r.status, 409);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.header("upload-offset"), Some("5"));
    assert_eq!(r.header("upload-complete"), Some("?0"));
    let doc = r.json();
    assert_eq!(doc["type"], MISMATCH);
    assert_eq!(doc["expected-offset"], 5);
    assert_eq!(doc["provided-offset"], 3);
    assert_eq!(doc["status"], 409);
    // Other refusals are problem documents too.
    let (_, r) = send(
        &mut c,
        "PATCH",
        &target(&url),
        &[
            iv(8),
            ("Upload-Offset", "5".into()),
            ("Upload-Complete", "?0".into()),
        ],
        b"x",
    );
    assert_eq!(r.status, 415);
    assert_eq!(r.json()["type"], "about:blank");
    assert_eq!(
        offset(&head(&mut c, &url, 8)),
        5,
        "nothing refused was kept"
    );
}

#[test]
fn upload_limits_are_announced_and_refused_with_413() {
    let limits = IetfLimits {
        max_size: Some(10_000),
        max_append_size: Some(4_000),
        ..IetfLimits::default()
    };
    let emu = start(builder().ietf_limits(limits));
    let mut c = Conn::open(&emu);
    let r = c.send("OPTIONS", "/ietf/files/", &[], b"").unwrap();
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("upload-limit"),
        Some("max-size=10000, max-append-size=4000")
    );
    let (interim, r) = send(
        &mut c,
        "POST",
        "/ietf/files/",
        &[
            iv(8),
            ("Upload-Complete", "?0".into()),
            ("Upload-Length", "10001".into()),
        ],
        b"",
    );
    assert!(interim.is_empty(), "no resource, no 104");
    assert_eq!(r.status, 413);
    assert_eq!(
        r.header("upload-limit"),
        Some("max-size=10000, max-append-size=4000")
    );
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let url = create(&mut c, 8, Some(10_000));
    let bytes = data(10_000);
    let (_, r) = append(&mut c, &url, 8, 0, false, &bytes[..4001], &[]);
    assert_eq!(r.status, 413);
    for from in [0, 4000] {
        let (_, r) = append(
            &mut c,
            &url,
            8,
            from,
            false,
            &bytes[from as usize..from as usize + 4000],
            &[],
        );
        assert_eq!(r.status, 204);
    }
    // A chunked body is measured once it is in.
    append_head(
        &mut c,
        &url,
        8,
        8000,
        false,
        ("Transfer-Encoding", "chunked".to_owned()),
    );
    c.write_chunked_body(&[&bytes[8000..9000], &bytes[9000..], b"!"])
        .unwrap();
    let (_, r) = exchange(&mut c);
    assert_eq!(r.status, 400, "past the length");
    let (_, r) = append(&mut c, &url, 8, 8000, true, &bytes[8000..], &[]);
    assert_eq!(r.status, 200);
    assert_eq!(emu.ietf_upload_bytes(&url).unwrap(), bytes);
}

#[test]
fn digests_are_checked_and_a_mismatch_refused() {
    let emu = start(
        builder()
            .ietf_want_content_digest(true)
            .faults("ietf-patch#2 corrupt"),
    );
    let mut c = Conn::open(&emu);
    let whole = data(2000);
    let repr = ("Repr-Digest", sha256_field(&whole).1);
    let (_, r) = send(
        &mut c,
        "POST",
        "/ietf/files/",
        &[iv(8), ("Upload-Complete", "?0".into()), repr.clone()],
        b"",
    );
    assert_eq!(r.header("want-content-digest"), Some("sha-256=10"));
    let url = r.header("location").unwrap().to_owned();
    let (_, r) = append(
        &mut c,
        &url,
        8,
        0,
        false,
        &whole[..1000],
        &[sha256_field(&whole[..999])],
    );
    assert_eq!(r.status, 400, "the Content-Digest does not match");
    assert_eq!(offset(&head(&mut c, &url, 8)), 0, "nothing of it kept");
    let (_, r) = append(
        &mut c,
        &url,
        8,
        0,
        false,
        &whole[..1000],
        &[sha256_field(&whole[..1000])],
    );
    assert_eq!(r.status, 400, "corrupted on its way in");
    let (_, r) = append(
        &mut c,
        &url,
        8,
        0,
        false,
        &whole[..1000],
        &[sha256_field(&whole[..1000])],
    );
    assert_eq!(r.status, 204);
    let (_, r) = append(&mut c, &url, 8, 1000, true, &whole[1000..], &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("repr-digest"), Some(repr.1.as_str()));
    // A Repr-Digest the whole does not match fails the upload.
    let (_, r) = send(
        &mut c,
        "POST",
        "/ietf/files/",
        &[iv(8), ("Upload-Complete", "?1".into()), repr],
        &whole[..1999],
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.header("upload-complete"), Some("?1"));
    let failed = emu.ietf_uploads().pop().unwrap();
    assert_eq!(failed.state, IetfStatus::Failed);
    assert!(emu.ietf_upload_bytes(&failed.url).is_err());
    let (_, r) = append(
        &mut c,
        &url,
        8,
        0,
        false,
        b"x",
        &[("Content-Digest", "sha-256=:AAAA:".into())],
    );
    assert_eq!(r.status, 400, "a malformed digest field");
}

#[test]
fn delete_cancels_the_upload() {
    let emu = emulator();
    for (v, after) in [(8, 410), (6, 404)] {
        let mut c = Conn::open(&emu);
        let url = create(&mut c, v, None);
        let (_, r) = append(&mut c, &url, v, 0, false, b"abc", &[]);
        assert_eq!(r.status / 100, 2);
        let (_, r) = send(&mut c, "DELETE", &target(&url), &[iv(v)], b"");
        assert_eq!(r.status, 204);
        assert_eq!(head(&mut c, &url, v).status, after);
        let (_, r) = append(&mut c, &url, v, 3, false, b"d", &[]);
        assert_eq!(r.status, after);
    }
    let infos = emu.ietf_uploads();
    assert!(infos.iter().all(|i| i.state == IetfStatus::Cancelled));
    let mut c = Conn::open(&emu);
    let url = create(&mut c, 6, None);
    let (_, r) = send(
        &mut c,
        "DELETE",
        &target(&url),
        &[iv(6), ("Upload-Offset", "0".into())],
        b"",
    );
    assert_eq!(
        r.status, 400,
        "version 6 refuses a cancellation with Upload-Offset"
    );
}

#[test]
fn a_missing_or_unknown_interop_version_is_refused_without_a_104() {
    let emu = start(builder().ietf_versions([Interop::V8]));
    for version in [None, Some("7"), Some("6"), Some("?1")] {
        let mut s = TcpStream::connect(emu.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let v = version.map_or(String::new(), |v| {
            format!("Upload-Draft-Interop-Version: {v}\r\n")
        });
        let req = format!(
            "POST /ietf/files/ HTTP/1.1\r\nHost: x\r\n{v}Upload-Complete: ?1\r\nContent-Length: 3\r\n\r\nabc"
        );
        s.write_all(req.as_bytes()).unwrap();
        let first = raw_head(&mut s);
        assert!(
            first.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{version:?}: {first}"
        );
        assert!(
            first.contains("content-type: application/problem+json"),
            "{first}"
        );
    }
    assert!(emu.ietf_uploads().is_empty());
    let mut c = Conn::open(&emu);
    let url = create(&mut c, 8, None);
    assert_eq!(c.head(&target(&url), &[]).unwrap().status, 400);
    assert_eq!(head(&mut c, &url, 6).status, 400);
    // Version 6 refuses an offset retrieval carrying the upload's fields.
    let emu = emulator();
    let mut c = Conn::open(&emu);
    let url = create(&mut c, 6, None);
    let r = c
        .head(&target(&url), &[iv(6), ("Upload-Offset", "0".into())])
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(head(&mut c, &url, 8).status, 204, "version 8 does not");
}

#[test]
fn faults_reach_the_draft_mode() {
    let emu = start(builder().faults(
        "ietf-create#1 status=503; ietf-head#1 persisted=3; ietf-patch#1 drop-response; \
         ietf-head#3 expire",
    ));
    let mut c = Conn::open(&emu);
    let (interim, r) = send(
        &mut c,
        "POST",
        "/ietf/files/",
        &[iv(8), ("Upload-Complete", "?0".into())],
        b"",
    );
    assert_eq!(r.status, 503);
    assert!(interim.is_empty(), "a 5xx before processing sends no 104");
    assert_eq!(r.header("upload-draft-interop-version"), Some("8"));
    let url = create(&mut c, 8, None);
    let r = head(&mut c, &url, 8);
    assert_eq!(offset(&r), 3, "the offset lies");
    assert_eq!(
        offset(&head(&mut c, &url, 8)),
        0,
        "what is stored stayed true"
    );
    append_head(
        &mut c,
        &url,
        8,
        0,
        false,
        ("Content-Length", "5".to_owned()),
    );
    c.write_body(b"hello").unwrap();
    assert!(c.read_response().is_err(), "the answer is lost");
    let mut c = Conn::open(&emu);
    // The third HEAD: the upload expires first.
    assert_eq!(head(&mut c, &url, 8).status, 410);
    let kinds: Vec<(RequestKind, String)> = emu
        .request_log()
        .into_iter()
        .map(|r| (r.kind, r.outcome))
        .collect();
    assert_eq!(
        kinds,
        [
            (RequestKind::IetfCreate, "fault".to_owned()),
            (RequestKind::IetfCreate, "ok".to_owned()),
            (RequestKind::IetfHead, "ok".to_owned()),
            (RequestKind::IetfHead, "ok".to_owned()),
            (RequestKind::IetfAppend, "fault-dropped-response".to_owned()),
            (RequestKind::IetfHead, "fault".to_owned()),
        ]
    );
    assert_eq!(
        emu.ietf_uploads()[0].offset,
        5,
        "the lost answer's bytes were kept"
    );
    assert_eq!(emu.ietf_uploads()[0].state, IetfStatus::Expired);
    assert!(
        "ietf-patch#1 nonsense"
            .parse::<resumable_emulator::FaultPlan>()
            .is_err()
    );
    assert!(
        "ietf-delete#1 no-range"
            .parse::<resumable_emulator::FaultPlan>()
            .is_err()
    );
}

#[test]
fn a_104_and_hypers_100_continue_both_arrive_whole() {
    let emu = start(builder().ietf_progress_every(Some(10)));
    let mut s = TcpStream::connect(emu.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!(
        "POST /ietf/files/ HTTP/1.1\r\nHost: {}\r\nUpload-Draft-Interop-Version: 8\r\n\
         Upload-Complete: ?0\r\nExpect: 100-continue\r\nContent-Length: 15\r\n\r\n",
        emu.addr()
    );
    s.write_all(req.as_bytes()).unwrap();
    let first = raw_head(&mut s);
    assert!(
        first.starts_with("HTTP/1.1 104 Upload Resumption Supported\r\n"),
        "{first}"
    );
    let second = raw_head(&mut s);
    assert_eq!(second, "HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"hello, world!!!").unwrap();
    let progress = raw_head(&mut s);
    assert!(progress.starts_with("HTTP/1.1 104 "), "{progress}");
    assert!(progress.contains("upload-offset: 15\r\n"), "{progress}");
    let last = raw_head(&mut s);
    assert!(last.starts_with("HTTP/1.1 201 Created\r\n"), "{last}");
    assert!(last.contains("upload-offset: 15\r\n"), "{last}");
}
