//! Scripted faults, each on its own and as a matrix under a careful raw-HTTP client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use resumable_emulator::{EmulatorHandle, SessionStatus};
use serde_json::json;

fn with_faults(spec: &str) -> EmulatorHandle {
    start(builder().faults(spec))
}

/// A session of `units` whole units plus 10 bytes, and its data.
fn session(emu: &EmulatorHandle, units: usize) -> (Sess, Vec<u8>) {
    let body = data(units * UNIT + 10);
    (
        new_session(emu, body.len() as u64, "application/octet-stream"),
        body,
    )
}

#[test]
fn status_before_the_body_persists_nothing() {
    for code in [500u16, 502, 503, 504, 408, 429] {
        let emu = with_faults(&format!("chunk#1 status={code}"));
        let (s, body) = session(&emu, 2);
        let total = body.len();
        let mut c = Conn::open(&emu);
        let r = put_range(&mut c, &s.target, &body, 0, UNIT, Some(total)).unwrap();
        assert_eq!(r.status, code);
        assert!(r.error_message().contains("fault"));
        assert!(r.header("x-guploader-uploadid").is_some());
        assert_eq!(query(&emu, &s.target, Some(total)).header("range"), None);
        // The early answer drained the body: the connection is still usable.
        let r = put_range(&mut c, &s.target, &body, 0, UNIT, Some(total)).unwrap();
        assert_eq!(r.status, 308);
        let rec = &emu.request_log()[1];
        assert_eq!(
            rec.fault.as_deref(),
            Some(format!("chunk#1 status={code}").as_str())
        );
        assert_eq!((rec.status, rec.outcome.as_str()), (Some(code), "fault"));
    }
}

#[test]
fn retry_after_comes_with_the_status() {
    let emu =
        with_faults("chunk#1 status=429 retry-after=3; upload-url#1 status=503 retry-after=1");
    let mut c = Conn::open(&emu);
    let r = api_post(
        &mut c,
        "/v1/organizations/o/files/upload-url",
        Some(KEY),
        &json!({}),
    );
    assert_eq!((r.status, r.header("retry-after")), (503, Some("1")));
    let (s, body) = session(&emu, 1);
    let r = put_range(&mut c, &s.target, &body, 0, UNIT, Some(body.len())).unwrap();
    assert_eq!((r.status, r.header("retry-after")), (429, Some("3")));
}

#[test]
fn status_after_n_bytes_keeps_the_whole_units_read() {
    let emu = with_faults("chunk#1 status=503 after=300000");
    let (s, body) = session(&emu, 3);
    let total = body.len();
    let mut c = Conn::open(&emu);
    let r = put_range(&mut c, &s.target, &body, 0, 2 * UNIT, Some(total)).unwrap();
    assert_eq!(r.status, 503);
    let rec = wait_for_log(&emu, |r| r.status == Some(503));
    assert_eq!(
        (rec.bytes_received, rec.persisted),
        (300_000, Some(UNIT as u64))
    );
    assert_eq!(query(&emu, &s.target, Some(total)).persisted(), UNIT as u64);
}

#[test]
fn reset_before_the_body_answers_nothing() {
    let emu = with_faults("request#2 reset");
    let (s, body) = session(&emu, 1);
    let mut c = Conn::open(&emu);
    // request#1 on the upload endpoint is this query; #2 the chunk.
    assert_eq!(query(&emu, &s.target, None).status, 308);
    assert!(put_range(&mut c, &s.target, &body, 0, UNIT, Some(body.len())).is_err());
    let rec = wait_for_log(&emu, |r| r.outcome == "fault-reset");
    assert_eq!((rec.status, rec.persisted), (None, None));
    assert_eq!(query(&emu, &s.target, None).header("range"), None);
}

#[test]
fn reset_after_n_bytes_keeps_the_whole_units_read() {
    let emu = with_faults("put#1 reset after=600000");
    let (s, body) = session(&emu, 3);
    let total = body.len();
    let mut c = Conn::open(&emu);
    assert!(put_range(&mut c, &s.target, &body, 0, 3 * UNIT, Some(total)).is_err());
    let rec = wait_for_log(&emu, |r| r.outcome == "fault-reset");
    assert_eq!(
        (rec.bytes_received, rec.persisted),
        (600_000, Some(2 * UNIT as u64))
    );
    assert_eq!(
        query(&emu, &s.target, Some(total)).persisted(),
        2 * UNIT as u64
    );
}

