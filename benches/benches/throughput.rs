//! Loopback throughput of the drivers against a baseline measured in the same
//! run: the emulator keeps only sizes and checksums (sink storage); the
//! baseline is one plain streamed HTTP PUT of the whole file to a fresh
//! session; then each driver uploads the same file in one request and in
//! 8 MiB chunks. The same for the emulator's tus mode: the baseline one plain
//! `PATCH` of the whole file to a fresh upload, each driver in one request and
//! in 8 MiB `PATCH`es (each with the `Upload-Checksum` the driver agrees on
//! with the emulator: SHA-1), and in 8 MiB `PATCH`es to an emulator without
//! the checksum extension. The same for the IETF draft: the baseline one plain
//! `POST` that creates and completes the upload with the whole file; each
//! driver by an optimistic creation carrying the whole file, and by a
//! careful creation and 8 MiB appends (both with the `Repr-Digest` the
//! engine computes, SHA-256 of the whole). Prints MiB/s and the ratio to
//! the baseline of its protocol (best of N runs).
//!
//! `cargo bench -p resumable-benches --bench throughput`
//! (`RESUMABLE_BENCH_MIB=1024 RESUMABLE_BENCH_RUNS=3` by default)

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use resumable_benches::{env_u64, session_url};
use resumable_blocking::{FileApiTarget, Uploader};
use resumable_core::{
    Chunking, Config, IetfCreate, IetfStrategy, InteropVersion, Secret, TusCreate,
};
use resumable_emulator::{Emulator, EmulatorHandle, Storage};

const KEY: &str = "bench-key";

fn api(emu: &EmulatorHandle) -> FileApiTarget {
    FileApiTarget {
        api_base: emu.base_url().to_owned(),
        organization: "bench".into(),
        api_key: Secret::new(KEY),
        mime_type: Some("application/octet-stream".into()),
        filename: None,
    }
}

/// One PUT of the whole file to a fresh session, with ureq, no engine.
fn baseline(emu: &EmulatorHandle, path: &Path, size: u64) -> Duration {
    let upload_url = session_url(emu.base_url(), KEY, "bench", "base.bin", size);
    let file = File::open(path).unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    let response = ureq::put(&upload_url)
        .header("content-length", size.to_string())
        .header("content-range", format!("bytes 0-{}/{size}", size - 1))
        .send(ureq::SendBody::from_owned_reader(file))
        .unwrap_or_else(|e| panic!("baseline put: {e}"));
    assert_eq!(response.status(), 200);
    start.elapsed()
}

/// One `PATCH` of the whole file to a fresh tus upload, with ureq, no engine.
fn tus_baseline(emu: &EmulatorHandle, path: &Path, size: u64) -> Duration {
    let response = ureq::post(&emu.tus_endpoint())
        .header("tus-resumable", "1.0.0")
        .header("upload-length", size.to_string())
        .send_empty()
        .unwrap_or_else(|e| panic!("tus creation: {e}"));
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Location"))
        .to_owned();
    let file = File::open(path).unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    let response = ureq::patch(&location)
        .header("tus-resumable", "1.0.0")
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", "0")
        .header("content-length", size.to_string())
        .send(ureq::SendBody::from_owned_reader(file))
        .unwrap_or_else(|e| panic!("baseline patch: {e}"));
    assert_eq!(response.status(), 204);
    start.elapsed()
}

/// One creation of the IETF draft carrying the whole file and completing
/// it (`Upload-Complete: ?1`), with ureq, no engine: an ordinary upload
/// the server could have made resumable (its `104` is read past).
fn ietf_baseline(emu: &EmulatorHandle, path: &Path, size: u64) -> Duration {
    let file = File::open(path).unwrap_or_else(|e| panic!("{e}"));
    let interop = InteropVersion::LATEST.number().to_string();
    let start = Instant::now();
    let response = ureq::post(&emu.ietf_endpoint())
        .header("upload-draft-interop-version", &interop)
        .header("upload-complete", "?1")
        .header("content-length", size.to_string())
        .send(ureq::SendBody::from_owned_reader(file))
        .unwrap_or_else(|e| panic!("baseline creation: {e}"));
    assert_eq!(response.status(), 200);
    start.elapsed()
}

/// A tus upload of `size` bytes at the emulator's endpoint.
fn tus_config(emu: &EmulatorHandle, size: u64) -> Config {
    Config::tus_create(TusCreate::new(emu.tus_endpoint()), Some(size))
}

/// An upload of the IETF draft of `size` bytes at the emulator's endpoint,
/// created by `strategy`.
fn ietf_config(emu: &EmulatorHandle, size: u64, strategy: IetfStrategy) -> Config {
    let mut create = IetfCreate::new(emu.ietf_endpoint());
    create.strategy = strategy;
    Config::ietf_create(create, Some(size))
}

/// The blocking driver's upload of the file at `path` with `config`.
fn blocking_run(config: Config, path: &Path, chunking: Chunking) -> Duration {
    let mut source = resumable_blocking::FileSource::open(path).unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    Uploader::new()
        .chunking(chunking)
        .run(config, &mut source, None)
        .unwrap_or_else(|e| panic!("{e}"));
    start.elapsed()
}

