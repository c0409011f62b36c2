//! The core's cost: one chunk cycle, a whole 1 TiB plan, the header codecs.
//!
//! `cargo bench -p resumable-benches --bench core`

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use resumable_benches::{CountingAlloc, allocations, final_object, persisted_308};
use resumable_core::codecs::content_range::ContentRange;
use resumable_core::codecs::goog_hash::GoogHash;
use resumable_core::codecs::range::parse_persisted;
use resumable_core::{Action, Body, Chunking, Config, SessionUrl, Upload};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const TIB: u64 = 1 << 40;
const CHUNK: u64 = 8 << 20;

/// An upload of `total` bytes in 8 MiB chunks, past its first status query.
fn started(total: u64) -> (Upload, Instant) {
    let url = SessionUrl::new("https://storage.example/upload/o?name=x&upload_id=bench");
    let mut config = Config::gcs_session(url, Some(total));
    config.chunking = Chunking::Fixed(CHUNK);
    config.require_crc32c = false;
    config.checksum_ahead_limit = 0;
    let now = Instant::now();
    let mut up = Upload::new(config, now, SystemTime::now()).unwrap_or_else(|e| panic!("{e}"));
    let Action::Send(query) = up.poll_action(now) else {
        panic!("expected the status query")
    };
    up.handle_response(query.id, persisted_308(0), now)
        .unwrap_or_else(|e| panic!("{e}"));
    (up, now)
}

/// One cycle: poll to the next chunk, answer it with a 308 naming its end.
/// The bench sends no data, so the core's requests to hash the bytes it
/// never saw are polled and ignored, as is the checkpoint.
fn cycle(up: &mut Upload, now: Instant, answer: http::Response<bytes::Bytes>) {
    let req = loop {
        match up.poll_action(now) {
            Action::Send(req) => break req,
            Action::Failed(e) => panic!("{e}"),
            other => {
                let _ = black_box(other);
            }
        }
    };
    black_box(&req);
    up.handle_response(req.id, answer, now)
        .unwrap_or_else(|e| panic!("{e}"));
    while let Some(e) = up.poll_event() {
        black_box(e);
    }
}

/// A total no run of the cycle bench reaches.
const ENDLESS: u64 = 1 << 62;

fn chunk_cycle(c: &mut Criterion) {
    let (mut up, now) = started(ENDLESS);
    let mut end = 0;
    c.bench_function("chunk cycle (poll, 308 with Range, checkpoint)", |b| {
        b.iter_batched(
            || {
                end += CHUNK;
                persisted_308(end)
            },
            |answer| cycle(&mut up, now, answer),
            BatchSize::SmallInput,
        )
    });

    // Allocations per cycle, the answer built outside the count.
    let (mut up, now) = started(ENDLESS);
    let cycles = 10_000;
    let answers: Vec<_> = (1..=cycles).map(|i| persisted_308(i * CHUNK)).collect();
    let before = allocations();
    for answer in answers {
        cycle(&mut up, now, answer);
    }
    let per_cycle = (allocations() - before) as f64 / cycles as f64;
    println!("allocations per chunk cycle: {per_cycle:.1}");
}

fn whole_plan(c: &mut Criterion) {
    let cycles = TIB / CHUNK;
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