#[test]
fn stall_delays_but_answers() {
    let emu = with_faults("chunk#1 stall=200ms; chunk#2 stall=100ms after=1000");
    let (s, body) = session(&emu, 2);
    let total = body.len();
    let mut c = Conn::open(&emu);
    assert_eq!(
        put_range(&mut c, &s.target, &body, 0, UNIT, Some(total))
            .unwrap()
            .status,
        308
    );
    assert_eq!(
        put_range(&mut c, &s.target, &body, UNIT, 2 * UNIT, Some(total))
            .unwrap()
            .status,
        308
    );
    let log = emu.request_log();
    assert_eq!(log[1].fault.as_deref(), Some("chunk#1 stall=200ms"));
    assert_eq!(
        log[2].fault.as_deref(),
        Some("chunk#2 stall=100ms after=1000")
    );
}

#[test]
fn short_persists_less_than_received() {
    let emu = with_faults("chunk#1 short=256KiB; final#1 short=1");
    let (s, body) = session(&emu, 3);
    let total = body.len();
    let mut c = Conn::open(&emu);
    let r = put_range(&mut c, &s.target, &body, 0, 3 * UNIT, Some(total)).unwrap();
    assert_eq!((r.status, r.persisted()), (308, 2 * UNIT as u64));
    // The final chunk is received whole but not finalized: the 308 says what is kept.
    let r = put_range(&mut c, &s.target, &body, 2 * UNIT, total, Some(total)).unwrap();
    assert_eq!((r.status, r.persisted()), (308, 3 * UNIT as u64));
    let r = put_range(&mut c, &s.target, &body, 3 * UNIT, total, Some(total)).unwrap();
    assert_eq!(r.status, 200);
    assert!(emu.object_bytes(&s.gcs_path).unwrap() == body);
}

#[test]
fn no_range_answers_308_without_range_and_means_it() {
    let emu = with_faults("chunk#2 no-range");
    let (s, body) = session(&emu, 2);
    let total = body.len();
    let mut c = Conn::open(&emu);
    assert_eq!(
        put_range(&mut c, &s.target, &body, 0, UNIT, Some(total))
            .unwrap()
            .persisted(),
        UNIT as u64
    );
    let r = put_range(&mut c, &s.target, &body, UNIT, 2 * UNIT, Some(total)).unwrap();
    assert_eq!((r.status, r.header("range")), (308, None));
    assert_eq!(
        query(&emu, &s.target, Some(total)).header("range"),
        None,
        "truly nothing persisted"
    );
    assert_eq!(
        put_range(&mut c, &s.target, &body, UNIT, 2 * UNIT, Some(total))
            .unwrap()
            .status,
        400
    );
    assert_eq!(
        put_range(&mut c, &s.target, &body, 0, 2 * UNIT, Some(total))
            .unwrap()
            .persisted(),
        2 * UNIT as u64
    );
    assert_eq!(
        put_range(&mut c, &s.target, &body, 2 * UNIT, total, Some(total))
            .unwrap()
            .status,
        200
    );
    assert!(emu.object_bytes(&s.gcs_path).unwrap() == body);
}

#[test]
fn drop_response_commits_the_final_chunk() {
    let emu = with_faults("final#1 drop-response");
    let (s, body) = session(&emu, 1);
    let total = body.len();
    let mut c = Conn::open(&emu);
    assert!(put_range(&mut c, &s.target, &body, 0, total, Some(total)).is_err());
    wait_for_log(&emu, |r| r.outcome == "fault-dropped-response");
    // The lost answer is recovered by a status query.
    let r = query(&emu, &s.target, Some(total));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["md5Hash"], md5_b64(&body).as_str());
    assert!(emu.object_bytes(&s.gcs_path).unwrap() == body);
}

