//! Adaptive chunk sizes against the sim over a simulated link: the core
//! sees the times a link of a given rate and round trip gives, and its
//! chunks grow until the round trip costs a few percent, shrink after a
//! failure, and stay within their limits. The times are virtual, so each
//! sequence of sizes is pinned exactly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;

use std::time::{Duration, Instant, SystemTime};

use resumable_core::{
    Action, AdaptiveLimits, Body, Chunking, Config, Outcome, Purpose, SessionUrl, Upload,
};
use sim::{Fault, Reply, Server};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// A link: its rate in bytes per second and the time each request waits
/// for its answer beyond sending its body.
#[derive(Clone, Copy)]
struct Link {
    rate: u64,
    round_trip: Duration,
}

impl Link {
    fn took(self, bytes: u64) -> Duration {
        Duration::from_nanos(bytes * 1_000_000_000 / self.rate) + self.round_trip
    }
}

/// What an upload over a link did: the size of every data request, in
/// order, with the faulted ones marked, and how it ended.
struct Run {
    sizes: Vec<String>,
    /// The persisted offset of every checkpoint handed out.
    checkpoints: Vec<u64>,
    outcome: Outcome,
}

/// Uploads `total` bytes to a sim session over `link` with `limits`,
/// `fault(n)` spoiling the n-th data request.
fn upload(total: u64, link: Link, limits: AdaptiveLimits, fault: impl Fn(usize) -> Fault) -> Run {
    upload_with(total, link, Chunking::Adaptive(limits), fault, |_| {})
}

