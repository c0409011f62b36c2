//! The soak under faults, async driver: for each seed, a random fault script
//! in the emulator and a random-size file uploaded through the whole
//! file-API flow (upload-url, chunks, register) with `upload_file` over the
//! default hyper transport, several uploads at once on one runtime. Each run
//! must end as its script dictates (see `resumable_conformance::soak`): stored byte-identical and registered exactly
//! once, or, only where the script exceeds the retry budget, a typed error
//! with nothing registered.
//!
//! `RESUMABLE_SOAK_SEEDS` sets the number of seeds (default 200, as CI
//! needs; run `RESUMABLE_SOAK_SEEDS=1000` locally), `RESUMABLE_SOAK_SEED=N`
//! replays one. The counts print at the end of every run:
//! `cargo test -p resumable-tokio --all-features --test soak`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "hyper")]

use resumable_conformance::soak;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use resumable_core::Event;
use resumable_tokio::{UploadError, Uploader};
use soak::{Case, Tally, WORKERS, cases, report, retry_policy, target};

/// Uploads the case's file against its emulator and checks the result.
async fn run(case: &Case, dir: &Path) -> Result<Tally, String> {
    let started = Instant::now();
    let data = case.data();
    let path = dir.join(format!("soak-{}.bin", case.seed));
    tokio::fs::write(&path, &data).await.unwrap();
    let emu = case.emulator().start().await.unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let mut uploader = Uploader::new()
        .chunking(case.chunking)
        .retry(retry_policy())
        .on_event(move |e: &Event| sink.lock().unwrap().push(e.clone()));
    let result = uploader.upload_file(&target(&emu), &path).await;
    tokio::fs::remove_file(&path).await.unwrap();
    let checked = {
        let result = match &result {
            Ok(outcome) => Ok(outcome),
            Err(UploadError::Upload(e)) => Err((Some(e), e.to_string())),
            Err(e) => Err((None, e.to_string())),
        };
        let events = events.lock().unwrap().clone();
        case.check(result, &events, &emu, &data, started)
    };
    emu.shutdown().await;
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_survive_random_fault_scripts_or_fail_typed_past_the_budget() {
    let started = Instant::now();
    let cases = Arc::new(cases());
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..WORKERS {
        let (cases, dir, next) = (Arc::clone(&cases), Arc::clone(&dir), Arc::clone(&next));
        workers.spawn(async move {
            let mut runs = Vec::new();
            while let Some(case) = cases.get(next.fetch_add(1, Ordering::Relaxed)) {
                runs.push(run(case, dir.path()).await);
            }
            runs
        });
    }
    let runs = workers.join_all().await.into_iter().flatten().collect();
    report("tokio", started, runs);
}