#[test]
fn expire_and_kill_end_the_session() {
    let emu = with_faults("chunk#2 expire session=1; chunk#1 kill session=2");
    let (s1, body) = session(&emu, 2);
    let (s2, _) = session(&emu, 2);
    let total = body.len();
    let mut c = Conn::open(&emu);
    assert_eq!(
        put_range(&mut c, &s1.target, &body, 0, UNIT, Some(total))
            .unwrap()
            .status,
        308
    );
    let r = put_range(&mut c, &s1.target, &body, UNIT, 2 * UNIT, Some(total)).unwrap();
    assert_eq!(r.status, 410);
    assert_eq!(query(&emu, &s1.target, None).status, 410);
    let r = put_range(&mut c, &s2.target, &body, 0, UNIT, Some(total)).unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(query(&emu, &s2.target, None).status, 404);
    let states: Vec<_> = emu.sessions().iter().map(|s| s.state).collect();
    assert_eq!(states, [SessionStatus::Expired, SessionStatus::Killed]);
}

#[test]
fn override_308_answers_200_with_the_override_header() {
    let emu = with_faults("put override-308");
    let (s, body) = session(&emu, 1);
    let total = body.len();
    let mut c = Conn::open(&emu);
    let r = put_range(&mut c, &s.target, &body, 0, UNIT, Some(total)).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-http-status-code-override"), Some("308"));
    assert_eq!(r.persisted(), UNIT as u64);
    // A real 200 stays a 200.
    let r = put_range(&mut c, &s.target, &body, UNIT, total, Some(total)).unwrap();
    assert_eq!(
        (r.status, r.header("x-http-status-code-override")),
        (200, None)
    );
    assert_eq!(r.json()["kind"], "storage#object");
}

#[test]
fn register_and_upload_url_fail_once() {
    let emu = with_faults("register#1 status=503; upload-url#1 status=500");
    let mut c = Conn::open(&emu);
    let req = json!({"filename": "a", "file_size": 3, "mime_type": "text/plain"});
    let r = api_post(
        &mut c,
        "/v1/organizations/org_1/files/upload-url",
        Some(KEY),
        &req,
    );
    assert_eq!(r.status, 500);
    r.error_message();
    assert_eq!(emu.sessions_created(), 0);
    let s = new_session_named(&emu, "org_1", "a", 3, "text/plain");
    assert_eq!(
        put(&mut c, &s.target, "bytes 0-2/3", b"abc", &[])
            .unwrap()
            .status,
        200
    );
    let reg =
        json!({"filename": "a", "gcs_path": s.gcs_path, "file_size": 3, "mime_type": "text/plain"});
    assert_eq!(
        api_post(&mut c, "/v1/organizations/org_1/files", Some(KEY), &reg).status,
        503
    );
    assert_eq!(emu.registrations(), 0);
    assert_eq!(
        api_post(&mut c, "/v1/organizations/org_1/files", Some(KEY), &reg).status,
        201
    );
}

#[test]
fn a_dropped_register_response_still_registers_once() {
    let emu = with_faults("register#1 drop-response");
    let s = new_session_named(&emu, "org_1", "a", 3, "text/plain");
    let mut c = Conn::open(&emu);
    assert_eq!(
        put(&mut c, &s.target, "bytes 0-2/3", b"abc", &[])
            .unwrap()
            .status,
        200
    );
    let reg =
        json!({"filename": "a", "gcs_path": s.gcs_path, "file_size": 3, "mime_type": "text/plain"});
    let mut c = Conn::open(&emu);
    let headers = [
        ("X-API-Key", KEY.to_owned()),
        ("Content-Type", "application/json".to_owned()),
    ];
    assert!(
        c.send(
            "POST",
            "/v1/organizations/org_1/files",
            &headers,
            reg.to_string().as_bytes()
        )
        .is_err()
    );
    wait_for_log(&emu, |r| r.outcome == "fault-dropped-response");
    let mut c = Conn::open(&emu);
    let r = api_post(&mut c, "/v1/organizations/org_1/files", Some(KEY), &reg);
    assert_eq!(r.status, 200, "already registered: the same File");
    assert_eq!(r.json()["id"], s.file_id.as_str());
    assert_eq!(emu.registrations(), 1);
}

