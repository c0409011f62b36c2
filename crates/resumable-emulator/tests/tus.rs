//! The emulator's tus 1.0 mode over real sockets, with raw HTTP/1.1 (no
//! upload library): every rule of the core protocol and its extensions,
//! and every fault the spec language scripts on tus requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use md5::Digest as _;
use resumable_emulator::{EmulatorHandle, RequestKind, TusStatus};

const OCTETS: &str = "application/offset+octet-stream";

fn v() -> (&'static str, String) {
    ("Tus-Resumable", "1.0.0".to_owned())
}

/// `POST` to the endpoint with `headers` (and `Tus-Resumable`) and `body`.
fn post(c: &mut Conn, headers: &[(&'static str, String)], body: &[u8]) -> Resp {
    let mut all = vec![v()];
    all.extend_from_slice(headers);
    if !body.is_empty() {
        all.push(("Content-Type", OCTETS.to_owned()));
    }
    c.send("POST", "/tus/files/", &all, body).unwrap()
}

/// A new upload of `length` bytes (deferred when `None`); its URL.
fn create(c: &mut Conn, length: Option<u64>) -> String {
    let h = match length {
        Some(l) => ("Upload-Length", l.to_string()),
        None => ("Upload-Defer-Length", "1".to_owned()),
    };
    let r = post(c, &[h], b"");
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.header("location").unwrap().to_owned()
}

/// `PATCH` of `body` at `offset`, with `extra` headers.
fn patch(
    c: &mut Conn,
    url: &str,
    offset: u64,
    body: &[u8],
    extra: &[(&'static str, String)],
) -> Resp {
    let mut all = vec![
        v(),
        ("Content-Type", OCTETS.to_owned()),
        ("Upload-Offset", offset.to_string()),
    ];
    all.extend_from_slice(extra);
    c.send("PATCH", &target(url), &all, body).unwrap()
}

fn head(c: &mut Conn, url: &str) -> Resp {
    c.head(&target(url), &[v()]).unwrap()
}

fn offset(r: &Resp) -> u64 {
    r.header("upload-offset").unwrap().parse().unwrap()
}

fn checksum(name: &str, digest: &[u8]) -> (&'static str, String) {
    (
        "Upload-Checksum",
        format!("{name} {}", STANDARD.encode(digest)),
    )
}

fn sha1(body: &[u8]) -> Vec<u8> {
    sha1::Sha1::digest(body).to_vec()
}

fn tus_emulator() -> EmulatorHandle {
    start(builder())
}

#[test]
fn options_discovers_every_extension_without_a_version() {
    let emu = tus_emulator();
    let mut c = Conn::open(&emu);
    for path in ["/tus/files/", "/tus/files/anything"] {
        let r = c.send("OPTIONS", path, &[], b"").unwrap();
        assert_eq!(r.status, 204);
        assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
        assert_eq!(r.header("tus-version"), Some("1.0.0"));
        assert_eq!(
            r.header("tus-extension"),
            Some(
                "creation,creation-with-upload,creation-defer-length,expiration,checksum,\
                 termination"
            )
        );
        assert_eq!(r.header("tus-checksum-algorithm"), Some("sha1,md5,crc32"));
        assert_eq!(r.header("tus-max-size"), Some("5368709120"));
    }
    assert_eq!(emu.tus_endpoint(), format!("{}/tus/files/", emu.base_url()));
}

#[test]
fn the_checksum_algorithms_can_be_chosen_or_the_extension_left_out() {
    let emu = start(builder().tus_checksum_algorithms(["crc32", "md5"]));
    let r = Conn::open(&emu)
        .send("OPTIONS", "/tus/files/", &[], b"")
        .unwrap();
    assert_eq!(r.header("tus-checksum-algorithm"), Some("crc32,md5"));
    let emu = start(builder().tus_checksum_algorithms(Vec::<String>::new()));
    let mut c = Conn::open(&emu);
    let r = c.send("OPTIONS", "/tus/files/", &[], b"").unwrap();
    assert!(r.header("tus-checksum-algorithm").is_none());
    assert!(!r.header("tus-extension").unwrap().contains("checksum"));
    let url = create(&mut c, Some(11));
    let sum = checksum("sha1", &sha1(b"hello world"));
    let r = patch(&mut c, &url, 0, b"hello world", &[sum]);
    assert_eq!(r.status, 400, "no checksum extension, no Upload-Checksum");
    let e = builder()
        .tus_checksum_algorithms(["sha256"])
        .start_in_background()
        .unwrap_err();
    assert!(e.to_string().contains("\"sha256\""), "{e}");
}

#[test]
fn every_other_request_needs_tus_resumable_1_0_0() {
    let emu = tus_emulator();
    let mut c = Conn::open(&emu);
    let r = c
        .send("POST", "/tus/files/", &[("Upload-Length", "5".into())], b"")
        .unwrap();
    assert_eq!(r.status, 412);
    assert_eq!(r.header("tus-version"), Some("1.0.0"));
    let r = c
        .send(
            "POST",
            "/tus/files/",
            &[
                ("Tus-Resumable", "0.2.2".into()),
                ("Upload-Length", "5".into()),
            ],
            b"",
        )
        .unwrap();
    assert_eq!(r.status, 412);
    assert_eq!(r.header("tus-version"), Some("1.0.0"));
    let url = create(&mut c, Some(5));
    let r = c.head(&target(&url), &[]).unwrap();
    assert_eq!(r.status, 412);
    assert_eq!(
        emu.tus_uploads().len(),
        1,
        "no upload from a refused creation"
    );
}

#[test]
fn a_creation_names_an_absolute_location_an_expiry_and_the_metadata_head_shows() {
    let emu = tus_emulator();
    let mut c = Conn::open(&emu);
    let r = post(
        &mut c,
        &[
            ("Upload-Length", "11".into()),
            (
                "Upload-Metadata",
                "filename d29ybGQ=,is_confidential".into(),
            ),
        ],
        b"",
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
    let url = r.header("location").unwrap().to_owned();
    assert!(url.starts_with(&emu.tus_endpoint()), "{url}");
    assert!(r.header("upload-offset").is_none(), "no data, no offset");
    let expires = r.header("upload-expires").unwrap().to_owned();
    assert!(expires.ends_with(" GMT"), "an HTTP date: {expires}");
    let h = head(&mut c, &url);
    assert_eq!(h.status, 200);
    assert_eq!(h.header("upload-offset"), Some("0"));
    assert_eq!(h.header("upload-length"), Some("11"));
    assert_eq!(h.header("cache-control"), Some("no-store"));
    assert_eq!(
        h.header("upload-metadata"),
        Some("filename d29ybGQ=,is_confidential")
    );
    assert_eq!(h.header("upload-expires"), Some(expires.as_str()));
    let info = &emu.tus_uploads()[0];
    assert_eq!(info.metadata["filename"], "world");
    assert_eq!((info.url.as_str(), info.length), (url.as_str(), Some(11)));
}

#[test]
fn a_relative_location_can_be_asked_for() {
    let emu = start(builder().tus_relative_location(true));
    let mut c = Conn::open(&emu);
    let r = post(&mut c, &[("Upload-Length", "5".into())], b"");
    let location = r.header("location").unwrap().to_owned();
    assert!(location.starts_with("/tus/files/"), "{location}");
    let url = format!("{}{location}", emu.base_url());
    assert_eq!(emu.tus_uploads()[0].url, url, "the handle names it whole");
    assert_eq!(patch(&mut c, &url, 0, b"hello", &[]).status, 204);
    assert_eq!(emu.tus_upload_bytes(&url).unwrap(), b"hello");
}

#[test]
fn creations_that_break_the_rules_are_refused_and_create_nothing() {
    let emu = start(builder().max_file_size(1000));
    let mut c = Conn::open(&emu);
    for (headers, status) in [
        (vec![], 400),
        (
            vec![
                ("Upload-Length", "5".to_owned()),
                ("Upload-Defer-Length", "1".to_owned()),
            ],
            400,
        ),
        (vec![("Upload-Defer-Length", "2".to_owned())], 400),
        (vec![("Upload-Length", "-5".to_owned())], 400),
        (vec![("Upload-Length", "1001".to_owned())], 413),
        (
            vec![
                ("Upload-Length", "5".to_owned()),
                ("Upload-Metadata", "a aGk=,a".to_owned()),
            ],
            400,
        ),
        (
            vec![
                ("Upload-Length", "5".to_owned()),
                ("Upload-Metadata", "a not*base64".to_owned()),
            ],
            400,
        ),
    ] {
        let r = post(&mut c, &headers, b"");
        assert_eq!(r.status, status, "{headers:?}");
        assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
        assert!(!r.body.is_empty(), "a refusal says why");
    }
    // Data beyond the length, and data of another type.
    let r = post(&mut c, &[("Upload-Length", "3".into())], b"four");
    assert_eq!(r.status, 400);
    let r = c
        .send(
            "POST",
            "/tus/files/",
            &[
                v(),
                ("Upload-Length", "4".into()),
                ("Content-Type", "text/plain".into()),
            ],
            b"four",
        )
        .unwrap();
    assert_eq!(r.status, 415);
    assert!(emu.tus_uploads().is_empty());
    assert_eq!(emu.stats().tus_uploads_created, 0);
}

#[test]
fn a_whole_upload_in_patches_is_stored_byte_for_byte() {
    let emu = tus_emulator();
    let mut c = Conn::open(&emu);
    let body = data(700_001);
    let url = create(&mut c, Some(body.len() as u64));
    let mut at = 0;
    for piece in body.chunks(250_000) {
        let r = patch(&mut c, &url, at, piece, &[]);
        assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
        at += piece.len() as u64;
        assert_eq!(offset(&r), at);
        assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
        let complete = at == body.len() as u64;
        assert_eq!(r.header("upload-expires").is_some(), !complete);
    }
    assert!(emu.tus_upload_bytes(&url).unwrap() == body);
    let info = &emu.tus_uploads()[0];
    assert_eq!(info.state, TusStatus::Complete);
    assert_eq!(info.crc32c, crc32c::crc32c(&body));
    assert_eq!(info.requests, 3);
}

#[test]
fn creation_with_upload_keeps_the_first_bytes() {
    let emu = tus_emulator();
    let mut c = Conn::open(&emu);
    let r = post(&mut c, &[("Upload-Length", "11".into())], b"hello");
    assert_eq!(r.status, 201);
    assert_eq!(offset(&r), 5);
    let url = r.header("location").unwrap().to_owned();
    let r = patch(&mut c, &url, 5, b" world", &[]);
    assert_eq!(offset(&r), 11);
    assert_eq!(emu.tus_upload_bytes(&url).unwrap(), b"hello world");
}

#[test]
fn a_deferred_length_is_told_once_with_a_patch() {
    let emu = tus_emulator();
    let mut c = Conn::open(&emu);
    let url = create(&mut c, None);
    let h = head(&mut c, &url);
    assert_eq!(h.header("upload-defer-length"), Some("1"));
    assert!(h.header("upload-length").is_none());
    assert_eq!(patch(&mut c, &url, 0, b"hello", &[]).status, 204);
    let r = patch(
        &mut c,
        &url,
        5,
        b" world",
        &[("Upload-Length", "11".into())],
    );
    assert_eq!((r.status, offset(&r)), (204, 11));
    assert_eq!(head(&mut c, &url).header("upload-length"), Some("11"));
    let r = patch(&mut c, &url, 11, b"", &[("Upload-Length", "11".into())]);
    assert_eq!(r.status, 400, "a length is told once");
    assert_eq!(emu.tus_upload_bytes(&url).unwrap(), b"hello world");
    // A length below the bytes it comes with.
    let url = create(&mut c, None);
    let r = patch(&mut c, &url, 0, b"hello", &[("Upload-Length", "4".into())]);
    assert_eq!(r.status, 400);
}

#[test]
fn patches_that_break_the_rules_are_refused_and_keep_nothing() {
    let emu = tus_emulator();
    let mut c = Conn::open(&emu);
    let url = create(&mut c, Some(10));
    assert_eq!(patch(&mut c, &url, 0, b"01234", &[]).status, 204);
    let t = target(&url);
    let r = c
        .send("PATCH", &t, &[v(), ("Upload-Offset", "5".into())], b"56789")
        .unwrap();
    assert_eq!(r.status, 415, "no offset stream content type");
    let r = c
        .send(
            "PATCH",
            &t,
            &[v(), ("Content-Type", OCTETS.into())],
            b"56789",
        )
        .unwrap();
    assert_eq!(r.status, 400, "no Upload-Offset");
    let r = patch(&mut c, &url, 3, b"3456789", &[]);
    assert_eq!(r.status, 409, "an offset that is not the upload's");
    let r = patch(&mut c, &url, 5, b"567890", &[]);
    assert_eq!(r.status, 400, "past the length");
    let r = patch(&mut c, &url, 5, b"56789", &[("Upload-Length", "10".into())]);
    assert_eq!(r.status, 400, "a length on an upload whose length is known");
    assert_eq!(offset(&head(&mut c, &url)), 5, "nothing kept");
    let r = c.send("GET", &t, &[v()], b"").unwrap();
    assert_eq!(r.status, 405);
    let r = c.send("POST", &t, &[v()], b"").unwrap();
    assert_eq!(r.status, 405, "creation is at the endpoint only");
    let r = head(&mut c, &format!("{}nope", emu.tus_endpoint()));
    assert_eq!(r.status, 404);
    assert_eq!(patch(&mut c, &url, 5, b"56789", &[]).status, 204);
    assert_eq!(emu.tus_upload_bytes(&url).unwrap(), b"0123456789");
}

#[test]
fn a_chunked_patch_is_taken_and_one_past_the_length_refused() {
    let emu = tus_emulator();
    let mut c = Conn::open(&emu);
    let url = create(&mut c, Some(11));
    let headers = [
        v(),
        ("Content-Type", OCTETS.to_owned()),
        ("Upload-Offset", "0".to_owned()),
    ];
    let r = c
        .send_chunked("PATCH", &target(&url), &headers, &[b"hel", b"lo"])
        .unwrap();
    assert_eq!((r.status, offset(&r)), (204, 5));
    let headers = [
        v(),
        ("Content-Type", OCTETS.to_owned()),
        ("Upload-Offset", "5".to_owned()),
    ];
    let r = c
        .send_chunked("PATCH", &target(&url), &headers, &[b" wor", b"ld!!"])
        .unwrap();
    assert_eq!(r.status, 400, "past the length");
    assert_eq!(offset(&head(&mut c, &url)), 5, "nothing of it kept");
}

#[test]
fn every_checksum_algorithm_is_checked_and_a_mismatch_is_460_keeping_nothing() {
    let emu = tus_emulator();
    let mut c = Conn::open(&emu);
    let body = data(300_000);
    let url = create(&mut c, Some(3 * 100_000));
    let pieces: Vec<&[u8]> = body.chunks(100_000).collect();
    let sums = [
        checksum("sha1", &sha1(pieces[0])),
        checksum("md5", &md5::Md5::digest(pieces[1])),
        checksum("crc32", &crc32fast::hash(pieces[2]).to_be_bytes()),
    ];
    for (i, sum) in sums.iter().enumerate() {
        let at = i as u64 * 100_000;
        let wrong = checksum(sum.1.split(' ').next().unwrap(), &[0; 4]);
        let r = patch(&mut c, &url, at, pieces[i], std::slice::from_ref(&wrong));
        assert_eq!(r.status, 460, "{sum:?}");
        assert_eq!(offset(&head(&mut c, &url)), at, "a 460 keeps nothing");
        let r = patch(&mut c, &url, at, pieces[i], std::slice::from_ref(sum));
        assert_eq!(
            r.status,
            204,
            "{sum:?}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    assert!(emu.tus_upload_bytes(&url).unwrap() == body);
    let url = create(&mut c, Some(5));
    let r = patch(&mut c, &url, 0, b"hello", &[checksum("sha256", &[0; 32])]);
    assert_eq!(r.status, 400, "an algorithm not announced");
    let r = patch(
        &mut c,
        &url,
        0,
        b"hello",
        &[("Upload-Checksum", "sha1".into())],
    );
    assert_eq!(r.status, 400, "no digest");
}

#[test]
fn a_body_cut_off_keeps_what_arrived_unless_it_had_a_checksum() {
    let emu = tus_emulator();
    let body = data(200_000);
    for (sum, kept) in [(None, 150_000), (Some(checksum("sha1", &sha1(&body))), 0)] {
        let mut c = Conn::open(&emu);
        let url = create(&mut c, Some(200_000));
        let mut headers = vec![
            v(),
            ("Content-Type", OCTETS.to_owned()),
            ("Upload-Offset", "0".to_owned()),
            ("Content-Length", "200000".to_owned()),
        ];
        headers.extend(sum);
        c.write_head("PATCH", &target(&url), &headers).unwrap();
        c.write_body(&body[..150_000]).unwrap();
        c.finish_writing();
        assert!(c.read_response().is_err(), "a cut-off body gets no answer");
        let h = head(&mut Conn::open(&emu), &url);
        assert_eq!(offset(&h), kept);
        let log = emu.request_log();
        let last = log
            .iter()
            .rfind(|r| r.kind == RequestKind::TusPatch)
            .unwrap();
        assert_eq!(last.outcome, "cut-off");
        assert_eq!(last.bytes_received, 150_000);
    }
}

#[test]
fn an_upload_expires_with_410_and_a_complete_one_never_does() {
    // Uploads that expire as they are made: one complete within its
    // creation (it carries all its bytes), one not.
    let emu = start(builder().session_lifetime(Duration::ZERO));
    let mut c = Conn::open(&emu);
    let open = create(&mut c, Some(5));
    let r = post(&mut c, &[("Upload-Length", "5".to_owned())], b"hello");
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let done = r.header("location").unwrap().to_owned();
    assert_eq!(head(&mut c, &open).status, 410);
    assert_eq!(patch(&mut c, &open, 0, b"hello", &[]).status, 410);
    assert_eq!(head(&mut c, &done).status, 200);
    assert_eq!(emu.tus_uploads()[0].state, TusStatus::Expired);
    assert!(emu.tus_upload_bytes(&open).is_err());
    assert_eq!(emu.tus_upload_bytes(&done).unwrap(), b"hello");
}

#[test]
fn termination_answers_204_and_the_upload_is_gone() {
    let emu = tus_emulator();
    let mut c = Conn::open(&emu);
    let url = create(&mut c, Some(10));
    assert_eq!(patch(&mut c, &url, 0, b"01234", &[]).status, 204);
    let r = c.send("DELETE", &target(&url), &[v()], b"").unwrap();
    assert_eq!(r.status, 204);
    assert_eq!(head(&mut c, &url).status, 410);
    let r = c.send("DELETE", &target(&url), &[v()], b"").unwrap();
    assert_eq!(r.status, 410);
    assert_eq!(emu.tus_uploads()[0].state, TusStatus::Terminated);
    let e = emu.tus_upload_bytes(&url).unwrap_err();
    assert!(e.to_string().contains("terminated"), "{e}");
}

#[test]
fn the_log_and_stats_show_tus_requests() {
    let emu = tus_emulator();
    let mut c = Conn::open(&emu);
    c.send("OPTIONS", "/tus/files/", &[], b"").unwrap();
    let url = create(&mut c, Some(5));
    head(&mut c, &url);
    patch(&mut c, &url, 0, b"hello", &[]);
    c.send("DELETE", &target(&url), &[v()], b"").unwrap();
    let kinds: Vec<_> = emu.request_log().iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            RequestKind::TusOptions,
            RequestKind::TusCreate,
            RequestKind::TusHead,
            RequestKind::TusPatch,
            RequestKind::TusTerminate,
        ]
    );
    let log = emu.request_log();
    assert_eq!(log[3].session, Some(1));
    assert_eq!(log[3].persisted, Some(5));
    assert_eq!(log[3].bytes_received, 5);
    assert!(
        log.iter()
            .all(|r| r.kind.is_tus() && !r.kind.is_upload_endpoint())
    );
    let stats = emu.stats();
    assert_eq!((stats.tus_uploads_created, stats.bytes_received), (1, 5));
    assert_eq!(
        stats.sessions_created, 0,
        "tus uploads are not GCS sessions"
    );
}

#[test]
fn the_disk_storage_keeps_tus_uploads_in_files() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(builder().storage(resumable_emulator::Storage::Disk(dir.path().into())));
    let mut c = Conn::open(&emu);
    let body = data(123_456);
    let url = create(&mut c, Some(body.len() as u64));
    assert_eq!(patch(&mut c, &url, 0, &body[..1000], &[]).status, 204);
    assert_eq!(patch(&mut c, &url, 1000, &body[1000..], &[]).status, 204);
    assert!(emu.tus_upload_bytes(&url).unwrap() == body);
    assert!(dir.path().join("parts/tus-1.part").exists());
}

// Faults.

#[test]
fn a_status_fault_answers_at_once_with_tus_headers_and_keeps_nothing() {
    let emu = start(builder().faults("patch#2 status=503; head#1 status=412"));
    let mut c = Conn::open(&emu);
    let url = create(&mut c, Some(10));
    assert_eq!(patch(&mut c, &url, 0, b"01234", &[]).status, 204);
    let r = patch(&mut c, &url, 5, b"56789", &[]);
    assert_eq!(r.status, 503);
    assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
    let h = head(&mut c, &url);
    assert_eq!(h.status, 412);
    assert_eq!(h.header("tus-version"), Some("1.0.0"));
    assert_eq!(offset(&head(&mut c, &url)), 5, "the 503 kept nothing");
    let log = emu.request_log();
    assert_eq!(log[2].fault.as_deref(), Some("patch#2 status=503"));
    assert_eq!(log[2].outcome, "fault");
}

#[test]
fn a_reset_mid_body_keeps_the_bytes_that_arrived() {
    let emu = start(builder().faults("patch#1 reset after=100KiB; patch#2 status=500 after=1000"));
    let body = data(300_000);
    let mut c = Conn::open(&emu);
    let url = create(&mut c, Some(300_000));
    assert!(
        Conn::open(&emu)
            .send("PATCH", &target(&url), &patch_headers(0), &body)
            .is_err(),
        "reset"
    );
    let mut c = Conn::open(&emu);
    assert_eq!(offset(&head(&mut c, &url)), 100 * 1024);
    let r = patch(&mut c, &url, 102_400, &body[102_400..], &[]);
    assert_eq!(r.status, 500);
    let mut c = Conn::open(&emu);
    assert_eq!(offset(&head(&mut c, &url)), 103_400, "1000 more kept");
    assert_eq!(
        patch(&mut c, &url, 103_400, &body[103_400..], &[]).status,
        204
    );
    assert!(emu.tus_upload_bytes(&url).unwrap() == body);
    let outcomes: Vec<_> = emu
        .request_log()
        .iter()
        .filter(|r| r.kind == RequestKind::TusPatch)
        .map(|r| r.outcome.clone())
        .collect();
    assert_eq!(outcomes, ["fault-reset", "fault", "ok"]);
}

fn patch_headers(offset: u64) -> Vec<(&'static str, String)> {
    vec![
        v(),
        ("Content-Type", OCTETS.to_owned()),
        ("Upload-Offset", offset.to_string()),
    ]
}

#[test]
fn a_lie_about_the_offset_meets_409_and_a_head_tells_the_truth() {
    let emu = start(builder().faults("head#1 persisted=0; patch#2 persisted=3"));
    let mut c = Conn::open(&emu);
    let r = post(&mut c, &[("Upload-Length", "10".into())], b"0123");
    let url = r.header("location").unwrap().to_owned();
    assert_eq!(offset(&head(&mut c, &url)), 0, "the lie");
    assert_eq!(patch(&mut c, &url, 0, b"0123456789", &[]).status, 409);
    assert_eq!(offset(&head(&mut c, &url)), 4, "the truth");
    let r = patch(&mut c, &url, 4, b"456", &[]);
    assert_eq!((r.status, offset(&r)), (204, 3), "the lie");
    assert_eq!(patch(&mut c, &url, 3, b"3456789", &[]).status, 409);
    assert_eq!(offset(&head(&mut c, &url)), 7);
    assert_eq!(patch(&mut c, &url, 7, b"789", &[]).status, 204);
    assert_eq!(emu.tus_upload_bytes(&url).unwrap(), b"0123456789");
}

#[test]
fn corrupt_damages_a_byte_a_checksum_catches() {
    let emu = start(builder().faults("patch#1-2 corrupt"));
    let mut c = Conn::open(&emu);
    let url = create(&mut c, Some(11));
    let sum = checksum("sha1", &sha1(b"hello world"));
    let r = patch(&mut c, &url, 0, b"hello world", std::slice::from_ref(&sum));
    assert_eq!(r.status, 460);
    assert_eq!(offset(&head(&mut c, &url)), 0);
    // Without a checksum the damage is stored: what checksums are for.
    let r = patch(&mut c, &url, 0, b"hello world", &[]);
    assert_eq!(r.status, 204);
    let stored = emu.tus_upload_bytes(&url).unwrap();
    assert_ne!(stored, b"hello world");
    assert_eq!(&stored[1..], b"ello world");
}

#[test]
fn short_persists_less_and_says_so() {
    let emu = start(builder().faults("patch#1 short=1000"));
    let mut c = Conn::open(&emu);
    let body = data(10_000);
    let url = create(&mut c, Some(10_000));
    let r = patch(&mut c, &url, 0, &body, &[]);
    assert_eq!((r.status, offset(&r)), (204, 9000));
    assert_eq!(patch(&mut c, &url, 9000, &body[9000..], &[]).status, 204);
    assert!(emu.tus_upload_bytes(&url).unwrap() == body);
    // A chunked body too: its last 1000 bytes are held back.
    emu.add_faults("patch#1 short=1000").unwrap();
    let url = create(&mut c, Some(10_000));
    let r = c
        .send_chunked(
            "PATCH",
            &target(&url),
            &patch_headers(0),
            &[&body[..6000], &body[6000..]],
        )
        .unwrap();
    assert_eq!((r.status, offset(&r)), (204, 9000));
}

#[test]
fn expire_and_kill_end_an_upload_before_the_request() {
    let emu = start(builder().faults("patch#1 expire session=1; head#1 kill session=2"));
    let mut c = Conn::open(&emu);
    let first = create(&mut c, Some(5));
    let second = create(&mut c, Some(5));
    assert_eq!(patch(&mut c, &second, 0, b"he", &[]).status, 204);
    assert_eq!(patch(&mut c, &first, 0, b"hello", &[]).status, 410);
    assert_eq!(head(&mut c, &second).status, 404);
    assert_eq!(patch(&mut c, &second, 2, b"llo", &[]).status, 404);
    let states: Vec<_> = emu.tus_uploads().iter().map(|u| u.state).collect();
    assert_eq!(states, [TusStatus::Expired, TusStatus::Killed]);
}

#[test]
fn a_lost_response_was_processed_in_full() {
    let emu = start(builder().faults("patch#1 drop-response; create#2 drop-response"));
    let mut c = Conn::open(&emu);
    let url = create(&mut c, Some(5));
    assert!(
        c.send("PATCH", &target(&url), &patch_headers(0), b"hello")
            .is_err(),
        "no answer"
    );
    let mut c = Conn::open(&emu);
    assert_eq!(offset(&head(&mut c, &url)), 5, "kept though unanswered");
    assert!(
        c.send(
            "POST",
            "/tus/files/",
            &[v(), ("Upload-Length", "1".into())],
            b""
        )
        .is_err()
    );
    assert_eq!(
        emu.stats().tus_uploads_created,
        2,
        "created though unanswered"
    );
    let log = emu.request_log();
    assert_eq!(log[1].outcome, "fault-dropped-response");
}

#[test]
fn a_stall_holds_a_patch_mid_body() {
    let emu = start(builder().faults("patch#1 stall=300ms after=10"));
    let mut c = Conn::open(&emu);
    let url = create(&mut c, Some(20));
    let emu_addr = emu.addr();
    let t = std::thread::spawn(move || {
        let mut c = Conn::open_addr(emu_addr);
        c.send("PATCH", &target(&url), &patch_headers(0), &[7; 20])
            .unwrap()
            .status
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while emu.stats().held == 0 {
        assert!(std::time::Instant::now() < deadline, "never held");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(t.join().unwrap(), 204);
}

#[test]
fn tus_selectors_parse_and_refuse_what_only_cloud_storage_has() {
    let emu = tus_emulator();
    for good in [
        "tus#3 status=503",
        "options#1 status=500",
        "create#1 reset",
        "head#1 persisted=0",
        "patch#2 reset after=100KiB",
        "patch#1 corrupt",
        "patch#1 short=1KiB",
        "terminate#1 status=500",
        "patch#1 status=503 session=*",
    ] {
        emu.add_faults(good)
            .unwrap_or_else(|e| panic!("{good:?}: {e}"));
    }
    for bad in [
        "patch#1 no-range",
        "patch#1 override-308",
        "head#1 range=bytes=0-1",
        "create#1 set=a:1",
        "chunk#1 corrupt",
        "register#1 corrupt",
        "tusx#1 status=503",
    ] {
        assert!(emu.add_faults(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn a_patch_claiming_more_bytes_than_any_length_is_refused_not_a_panic() {
    let emu = tus_emulator();
    let mut c = Conn::open(&emu);
    let url = create(&mut c, None);
    assert_eq!(patch(&mut c, &url, 0, b"hello", &[]).status, 204);
    let mut c = Conn::open(&emu);
    c.write_head(
        "PATCH",
        &target(&url),
        &[
            v(),
            ("Content-Type", OCTETS.to_owned()),
            ("Upload-Offset", "5".to_owned()),
            ("Content-Length", (u64::MAX - 3).to_string()),
        ],
    )
    .unwrap();
    let r = c.read_response().unwrap();
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    // The server is still there, the upload as it was.
    let mut c = Conn::open(&emu);
    assert_eq!(offset(&head(&mut c, &url)), 5);
}

#[test]
fn an_upload_of_deferred_length_is_bounded_by_tus_max_size() {
    let emu = start(builder().max_file_size(10));
    let mut c = Conn::open(&emu);
    let url = create(&mut c, None);
    // Told in the PATCH, or only by its bytes: 413 past the size either way.
    let told = patch(
        &mut c,
        &url,
        0,
        b"hello",
        &[("Upload-Length", "11".to_owned())],
    );
    assert_eq!(told.status, 413, "{}", String::from_utf8_lossy(&told.body));
    let mut c = Conn::open(&emu);
    let too_many = patch(&mut c, &url, 0, b"hello world", &[]);
    assert_eq!(too_many.status, 413);
    let mut c = Conn::open(&emu);
    let chunked = c
        .send_chunked(
            "PATCH",
            &target(&url),
            &[
                v(),
                ("Content-Type", OCTETS.to_owned()),
                ("Upload-Offset", "0".to_owned()),
            ],
            &[b"hello ", b"world"],
        )
        .unwrap();
    assert_eq!(
        chunked.status,
        400,
        "{}",
        String::from_utf8_lossy(&chunked.body)
    );
    let mut c = Conn::open(&emu);
    assert_eq!(offset(&head(&mut c, &url)), 0, "nothing past the size kept");
}
