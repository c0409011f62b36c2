//! Transcript tests: the exact sequence of requests, answers and actions for
//! named scenarios. A change here is a change of behaviour on the wire.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;

use resumable_core::{Chunking, Purpose};
use sim::{Fault, Server, UNIT};

/// A 600 KiB file in 256 KiB chunks through the file API; `fault(n)` scripts
/// the n-th request.
fn transcript(fault: impl Fn(u64, Purpose) -> Fault) -> Vec<String> {
    let size = 600 * 1024;
    let data = sim::source(size, 1);
    let mut cfg = sim::file_api_config(size as u64);
    cfg.chunking = Chunking::Fixed(UNIT);
    let mut server = Server::new();
    let run = sim::drive(&mut server, cfg, &data, fault, |_| false, 1000);
    assert!(server.violations.0.is_empty(), "{:?}", server.violations);
    if run.result.as_ref().is_some_and(Result::is_ok) {
        assert_eq!(server.objects[&server.registrations[0]], data);
    }
    run.transcript
}

#[test]
fn happy_path() {
    assert_eq!(
        transcript(|_, _| Fault::None),
        sim::lines(
            "
            POST /v1/organizations/org/files/upload-url -> 200
            checkpoint persisted=0
            PUT bytes 0-262143/614400 -> 308 bytes=0-262143
            checkpoint persisted=262144
            PUT bytes 262144-524287/614400 -> 308 bytes=0-524287
            checkpoint persisted=524288
            checksum 524288..614400
            PUT bytes 524288-614399/614400 -> 200
            checkpoint persisted=614400 uploaded
            POST /v1/organizations/org/files -> 201
            done
            "
        )
    );
}

#[test]
fn a_308_without_range_means_nothing_persisted() {
    let t = transcript(|n, _| {
        if n == 1 {
            Fault::PersistUnits(0)
        } else {
            Fault::None
        }
    });
    assert_eq!(
        t[..6],
        sim::lines(
            "
            POST /v1/organizations/org/files/upload-url -> 200
            checkpoint persisted=0
            PUT bytes 0-262143/614400 [PersistUnits(0)] -> 308
            wait 287ms
            PUT bytes 0-262143/614400 -> 308 bytes=0-262143
            checkpoint persisted=262144
            "
        )[..]
    );
}

#[test]
fn partial_persistence_resumes_from_the_servers_offset() {
    let size = 1024 * 1024;
    let data = sim::source(size, 2);
    let mut cfg = sim::file_api_config(size as u64);
    cfg.chunking = Chunking::Fixed(4 * UNIT);
    let mut server = Server::new();
    let run = sim::drive(
        &mut server,
        cfg,
        &data,
        |n, _| {
            if n == 1 {
                Fault::PersistUnits(1)
            } else {
                Fault::None
            }
        },
        |_| false,
        1000,
    );
    assert_eq!(
        run.transcript,
        sim::lines(
            "
            POST /v1/organizations/org/files/upload-url -> 200
            checkpoint persisted=0
            checksum 0..1048576
            PUT bytes 0-1048575/1048576 [PersistUnits(1)] -> 308 bytes=0-262143
            checkpoint persisted=262144
            PUT bytes 262144-1048575/1048576 -> 200
            checkpoint persisted=1048576 uploaded
            POST /v1/organizations/org/files -> 201
            done
            "
        )
    );
}

#[test]
fn a_lost_final_response_is_recovered_by_a_status_query() {
    let t = transcript(|n, _| {
        if n == 3 {
            Fault::LostResponse
        } else {
            Fault::None
        }
    });
    assert_eq!(
        t[6..],
        sim::lines(
            "
            checksum 524288..614400
            PUT bytes 524288-614399/614400 [LostResponse] -> Reset
            wait 287ms
            PUT bytes */614400 -> 200
            checkpoint persisted=614400 uploaded
            POST /v1/organizations/org/files -> 201
            done
            "
        )[..]
    );
}

#[test]
fn a_gone_session_is_replaced_and_the_upload_restarts_at_zero() {
    let t = transcript(|n, _| {
        if n == 2 {
            Fault::KillSession
        } else {
            Fault::None
        }
    });
    assert_eq!(
        t,
        sim::lines(
            "
            POST /v1/organizations/org/files/upload-url -> 200
            checkpoint persisted=0
            PUT bytes 0-262143/614400 -> 308 bytes=0-262143
            checkpoint persisted=262144
            PUT bytes 262144-524287/614400 [KillSession] -> 404
            checkpoint persisted=0
            POST /v1/organizations/org/files/upload-url -> 200
            checkpoint persisted=0
            PUT bytes 0-262143/614400 -> 308 bytes=0-262143
            checkpoint persisted=262144
            PUT bytes 262144-524287/614400 -> 308 bytes=0-524287
            checkpoint persisted=524288
            checksum 524288..614400
            PUT bytes 524288-614399/614400 -> 200
            checkpoint persisted=614400 uploaded
            POST /v1/organizations/org/files -> 201
            done
            "
        )
    );
}
