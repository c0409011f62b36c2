//! The core's cost: one chunk cycle, a whole 1 TiB plan, the header codecs.
//!
//! The chunk cycle runs against the `resumable-sim` server: its answers to
//! one upload are recorded, then replayed to fresh uploads of the same
//! session, so that the timed loop measures the core alone; the same cycle
//! with the sim taking each chunk and answering live is timed beside it.
//!
//! `cargo bench -p resumable-benches --bench core`

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use resumable_benches::sim::{Live, Recording, answer, next_request};
use resumable_benches::{
    CHUNK, CountingAlloc, allocations, final_object, persisted_308, session_config,
};
use resumable_core::codecs::content_range::ContentRange;
use resumable_core::codecs::goog_hash::GoogHash;
use resumable_core::codecs::range::parse_persisted;
use resumable_core::{Action, Body, InteropVersion, Protocol, Upload};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const TIB: u64 = 1 << 40;

/// The chunks of one recorded (or live) upload: the sim keeps them all,
/// 128 MiB.
const CHUNKS: u64 = 16;

/// `iters` chunk cycles replaying `recording`, a fresh upload every
/// [`CHUNKS`] cycles; returns the time spent in the cycles alone and the
/// allocations they made.
fn replayed(recording: &Recording, iters: u64) -> (Duration, u64) {
    let (mut spent, mut allocated, mut left) = (Duration::ZERO, 0, iters);
    while left > 0 {
        let now = Instant::now();
        let (mut up, answers) = recording.replay(now);
        let n = left.min(answers.len() as u64);
        let answers = answers.into_iter().take(n as usize);
        let (start, before) = (Instant::now(), allocations());
        for response in answers {
            let req = next_request(&mut up, now);
            black_box(&req);
            answer(&mut up, &req, response, now);
        }
        spent += start.elapsed();
        allocated += allocations() - before;
        left -= n;
    }
    (spent, allocated)
}

/// `iters` chunk cycles against the sim, a fresh sim and upload every
/// [`CHUNKS`] cycles; returns the time spent in the cycles alone.
fn live(protocol: Protocol, iters: u64) -> Duration {
    let (mut spent, mut left) = (Duration::ZERO, iters);
    while left > 0 {
        let mut live = Live::new(protocol, CHUNKS);
        let n = left.min(CHUNKS);
        let start = Instant::now();
        for _ in 0..n {
            live.cycle();
        }
        spent += start.elapsed();
        left -= n;
    }
    spent
}

fn chunk_cycle(c: &mut Criterion) {
    for (protocol, answered) in [
        (Protocol::Gcs, "308 with Range"),
        (Protocol::Tus, "204 with Upload-Offset"),
        (
            Protocol::Ietf {
                interop: InteropVersion::LATEST,
            },
            "204 with Upload-Offset",
        ),
    ] {
        let recording = Recording::record(protocol, CHUNKS);
        recording.check();
        let name = match protocol {
            Protocol::Ietf { .. } => "ietf".to_owned(),
            _ => format!("{protocol:?}").to_lowercase(),
        };
        c.bench_function(
            &format!("{name} chunk cycle (poll, the sim's {answered} replayed, checkpoint)"),
            |b| b.iter_custom(|iters| replayed(&recording, iters).0),
        );
        c.bench_function(
            &format!(
                "{name} chunk cycle against the sim (poll, the sim keeps the 8 MiB and answers, checkpoint)"
            ),
            |b| b.iter_custom(|iters| live(protocol, iters)),
        );

        // Allocations per cycle, the answers copied outside the count.
        let cycles = 10_000;
        let (_, allocated) = replayed(&recording, cycles);
        let per_cycle = allocated as f64 / cycles as f64;
        println!("{name}: allocations per chunk cycle: {per_cycle:.1}");
    }
}

/// An upload of `total` bytes in 8 MiB chunks, past its first status query,
/// answered by hand: the sim would keep every byte of the plan.
fn started(total: u64) -> (Upload, Instant) {
    let url = "https://storage.example/upload/o?name=x&upload_id=bench";
    let now = Instant::now();
    let mut up = Upload::new(session_config(url, total), now, SystemTime::now())
        .unwrap_or_else(|e| panic!("{e}"));
    let Action::Send(query) = up.poll_action(now) else {
        panic!("expected the status query")
    };
    up.handle_response(query.id, persisted_308(0), now)
        .unwrap_or_else(|e| panic!("{e}"));
    (up, now)
}

fn whole_plan(c: &mut Criterion) {
    let cycles = TIB / CHUNK;
    // The sim keeps every byte it is sent: 1 TiB is answered by hand.
    let mut group = c.benchmark_group("1 TiB in 8 MiB chunks, no data");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(cycles));
    group.bench_function("whole upload through the core", |b| {
        b.iter(|| {
            let (mut up, now) = started(TIB);
            loop {
                match up.poll_action(now) {
                    Action::Send(req) => {
                        let answer = match req.http.body() {
                            Body::Source(r) if r.end == TIB => final_object(TIB),
                            Body::Source(r) => persisted_308(r.end),
                            _ => panic!("unexpected request"),
                        };
                        up.handle_response(req.id, answer, now)
                            .unwrap_or_else(|e| panic!("{e}"));
                    }
                    Action::Checkpoint(_) | Action::Checksum(_) | Action::RemoveCheckpoint => {}
                    Action::Done(outcome) => break black_box(outcome),
                    other => panic!("unexpected {other:?}"),
                }
                while let Some(e) = up.poll_event() {
                    black_box(e);
                }
            }
        })
    });
    group.finish();
}

fn codecs(c: &mut Criterion) {
    let range = http::HeaderValue::from_static("bytes=0-1099511627775");
    c.bench_function("Range parse", |b| {
        b.iter(|| parse_persisted(black_box(Some(&range))))
    });
    let cr = ContentRange::Bytes {
        start: 8 << 20,
        end: 16 << 20,
        total: Some(TIB),
    };
    c.bench_function("Content-Range build", |b| {
        b.iter(|| black_box(cr).to_header_value())
    });
    let text = cr.to_header_value();
    c.bench_function("Content-Range parse", |b| {
        b.iter(|| ContentRange::parse(black_box(text.as_bytes())))
    });
    let hash = http::HeaderValue::from_static("crc32c=n03x6A==,md5=Ojk9c3dhfxgoKVVHYwFbHQ==");
    c.bench_function("X-Goog-Hash parse", |b| {
        b.iter(|| GoogHash::parse([black_box(&hash)]))
    });
}

criterion_group!(benches, chunk_cycle, whole_plan, codecs);
criterion_main!(benches);
