//! The soak under faults, blocking driver: for each seed, a random fault
//! script in the emulator and a random-size file uploaded through the whole
//! file-API flow (upload-url, chunks, register) with `upload_file`. Each run
//! must end as its script dictates: stored byte-identical and registered
//! exactly once, or, only where the script exceeds the retry budget, a typed
//! error with nothing registered. The whole soak is
//! `resumable_conformance::soak`; this file only names the driver.
//! `adaptive_soak` runs the same scripts with adaptive chunks, which grow
//! from the wall-clock times of each chunk: its outcomes are bounded, not
//! pinned (`resumable_conformance::soak` says why).
//!
//! `RESUMABLE_SOAK_SEEDS` sets the number of seeds (default 200, as CI
//! needs, and 100 for `adaptive_soak`; run `RESUMABLE_SOAK_SEEDS=1000`
//! locally), `RESUMABLE_SOAK_SEED=N` replays one. The counts print at the
//! end of every run:
//! `cargo test -p resumable-blocking --all-features --test soak`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use resumable_conformance::drivers::Blocking;
use resumable_conformance::soak;

#[test]
fn uploads_survive_random_fault_scripts_or_fail_typed_past_the_budget() {
    soak::uploads_survive_random_fault_scripts_or_fail_typed_past_the_budget::<Blocking>();
}

#[test]
fn adaptive_soak() {
    soak::adaptive_chunks_survive_the_same_fault_scripts::<Blocking>();
}
