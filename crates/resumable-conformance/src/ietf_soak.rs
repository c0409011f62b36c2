//! The soak under faults for Resumable Uploads for HTTP (the IETF draft),
//! shared by both drivers' `tests/ietf_soak.rs`: per seed, a random script
//! of faults for the emulator's draft mode and a random upload (size, known
//! length or a stream, interop version 8 or 6, careful or optimistic
//! creation, with or without the server asking for `Content-Digest`), which
//! must end stored byte for byte.
//!
//! The scripts keep the tus soak's promise ([`crate::tus_soak`]): every
//! rule fires at most once and costs at most one failed attempt, at most
//! [`MAX_RULES`] rules and one `expire`, so every upload must succeed; and
//! the same checks hold of the emulator's log (no refusal but an expired
//! upload's, offsets that only grow, every failure a fault's, no more
//! uploads than expiry and lost creations explain; for a driver that cannot
//! read `104`s, an optimistic creation cut off is a lost one).
//!
//! No `corrupt` rule: the emulator refuses an append whose
//! `Content-Digest` does not match with a `400` the engine cannot tell
//! from any other refusal, so the upload ends (nothing wrong stored)
//! rather than sending the append again.
#![allow(unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use resumable_core::{Chunking, Config, IetfCreate, IetfStrategy, InteropVersion};
use resumable_emulator::{Emulator, EmulatorHandle, IetfStatus, Storage};

use crate::driver::{Call, Driver, Setup, Source};
use crate::soak::{UNIT, on_workers, retry_policy, seeds_from};
use crate::tus_soak::{Checks, Held, TusTally, report};

/// The most rules a script has: below the retry budget's attempts.
pub const MAX_RULES: usize = 4;
/// Seeds per run unless `RESUMABLE_IETF_SOAK_SEEDS` says otherwise.
pub const DEFAULT_SEEDS: u64 = 100;

/// One seed's upload and script.
#[derive(Debug, Clone)]
pub struct IetfCase {
    /// The seed.
    pub seed: u64,
    /// The file's length.
    pub size: u64,
    /// Read once as a stream of unknown length.
    pub stream: bool,
    /// The interop version spoken.
    pub interop: InteropVersion,
    /// How the upload is created.
    pub strategy: IetfStrategy,
    /// Whether the emulator asks for `Content-Digest` on every append.
    pub digests: bool,
    /// The fault rules.
    pub rules: Vec<String>,
}

impl IetfCase {
    /// The case of `seed`.
    pub fn generate(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x6965_7466_736f_616b);
        let size = match rng.random_range(0..8) {
            0 => rng.random_range(0..3),
            1 => UNIT * rng.random_range(1..5),
            _ => rng.random_range(0..5 * UNIT),
        };
        let stream = rng.random_bool(0.25);
        let interop = if rng.random_bool(0.5) {
            InteropVersion::V8
        } else {
            InteropVersion::V6
        };
        let strategy = if rng.random_bool(0.5) {
            IetfStrategy::Optimistic
        } else {
            IetfStrategy::Careful
        };
        let digests = rng.random_bool(0.5);
        let mut rules = Vec::new();
        let mut expired = false;
        for _ in 0..rng.random_range(0..=MAX_RULES) {
            let k = rng.random_range(1..=5);
            let rule = match rng.random_range(0..12) {
                0 => {
                    let status = [408, 429, 500, 502, 503, 504][rng.random_range(0..6)];
                    format!("ietf-patch#{k} status={status}")
                }
                1 => format!("ietf-patch#{k} reset"),
                2 => format!("ietf-patch#{k} reset after={}", rng.random_range(1..UNIT)),
                3 => format!(
                    "ietf-patch#{k} status=503 after={}",
                    rng.random_range(1..UNIT)
                ),
                4 => format!("ietf-patch#{k} drop-response"),
                5 => format!("ietf-patch#{k} short={}", rng.random_range(1..UNIT)),
                // A stream cannot start over.
                7 if !stream && !expired => {
                    expired = true;
                    format!("ietf-patch#{k} expire")
                }
                8 => "ietf-head#1 status=503".to_owned(),
                9 => "ietf-create#1 status=503".to_owned(),
                10 => "ietf-create#1 drop-response".to_owned(),
                _ => format!("ietf-create#1 reset after={}", rng.random_range(1..UNIT)),
            };
            rules.push(rule);
        }
        Self {
            seed,
            size,
            stream,
            interop,
            strategy,
            digests,
            rules,
        }
    }

    /// The file: `size` bytes of a pattern of the seed.
    pub fn data(&self) -> Vec<u8> {
        crate::emulator::data(self.size, self.seed as u32)
    }

    /// The emulator the case runs against.
    pub fn emulator(&self) -> EmulatorHandle {
        Emulator::builder()
            .storage(Storage::Memory)
            .seed(self.seed)
            .ietf_want_content_digest(self.digests)
            .faults(self.rules.join("; "))
            .start_in_background()
            .expect("emulator starts")
    }
}