#[test]
fn rules_count_per_session_and_in_order() {
    let emu = with_faults("chunk#1 status=503 session=*; chunk#3 status=502");
    let (s1, body) = session(&emu, 3);
    let (s2, _) = session(&emu, 3);
    let total = body.len();
    let mut c = Conn::open(&emu);
    let mut statuses = Vec::new();
    for s in [&s1, &s2] {
        for _ in 0..2 {
            let off = query(&emu, &s.target, None).persisted() as usize;
            statuses.push(
                put_range(&mut c, &s.target, &body, off, off + UNIT, Some(total))
                    .unwrap()
                    .status,
            );
        }
    }
    // Global chunk counts: 1 (503, per-session rule wins), 2, 3 (session 2's first: 503
    // first, and the 502 rule's third chunk is eaten by it), 4.
    assert_eq!(statuses, [503, 308, 503, 308]);
}

#[test]
fn probabilities_are_deterministic_under_a_seed() {
    let run = |seed: u64| {
        let emu = start(builder().seed(seed).faults("query p=0.5 status=503"));
        let (s, _) = session(&emu, 1);
        (0..24)
            .map(|_| query(&emu, &s.target, None).status)
            .collect::<Vec<_>>()
    };
    let a = run(11);
    assert_eq!(a, run(11));
    assert_ne!(a, run(12));
    assert!(a.contains(&503) && a.contains(&308));
}

#[test]
fn faults_are_managed_over_http_and_from_the_handle() {
    let emu = start(builder());
    let mut c = Conn::open(&emu);
    let r = c
        .send(
            "POST",
            "/_emulator/faults",
            &[],
            b"chunk#1 status=503\nquery#2 no-range",
        )
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["added"], 2);
    let r = c
        .send("POST", "/_emulator/faults", &[], b"chunk#1 explode")
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(r.error_message().contains("explode"));
    emu.add_faults("final#1 drop-response").unwrap();
    assert!(emu.add_faults("final#0 reset").is_err());
    let r = c.send("GET", "/_emulator/faults", &[], b"").unwrap();
    assert_eq!(
        r.json()["rules"],
        json!([
            "chunk#1 status=503",
            "query#2 no-range",
            "final#1 drop-response"
        ])
    );
    assert_eq!(emu.faults().len(), 3);
    assert_eq!(
        c.send("DELETE", "/_emulator/faults", &[], b"")
            .unwrap()
            .status,
        204
    );
    assert!(emu.faults().is_empty());
    emu.add_faults("query#1 status=500").unwrap();
    let (s, _) = session(&emu, 1);
    assert_eq!(query(&emu, &s.target, None).status, 500);
    emu.clear_faults();
    assert_eq!(query(&emu, &s.target, None).status, 308);
    // A bad spec at start is an error.
    assert!(builder().faults("nonsense").start_in_background().is_err());
}

/// Every recoverable fault, at several points of an upload, under the careful client:
/// the object stored is always byte-identical, and the fault shows in the log.
#[test]
fn fault_matrix_always_ends_with_an_identical_object() {
    let faults = [
        "status=500",
        "status=502",
        "status=503 retry-after=1",
        "status=504",
        "status=408",
        "status=429",
        "status=503 after=100000",
        "status=500 after=300000",
        "reset",
        "reset after=1",
        "reset after=400000",
        "stall=20ms",
        "short=1",
        "short=256KiB",
        "no-range",
        "override-308",
        "drop-response",
        "expire",
        "kill",
    ];
    let targets = ["put#1", "chunk#2", "final#1", "query#1"];
    let body = data(5 * UNIT + 12_345);
    let mut cases = 0;
    for fault in faults {
        for target in targets {
            let rule = format!("{target} {fault}");
            let emu = start(builder().faults(&rule));
            let out = careful_upload(&emu, &body, 2 * UNIT);
            assert!(emu.object_bytes(&out.gcs_path).unwrap() == body, "{rule}");
            assert_eq!(
                out.object["size"],
                body.len().to_string().as_str(),
                "{rule}"
            );
            assert_eq!(out.object["crc32c"], crc32c_b64(&body).as_str(), "{rule}");
            let applied = emu
                .request_log()
                .iter()
                .any(|r| r.fault.as_deref() == Some(rule.as_str()));
            // A status query only happens after a failure; the other targets always fire.
            if target != "query#1" {
                assert!(applied, "{rule} never fired: {:#?}", emu.request_log());
            }
            if applied && (fault == "expire" || fault == "kill") {
                assert_eq!(out.sessions, 2, "{rule}: a new session after 410/404");
            } else {
                assert_eq!(out.sessions, 1, "{rule}");
            }
            cases += 1;
        }
    }
    assert_eq!(cases, faults.len() * targets.len());
}