/// The tokio driver's upload of the file at `path` with `config`.
fn tokio_run(
    rt: &tokio::runtime::Runtime,
    config: Config,
    path: &Path,
    chunking: Chunking,
) -> Duration {
    rt.block_on(async {
        let mut source = resumable_tokio::FileSource::open(path)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let start = Instant::now();
        resumable_tokio::Uploader::new()
            .chunking(chunking)
            .run(config, &mut source, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        start.elapsed()
    })
}

fn blocking(emu: &EmulatorHandle, path: &Path, chunking: Chunking) -> Duration {
    let start = Instant::now();
    Uploader::new()
        .chunking(chunking)
        .upload_file(&api(emu), path)
        .unwrap_or_else(|e| panic!("{e}"));
    start.elapsed()
}

fn tokio(
    rt: &tokio::runtime::Runtime,
    emu: &EmulatorHandle,
    path: &Path,
    chunking: Chunking,
) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        resumable_tokio::Uploader::new()
            .chunking(chunking)
            .upload_file(&api(emu), path)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        start.elapsed()
    })
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mib = env_u64("RESUMABLE_BENCH_MIB", 1024);
    let runs = env_u64("RESUMABLE_BENCH_RUNS", 3).max(1);
    let size = mib << 20;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("bench.bin");
    {
        let mut f = BufWriter::new(File::create(&path).unwrap_or_else(|e| panic!("{e}")));
        let block: Vec<u8> = (0..1u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
            .collect();
        for _ in 0..mib {
            f.write_all(&block).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let emu = Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Sink)
        .start_in_background()
        .unwrap_or_else(|e| panic!("{e}"));
    let unchecked = Emulator::builder()
        .storage(Storage::Sink)
        .tus_checksum_algorithms(Vec::<String>::new())
        .start_in_background()
        .unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let eight = Chunking::Fixed(8 << 20);
    // A case that starts a protocol's group is its baseline.
    type Case<'a> = (&'a str, Box<dyn Fn() -> Duration + 'a>);
    let cases: Vec<Case> = vec![
        (
            "baseline: one plain PUT (ureq)",
            Box::new(|| baseline(&emu, &path, size)),
        ),
        (
            "blocking, single request",
            Box::new(|| blocking(&emu, &path, Chunking::SingleRequest)),
        ),
        (
            "blocking, 8 MiB chunks",
            Box::new(|| blocking(&emu, &path, eight)),
        ),
        (
            "tokio, single request",
            Box::new(|| tokio(&rt, &emu, &path, Chunking::SingleRequest)),
        ),
        (
            "tokio, 8 MiB chunks",
            Box::new(|| tokio(&rt, &emu, &path, eight)),
        ),
        (
            "tus baseline: one plain PATCH (ureq)",
            Box::new(|| tus_baseline(&emu, &path, size)),
        ),
        (
            "blocking, tus single request",
            Box::new(|| blocking_run(tus_config(&emu, size), &path, Chunking::SingleRequest)),
        ),
        (
            "blocking, tus 8 MiB PATCHes",
            Box::new(|| blocking_run(tus_config(&emu, size), &path, eight)),
        ),
        (
            "tokio, tus single request",
            Box::new(|| tokio_run(&rt, tus_config(&emu, size), &path, Chunking::SingleRequest)),
        ),
        (
            "tokio, tus 8 MiB PATCHes",
            Box::new(|| tokio_run(&rt, tus_config(&emu, size), &path, eight)),
        ),
        (
            "blocking, tus 8 MiB, no checksum",
            Box::new(|| blocking_run(tus_config(&unchecked, size), &path, eight)),
        ),
        (
            "tokio, tus 8 MiB, no checksum",
            Box::new(|| tokio_run(&rt, tus_config(&unchecked, size), &path, eight)),
        ),
        (
            "ietf baseline: one plain completing POST (ureq)",
            Box::new(|| ietf_baseline(&emu, &path, size)),
        ),
        (
            "blocking, ietf optimistic, one request",
            Box::new(|| {
                let config = ietf_config(&emu, size, IetfStrategy::Optimistic);
                blocking_run(config, &path, Chunking::SingleRequest)
            }),
        ),
        (
            "blocking, ietf careful, 8 MiB appends",
            Box::new(|| blocking_run(ietf_config(&emu, size, IetfStrategy::Careful), &path, eight)),
        ),
        (
            "tokio, ietf optimistic, one request",
            Box::new(|| {
                let config = ietf_config(&emu, size, IetfStrategy::Optimistic);
                tokio_run(&rt, config, &path, Chunking::SingleRequest)
            }),
        ),
        (
            "tokio, ietf careful, 8 MiB appends",
            Box::new(|| {
                tokio_run(
                    &rt,
                    ietf_config(&emu, size, IetfStrategy::Careful),
                    &path,
                    eight,
                )
            }),
        ),
    ];
    println!("loopback throughput, {mib} MiB, best of {runs} runs (emulator: sink storage)");
    let mut base = None;
    for (name, case) in &cases {
        let best = (0..runs).map(|_| case()).min().unwrap_or_default();
        let rate = mib as f64 / best.as_secs_f64();
        if name.contains("baseline") {
            base = None;
        }
        let ratio = rate / *base.get_or_insert(rate);
        println!("{name:<48} {rate:>8.1} MiB/s  {ratio:>5.2}x baseline");
    }
}
