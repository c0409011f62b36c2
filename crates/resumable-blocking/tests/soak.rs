//! The soak under faults, blocking driver: for each seed, a random fault
//! script in the emulator and a random-size file uploaded through the whole
//! file-API flow (upload-url, chunks, register) with `upload_file`. Each run
//! must end as its script dictates (see `resumable_conformance::soak`): stored
//! byte-identical and registered exactly once, or, only where the script
//! exceeds the retry budget, a typed error with nothing registered.
//!
//! `RESUMABLE_SOAK_SEEDS` sets the number of seeds (default 200, as CI
//! needs; run `RESUMABLE_SOAK_SEEDS=1000` locally), `RESUMABLE_SOAK_SEED=N`
//! replays one. The counts print at the end of every run:
//! `cargo test -p resumable-blocking --all-features --test soak`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use resumable_conformance::soak;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use resumable_blocking::{UploadError, Uploader};
use resumable_core::Event;
use soak::{Case, Tally, WORKERS, cases, report, retry_policy, target};

/// Uploads the case's file against its emulator and checks the result.
fn run(case: &Case, dir: &Path) -> Result<Tally, String> {
    let started = Instant::now();
    let data = case.data();
    let path = dir.join(format!("soak-{}.bin", case.seed));
    std::fs::write(&path, &data).unwrap();
    let emu = case.emulator().start_in_background().unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let result = Uploader::new()
        .chunking(case.chunking)
        .retry(retry_policy())
        .on_event(move |e: &Event| sink.lock().unwrap().push(e.clone()))
        .upload_file(&target(&emu), &path);
    std::fs::remove_file(&path).unwrap();
    let result = match &result {
        Ok(outcome) => Ok(outcome),
        Err(UploadError::Upload(e)) => Err((Some(e), e.to_string())),
        Err(e) => Err((None, e.to_string())),
    };
    let events = events.lock().unwrap();
    case.check(result, &events, &emu, &data, started)
}

#[test]
fn uploads_survive_random_fault_scripts_or_fail_typed_past_the_budget() {
    let started = Instant::now();
    let cases = cases();
    let dir = tempfile::tempdir().unwrap();
    let next = AtomicUsize::new(0);
    let runs = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                scope.spawn(|| {
                    let mut runs = Vec::new();
                    while let Some(case) = cases.get(next.fetch_add(1, Ordering::Relaxed)) {
                        runs.push(run(case, dir.path()));
                    }
                    runs
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    report("blocking", started, runs);
}