/// [`upload`] with any chunking, `adjust` changing the configuration.
fn upload_with(
    total: u64,
    link: Link,
    chunking: Chunking,
    fault: impl Fn(usize) -> Fault,
    adjust: impl FnOnce(&mut Config),
) -> Run {
    let data = sim::source(total as usize, 3);
    let mut server = Server::new();
    let url = server.open_session(Some(total));
    let mut config = Config::gcs_session(SessionUrl::new(url), Some(total));
    config.chunking = chunking;
    config.jitter_seed = 1;
    adjust(&mut config);
    let (mut now, wall0) = (Instant::now(), SystemTime::UNIX_EPOCH);
    let t0 = now;
    let mut up = Upload::new(config, now, wall0).unwrap();
    let (mut sizes, mut checkpoints) = (Vec::new(), Vec::new());
    let outcome = loop {
        match up.poll_action(now) {
            Action::Send(req) => {
                let body: &[u8] = match req.http.body() {
                    Body::Source(r) => &data[r.start as usize..r.end as usize],
                    _ => &[],
                };
                let mut spoil = Fault::None;
                if req.purpose == Purpose::Chunk && !body.is_empty() {
                    spoil = fault(sizes.len());
                    let mark = if spoil == Fault::None { "" } else { "!" };
                    sizes.push(format!("{}{mark}", mib(body.len() as u64)));
                }
                up.feed_checksum(req_start(&req), body);
                now += link.took(body.len() as u64);
                let wall = wall0 + (now - t0);
                match server.serve(&req.http, body, spoil, wall) {
                    Reply::Response(resp) => up.handle_response(req.id, resp, now).unwrap(),
                    Reply::Reset => up
                        .handle_transport_error(
                            req.id,
                            &resumable_core::TransportError::new(
                                resumable_core::TransportErrorKind::Reset,
                                "reset by the link",
                            ),
                            now,
                        )
                        .unwrap(),
                }
            }
            Action::Checksum(r) => {
                up.feed_checksum(r.start, &data[r.start as usize..r.end as usize]);
            }
            Action::Wait(until) => now = until,
            Action::Checkpoint(checkpoint) => checkpoints.push(checkpoint.persisted),
            Action::RemoveCheckpoint => {}
            Action::Done(outcome) => break outcome,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(server.violations.0.is_empty(), "{:?}", server.violations);
    assert!(server.objects.values().next().unwrap() == &data);
    Run {
        sizes,
        checkpoints,
        outcome,
    }
}

fn req_start(req: &resumable_core::Request) -> u64 {
    match req.http.body() {
        Body::Source(r) => r.start,
        _ => 0,
    }
}

/// `bytes` in MiB, to a quarter.
fn mib(bytes: u64) -> String {
    let quarters = bytes * 4 / MIB;
    let whole = quarters / 4;
    match quarters % 4 {
        0 => format!("{whole}"),
        2 => format!("{whole}.5"),
        q => format!("{whole}.{}", q * 25),
    }
}

fn limits(start: u64) -> AdaptiveLimits {
    AdaptiveLimits {
        start: Some(start),
        ..AdaptiveLimits::default()
    }
}

/// 100 Mbit/s, 25 ms away.
const LINK: Link = Link {
    rate: 12_500_000,
    round_trip: Duration::from_millis(25),
};

#[test]
fn the_offset_query_and_one_chunk_measure_the_link_and_the_next_fits_it() {
    let run = upload(60 * MIB, LINK, limits(256 * KIB), |_| Fault::None);
    // The session's offset query waits one round trip for no bytes; with
    // the first chunk's cycle that gives the link: 12.5 MB/s · 25 ms · 99
    // is 30.9 MB, 29.5 MiB in whole 256 KiB units.
    assert_eq!(run.sizes, ["0.25", "29.5", "29.5", "0.75"]);
    assert_eq!(run.outcome.object.size, 60 * MIB);
    // At the size it holds, the round trip is about 1 % of a cycle (it was
    // 42 % at the first chunk's).
    let share = LINK.round_trip.as_secs_f64() / LINK.took(59 * MIB / 2).as_secs_f64();
    assert!(share < 0.015, "{share}");
}

#[test]
fn a_failed_chunk_halves_the_next_and_growth_starts_again() {
    let run = upload(80 * MIB, LINK, limits(256 * KIB), |n| {
        if n == 2 { Fault::Reset } else { Fault::None }
    });
    // The broken chunk halves the next; growing starts again from it,
    // measured against the offset query the failure calls for: one whole
    // chunk, and the size jumps back to what the link needs.
    assert_eq!(run.sizes, ["0.25", "29.5", "29.5!", "14.75", "29.5", "6"]);
}

#[test]
fn the_largest_chunk_is_bounded_in_bytes_and_in_time() {
    // A 1 s round trip would grow chunks to hundreds of MiB.
    let far = Link {
        rate: 12_500_000,
        round_trip: Duration::from_secs(1),
    };
    let bounded = AdaptiveLimits {
        start: Some(MIB),
        max_bytes: 4 * MIB,
        ..AdaptiveLimits::default()
    };
    let run = upload(20 * MIB, far, bounded, |_| Fault::None);
    assert_eq!(run.sizes, ["1", "4", "4", "4", "4", "3"]);
    let timed = AdaptiveLimits {
        start: Some(MIB),
        max_interval: Duration::from_secs(1),
        ..AdaptiveLimits::default()
    };
    let run = upload(20 * MIB, far, timed, |_| Fault::None);
    // The first chunk's cycle (2 s for 1 MiB) bounds the next to what
    // 1 s of that rate sends.
    assert!(
        run.sizes
            .iter()
            .all(|s| s.trim_end_matches('!').parse::<f64>().unwrap() <= 2.0),
        "{:?}",
        run.sizes
    );
}

#[test]
fn a_stream_keeps_its_size() {
    // A one-pass source is buffered by its driver a chunk at a time.
    let data = sim::source((3 * MIB) as usize, 4);
    let mut server = Server::new();
    let url = server.open_session(None);
    let mut config = Config::gcs_session(SessionUrl::new(url), None);
    config.chunking = Chunking::Adaptive(limits(256 * KIB));
    config.restartable_source = false;
    let run = sim::drive(
        &mut server,
        config,
        &data,
        |_, _| Fault::None,
        |_| false,
        100,
    );
    let puts = run
        .transcript
        .iter()
        .filter(|l| l.starts_with("PUT bytes ") && !l.starts_with("PUT bytes */"))
        .count();
    assert_eq!(puts, 12, "{:#?}", run.transcript);
}

#[test]
fn progress_checkpoints_wait_for_their_interval() {
    // 1 MiB chunks take 109 ms each over the link: one checkpoint of
    // progress a second instead of one a chunk.
    let every = upload_with(
        20 * MIB,
        LINK,
        Chunking::Fixed(MIB),
        |_| Fault::None,
        |_| {},
    );
    assert_eq!(every.checkpoints.len(), 19, "{:?}", every.checkpoints);
    let coalesced = upload_with(
        20 * MIB,
        LINK,
        Chunking::Fixed(MIB),
        |_| Fault::None,
        |c| c.checkpoint_interval = Duration::from_secs(1),
    );
    let one_pass = upload_with(
        20 * MIB,
        LINK,
        Chunking::Fixed(MIB),
        |_| Fault::None,
        |c| {
            c.checkpoint_interval = Duration::from_secs(1);
            c.restartable_source = false;
        },
    );
    // A source read once lets go of its bytes with each checkpoint.
    assert_eq!(one_pass.checkpoints, every.checkpoints);
    let mib = |n: u64| n * MIB;
    // The first chunk's, then the first a second later (the tenth chunk
    // after it); the upload ends before the next.
    assert_eq!(coalesced.checkpoints, [mib(1), mib(11)]);
    assert_eq!(coalesced.outcome.object.size, 20 * MIB);
}
