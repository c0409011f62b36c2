//! `ifGenerationMatch` and kin on the initiation, and their check again at finalize,
//! driven with raw HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use resumable_emulator::{EmulatorHandle, SessionStatus};

/// `POST …/o?uploadType=resumable&name=NAME{extra}`.
fn initiate(emu: &EmulatorHandle, name: &str, extra: &str) -> Resp {
    Conn::open(emu)
        .send(
            "POST",
            &format!(
                "/upload/storage/v1/b/{}/o?uploadType=resumable&name={name}{extra}",
                emu.bucket()
            ),
            &[("Authorization", "Bearer token".into())],
            b"",
        )
        .unwrap()
}

/// A session for `name` with the conditions in `extra`; its `PUT` target.
fn session(emu: &EmulatorHandle, name: &str, extra: &str) -> String {
    let r = initiate(emu, name, extra);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    target(r.header("location").unwrap())
}

/// Uploads `body` whole in one `PUT`.
fn upload(emu: &EmulatorHandle, target: &str, body: &[u8]) -> Resp {
    let n = body.len();
    put(
        &mut Conn::open(emu),
        target,
        &format!("bytes 0-{}/{n}", n - 1),
        body,
        &[],
    )
    .unwrap()
}

fn assert_condition_not_met(r: &Resp) {
    assert_eq!(r.status, 412, "{}", String::from_utf8_lossy(&r.body));
    r.error_message();
    assert_eq!(r.json()["error"]["reason"], "conditionNotMet");
}

#[test]
fn if_generation_match_is_checked_at_the_initiation() {
    let emu = start(builder());
    // 0 on a new name: only if no such object exists, and none does.
    let first = data(1000);
    let t = session(&emu, "a.bin", "&ifGenerationMatch=0");
    let r = upload(&emu, &t, &first);
    assert_eq!(r.status, 200);
    let object = r.json();
    let generation: u64 = object["generation"].as_str().unwrap().parse().unwrap();
    assert_eq!(object["metageneration"], "1");
    assert_eq!(emu.object("a.bin").unwrap().generation, generation);

    // 0 on an existing name: 412, and no session.
    let sessions = emu.sessions_created();
    let r = initiate(&emu, "a.bin", "&ifGenerationMatch=0");
    assert_condition_not_met(&r);
    assert!(r.header("location").is_none());
    assert_eq!(emu.sessions_created(), sessions);

    // The current generation: the write goes ahead and makes a new generation.
    let second = data(2000);
    let t = session(&emu, "a.bin", &format!("&ifGenerationMatch={generation}"));
    let r = upload(&emu, &t, &second);
    assert_eq!(r.status, 200);
    let newer: u64 = r.json()["generation"].as_str().unwrap().parse().unwrap();
    assert!(newer > generation, "{newer} after {generation}");
    assert!(emu.object_bytes("a.bin").unwrap() == second);
    // The old generation no longer matches.
    let r = initiate(&emu, "a.bin", &format!("&ifGenerationMatch={generation}"));
    assert_condition_not_met(&r);

    // The other three.
    let ok = [
        format!("&ifGenerationNotMatch={generation}"),
        "&ifMetagenerationMatch=1".to_owned(),
        "&ifMetagenerationNotMatch=2".to_owned(),
        format!("&ifGenerationMatch={newer}&ifMetagenerationMatch=1"),
    ];
    for extra in ok {
        assert_eq!(initiate(&emu, "a.bin", &extra).status, 200, "{extra}");
    }
    let refused = [
        format!("&ifGenerationNotMatch={newer}"),
        "&ifMetagenerationMatch=2".to_owned(),
        "&ifMetagenerationNotMatch=1".to_owned(),
        format!("&ifGenerationMatch={newer}&ifMetagenerationMatch=2"),
        // No live object: nothing to compare with.
        "&ifGenerationNotMatch=0".to_owned(),
        "&ifMetagenerationMatch=1".to_owned(),
    ];
    for (i, extra) in refused.iter().enumerate() {
        let name = if i < 4 { "a.bin" } else { "absent.bin" };
        assert_condition_not_met(&initiate(&emu, name, extra));
    }

    // A value that is not an int64: 400.
    for bad in ["x", "1.5", "", "99999999999999999999"] {
        let r = initiate(&emu, "b.bin", &format!("&ifGenerationMatch={bad}"));
        assert_eq!(r.status, 400, "{bad:?}");
        assert!(r.error_message().contains("ifGenerationMatch"));
    }
}

#[test]
fn the_preconditions_are_checked_again_when_the_session_finalizes() {
    let emu = start(builder());
    // Three sessions promise to write "race.bin" only if it does not exist yet.
    let a = session(&emu, "race.bin", "&ifGenerationMatch=0");
    let b = session(&emu, "race.bin", "&ifGenerationMatch=0");
    let c = session(&emu, "race.bin", "&ifGenerationMatch=0");
    let data_a = data(2 * UNIT);
    let data_b = data(2 * UNIT + 7);
    // b and c hold bytes before a finishes; c all of them, its total not yet named.
    let mut conn = Conn::open(&emu);
    let r = put_range(&mut conn, &b, &data_b, 0, UNIT, Some(data_b.len())).unwrap();
    assert_eq!(r.persisted(), UNIT as u64);
    let r = put_range(&mut conn, &c, &data_a, 0, UNIT, None).unwrap();
    assert_eq!(r.persisted(), UNIT as u64);

    // The first to finalize wins.
    let r = upload(&emu, &a, &data_a);
    assert_eq!(r.status, 200);
    let generation = emu.object("race.bin").unwrap().generation;

    // b's final chunk: 412, nothing of it kept, the object untouched.
    let r = put_range(
        &mut conn,
        &b,
        &data_b,
        UNIT,
        data_b.len(),
        Some(data_b.len()),
    )
    .unwrap();
    assert_condition_not_met(&r);
    assert!(r.error_message().contains("ifGenerationMatch=0"));
    assert!(emu.object_bytes("race.bin").unwrap() == data_a);
    assert_eq!(emu.object("race.bin").unwrap().generation, generation);
    // The session stays, at its earlier offset.
    let r = query(&emu, &b, Some(data_b.len()));
    assert_eq!((r.status, r.persisted()), (308, UNIT as u64));
    let info = &emu.sessions()[1];
    assert_eq!(
        (info.state, info.persisted),
        (SessionStatus::Active, UNIT as u64)
    );

    // c finalizes with a status query naming the total: 412 too.
    let r = query(&emu, &c, Some(UNIT));
    assert_condition_not_met(&r);
    assert!(emu.object_bytes("race.bin").unwrap() == data_a);
    assert_eq!(emu.sessions()[2].state, SessionStatus::Active);
}