/// The seeds to run: `RESUMABLE_IETF_SOAK_SEED=N` runs seed N alone, else
/// seeds `0..RESUMABLE_IETF_SOAK_SEEDS` (default [`DEFAULT_SEEDS`]).
pub fn seeds() -> Vec<u64> {
    seeds_from(
        "RESUMABLE_IETF_SOAK_SEED",
        "RESUMABLE_IETF_SOAK_SEEDS",
        DEFAULT_SEEDS,
    )
}

/// Uploads the case's file with `D` and checks everything the soak promises.
fn run<D: Driver>(case: &IetfCase) -> Result<TusTally, String> {
    let data = case.data();
    let emu = case.emulator();
    let source = if case.stream {
        Source::Stream(data.clone())
    } else {
        Source::Bytes(data.clone())
    };
    let length = (!case.stream).then_some(case.size);
    let mut create = IetfCreate::new(emu.ietf_endpoint());
    create.interop = case.interop;
    create.strategy = case.strategy;
    let mut up = D::build(Setup {
        chunking: Chunking::Fixed(UNIT),
        retry: retry_policy(),
        ..Setup::default()
    });
    let result = up.call(Call::Run {
        config: Config::ietf_create(create, length),
        source,
        key: None,
    });
    let log = emu.request_log();
    let explain = |why: String| format!("seed {}: {why}\n{case:?}\n{log:#?}", case.seed);
    match result {
        Ok(outcome) if outcome.object.size == case.size => {}
        Ok(outcome) => return Err(explain(format!("done at {} bytes", outcome.object.size))),
        Err(e) => return Err(explain(format!("failed: {e}"))),
    }
    let held: Vec<Held> = emu
        .ietf_uploads()
        .into_iter()
        .map(|u| Held {
            number: u.number,
            bytes: (u.state == IetfStatus::Complete)
                .then(|| emu.ietf_upload_bytes(&u.url).unwrap()),
        })
        .collect();
    let mut lost_creations = vec!["ietf-create#1 drop-response"];
    // A driver that cannot read the creation's `104` does not know the
    // upload an optimistic creation cut off made.
    if case.strategy == IetfStrategy::Optimistic && !D::INTERIMS {
        lost_creations.push("ietf-create#1 reset after");
    }
    let fired = Checks {
        lost_creations,
        expired_status: match case.interop {
            InteropVersion::V6 => 404,
            _ => 410,
        },
    }
    .check(&log, &held, &data)
    .map_err(explain)?;
    Ok(TusTally {
        requests: log.len() as u64,
        fired,
        uploads: held.len() as u64,
        bytes_received: emu.stats().bytes_received,
        size: case.size,
    })
}

/// The draft's soak: every seed's case uploaded with `D`, several at once,
/// each stored byte for byte with every check passing; prints the counts.
pub fn ietf_uploads_survive_random_fault_scripts<D: Driver>() {
    let started = Instant::now();
    let cases: Vec<IetfCase> = seeds().into_iter().map(IetfCase::generate).collect();
    report(
        &format!("IETF draft soak ({})", D::NAME),
        started,
        &on_workers(&cases, run::<D>),
    );
}