/// Random faults of several kinds at once, seeded: the careful client still ends with
/// an identical object.
#[test]
fn random_faults_under_seeds() {
    let body = data(4 * UNIT + 1);
    for seed in 0..6 {
        let spec = "put p=0.2 status=503; put p=0.1 reset after=300000; chunk p=0.2 short=256KiB; \
                    put p=0.1 override-308; final p=0.3 drop-response";
        let emu = start(builder().seed(seed).faults(spec));
        let out = careful_upload(&emu, &body, UNIT);
        assert!(
            emu.object_bytes(&out.gcs_path).unwrap() == body,
            "seed {seed}"
        );
    }
}

#[test]
fn cut_ends_an_answers_body_early_and_the_object_stays_whole() {
    // cut=: a whole message whose body ends early (its length says so).
    let emu = with_faults("final#1 cut=10");
    let (s, body) = session(&emu, 1);
    let total = body.len();
    let mut c = Conn::open(&emu);
    let r = put_range(&mut c, &s.target, &body, 0, total, Some(total)).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("10"));
    assert_eq!(r.body.len(), 10);
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());
    wait_for_log(&emu, |r| r.outcome == "fault-cut");
    // The object is stored whole; a status query answers its JSON.
    let q = query(&emu, &s.target, Some(total));
    assert_eq!(q.status, 200);
    assert_eq!(q.json()["md5Hash"], md5_b64(&body).as_str());

    // cut-close=: the length of the whole body, then the connection closes.
    let emu = with_faults("final#1 cut-close=10");
    let (s, body) = session(&emu, 1);
    let total = body.len();
    let mut c = Conn::open(&emu);
    let range = format!("bytes 0-{}/{total}", total - 1);
    c.write_head(
        "PUT",
        &s.target,
        &[
            ("Content-Range", range),
            ("Content-Length", total.to_string()),
        ],
    )
    .unwrap();
    c.write_body(&body).unwrap();
    let r = c.read_until_close().unwrap();
    assert_eq!(r.status, 200);
    let promised: usize = r.header("content-length").unwrap().parse().unwrap();
    assert!(promised > 10, "the whole body's length: {promised}");
    assert_eq!(r.body.len(), 10, "closed after 10 bytes");
    assert_eq!(query(&emu, &s.target, Some(total)).status, 200);
}

#[test]
fn cut_applies_to_file_api_answers_too() {
    let emu = with_faults("upload-url#1 cut=0; register#1 cut=7");
    let mut c = Conn::open(&emu);
    let ask = json!({"filename": "a.bin", "file_size": 10, "mime_type": "text/plain"});
    let r = api_post(
        &mut c,
        "/v1/organizations/org_1/files/upload-url",
        Some(KEY),
        &ask,
    );
    assert_eq!((r.status, r.body.len()), (200, 0), "an empty body");
    let s = new_session_named(&emu, "org_1", "a.bin", 10, "text/plain");
    let body = data(10);
    put_range(&mut Conn::open(&emu), &s.target, &body, 0, 10, Some(10)).unwrap();
    let reg = json!({"filename": "a.bin", "gcs_path": s.gcs_path, "file_size": 10, "mime_type": "text/plain"});
    let r = api_post(&mut c, "/v1/organizations/org_1/files", Some(KEY), &reg);
    assert_eq!((r.status, r.body.len()), (201, 7));
    // Registered for real: the same gcs_path again gets the same File.
    let again = api_post(&mut c, "/v1/organizations/org_1/files", Some(KEY), &reg);
    assert_eq!(again.status, 200);
    assert!(!again.json()["id"].as_str().unwrap().is_empty());
    assert_eq!(emu.registrations(), 1);
}
