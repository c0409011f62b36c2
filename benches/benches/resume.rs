//! What the check of a resumed upload's prefix costs, against what resuming
//! saves: a file upload stopped once the server holds most of it, then
//! resumed with the check (the bytes the checkpoint hashed are read and
//! hashed again before any request) and without it. The check's cost is the
//! time from the start of the resumed run to the first answer, with the check
//! less without it; what resuming saves is the time the stopped run took to
//! send those bytes. Prints both and their ratio (best of N runs).
//!
//! `cargo bench -p resumable-benches --bench resume`
//! (`RESUMABLE_BENCH_RESUME_MIB=4096 RESUMABLE_BENCH_RESUME_AT_MIB=3072
//! RESUMABLE_BENCH_RUNS=3` by default; `RESUMABLE_BENCH_COLD=1` also drops
//! the page cache before each resumed run, which needs root on Linux)

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use resumable_benches::env_u64;
use resumable_blocking::{FileApiTarget, FileCheckpointStore, StopHandle, UploadError, Uploader};
use resumable_core::{Chunking, Event, Secret};
use resumable_emulator::{Emulator, EmulatorHandle, Storage};

const KEY: &str = "bench-key";
const MIB: u64 = 1 << 20;

fn api(emu: &EmulatorHandle) -> FileApiTarget {
    FileApiTarget {
        api_base: emu.base_url().to_owned(),
        organization: "bench".into(),
        api_key: Secret::new(KEY),
        mime_type: Some("application/octet-stream".into()),
        filename: None,
    }
}

/// A file of `size` bytes that no filesystem stores sparsely or compresses.
fn write_file(path: &Path, size: u64) {
    let mut out = BufWriter::with_capacity(
        8 * MIB as usize,
        File::create(path).unwrap_or_else(|e| panic!("{e}")),
    );
    let mut block = vec![0u8; MIB as usize];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..size / MIB {
        for b in block.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        out.write_all(&block).unwrap_or_else(|e| panic!("{e}"));
    }
    out.flush().unwrap_or_else(|e| panic!("{e}"));
}

/// Uploads until the server holds `at` bytes, then stops. Returns how long
/// sending them took.
fn stop_at(emu: &EmulatorHandle, path: &Path, state: &Path, at: u64) -> Duration {
    let stop = Arc::new(Mutex::new(None));
    let stopper = Arc::clone(&stop);
    let mut up = Uploader::new()
        .chunking(Chunking::Fixed(64 * MIB))
        .checkpoint_store(FileCheckpointStore::new(state).unwrap_or_else(|e| panic!("{e}")))
        .on_event(move |event| {
            if let Event::Persisted { offset, .. } = event
                && *offset >= at
                && let Some(handle) = stopper.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
            {
                StopHandle::stop(handle);
            }
        });
    *stop.lock().unwrap_or_else(|e| e.into_inner()) = Some(up.stop_handle());
    let start = Instant::now();
    match up.upload_file(&api(emu), path) {
        Err(UploadError::Interrupted) => start.elapsed(),
        other => panic!("expected a stop, got {other:?}"),
    }
}

/// Resumes, and returns the time until the first answer (the status query's).
fn resume(emu: &EmulatorHandle, path: &Path, state: &Path, verify: bool) -> Duration {
    let first_answer = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&first_answer);
    let start = Instant::now();
    let mut up = Uploader::new()
        .chunking(Chunking::Fixed(64 * MIB))
        .verify_resumed_prefix(verify)
        .checkpoint_store(FileCheckpointStore::new(state).unwrap_or_else(|e| panic!("{e}")))
        .on_event(move |event| {
            // The first answer of this process names its upload id.
            if let Event::UploadId(_) = event {
                seen.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(start.elapsed());
            }
        });
    up.upload_file(&api(emu), path)
        .unwrap_or_else(|e| panic!("resume: {e}"));
    let elapsed = *first_answer.lock().unwrap_or_else(|e| e.into_inner());
    elapsed.unwrap_or_else(|| panic!("no answer seen"))
}

fn drop_page_cache() {
    let dropped = std::process::Command::new("sh")
        .args(["-c", "sync && echo 1 > /proc/sys/vm/drop_caches"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(dropped, "RESUMABLE_BENCH_COLD=1 needs root on Linux");
}

fn seconds(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn main() {
    // `cargo bench` passes `--bench`; a plain `cargo test` of benches must not run this.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let size = env_u64("RESUMABLE_BENCH_RESUME_MIB", 4096) * MIB;
    let at = env_u64("RESUMABLE_BENCH_RESUME_AT_MIB", 3072) * MIB;
    let runs = env_u64("RESUMABLE_BENCH_RUNS", 3).max(1);
    let cold = env_u64("RESUMABLE_BENCH_COLD", 0) == 1;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("resume.bin");
    write_file(&path, size);
    let emu = Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Sink)
        .start_in_background()
        .unwrap_or_else(|e| panic!("{e}"));

    let (mut sent, mut checked, mut unchecked) = (Duration::MAX, Duration::MAX, Duration::MAX);
    for run in 0..runs {
        for verify in [true, false] {
            let state = dir.path().join(format!("state-{run}-{verify}"));
            sent = sent.min(stop_at(&emu, &path, &state, at));
            if cold {
                drop_page_cache();
            }
            let first = resume(&emu, &path, &state, verify);
            if verify {
                checked = checked.min(first);
            } else {
                unchecked = unchecked.min(first);
            }
        }
    }
    let cost = checked.saturating_sub(unchecked);
    let persisted = at / MIB;
    println!(
        "resume of a {} MiB file upload stopped at {persisted} MiB, {} page cache, best of {runs}:",
        size / MIB,
        if cold { "cold" } else { "warm" }
    );
    println!("| run | time |");
    println!("|---|---|");
    println!(
        "| sending the {persisted} MiB (what resuming saves) | {} |",
        seconds(sent)
    );
    println!(
        "| resumed, to the first answer, with the check | {} |",
        seconds(checked)
    );
    println!(
        "| resumed, to the first answer, without it | {} |",
        seconds(unchecked)
    );
    println!(
        "| the check ({} MiB read and hashed) | {} ({:.0} MiB/s) |",
        persisted,
        seconds(cost),
        persisted as f64 / cost.as_secs_f64().max(1e-9)
    );
    println!(
        "ratio check / sending: {:.3}",
        cost.as_secs_f64() / sent.as_secs_f64().max(1e-9)
    );
}
