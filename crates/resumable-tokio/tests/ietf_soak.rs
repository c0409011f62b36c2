//! The IETF draft soak under faults, tokio driver: for each seed, a random
//! fault script in the emulator's draft mode and a random upload, which
//! must end stored byte for byte with no rule of the protocol broken. The
//! whole soak is `resumable_conformance::ietf_soak`; this file only names
//! the driver.
//!
//! `RESUMABLE_IETF_SOAK_SEEDS` sets the number of seeds (default 100),
//! `RESUMABLE_IETF_SOAK_SEED=N` replays one. The counts print at the end of
//! every run: `cargo test -p resumable-tokio --all-features --test ietf_soak`.

use resumable_conformance::drivers::Tokio;

#[test]
fn ietf_uploads_survive_random_fault_scripts() {
    resumable_conformance::ietf_soak::ietf_uploads_survive_random_fault_scripts::<Tokio>();
}
