//! The soak under faults for tus 1.0, shared by both drivers'
//! `tests/tus_soak.rs`: per seed, a random script of faults for the
//! emulator's tus mode and a random upload (size, known length or a
//! stream, with or without the checksum extension), which must end stored
//! byte for byte.
//!
//! Every rule of a script fires at most once and costs the client at most
//! one failed attempt (`expire`: one upload and no attempt), and a script
//! has at most [`MAX_RULES`] rules, fewer than the retry budget's
//! [`retry_policy`] attempts, with at most one `expire`: every upload must
//! succeed. Beyond its bytes, every run checks from the emulator's log that
//! the client broke no rule of the protocol (no refusal but the `410` of an
//! expired upload), that each upload's offset only grew, that every failed
//! request answers an injected fault, and that no more uploads were created
//! (or completed) than the script's `expire` and lost creations explain.
#![allow(unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use resumable_core::{Chunking, Config, TusCreate};
use resumable_emulator::{Emulator, EmulatorHandle, Storage, TusStatus};

use crate::driver::{Call, Driver, Setup, Source};
use crate::soak::{UNIT, on_workers, retry_policy, seeds_from};

/// The most rules a script has: below the retry budget's attempts.
pub const MAX_RULES: usize = 4;
/// Seeds per run unless `RESUMABLE_TUS_SOAK_SEEDS` says otherwise.
pub const DEFAULT_SEEDS: u64 = 100;

/// One seed's upload and script.
#[derive(Debug, Clone)]
pub struct TusCase {
    /// The seed.
    pub seed: u64,
    /// The file's length.
    pub size: u64,
    /// Read once as a stream of unknown length (a deferred length).
    pub stream: bool,
    /// Whether the emulator announces the checksum extension.
    pub checksums: bool,
    /// The fault rules.
    pub rules: Vec<String>,
}

impl TusCase {
    /// The case of `seed`.
    pub fn generate(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x7475_735f_736f_616b);
        let size = match rng.random_range(0..8) {
            0 => rng.random_range(0..3),
            1 => UNIT * rng.random_range(1..5),
            _ => rng.random_range(0..5 * UNIT),
        };
        let stream = rng.random_bool(0.25);
        let checksums = rng.random_bool(0.7);
        let mut rules = Vec::new();
        let mut expired = false;
        for _ in 0..rng.random_range(0..=MAX_RULES) {
            let k = rng.random_range(1..=5);
            let rule = match rng.random_range(0..12) {
                0 => {
                    let status = [408, 429, 500, 502, 503, 504][rng.random_range(0..6)];
                    format!("patch#{k} status={status}")
                }
                1 => format!("patch#{k} reset"),
                2 => format!("patch#{k} reset after={}", rng.random_range(1..UNIT)),
                3 => format!("patch#{k} status=503 after={}", rng.random_range(1..UNIT)),
                4 => format!("patch#{k} drop-response"),
                5 => format!("patch#{k} short={}", rng.random_range(1..UNIT)),
                // Without a checksum the damage would be stored unseen.
                6 if checksums => format!("patch#{k} corrupt"),
                // A stream cannot start over.
                7 if !stream && !expired => {
                    expired = true;
                    format!("patch#{k} expire")
                }
                8 => "head#1 status=503".to_owned(),
                9 => "create#1 status=503".to_owned(),
                10 => "create#1 drop-response".to_owned(),
                _ => "options#1 status=500".to_owned(),
            };
            rules.push(rule);
        }
        Self {
            seed,
            size,
            stream,
            checksums,
            rules,
        }
    }

    /// The file: `size` bytes of a pattern of the seed.
    pub fn data(&self) -> Vec<u8> {
        crate::emulator::data(self.size, self.seed as u32)
    }

    /// The emulator the case runs against.
    pub fn emulator(&self) -> EmulatorHandle {
        let mut builder = Emulator::builder()
            .storage(Storage::Memory)
            .seed(self.seed)
            .faults(self.rules.join("; "));
        if !self.checksums {
            builder = builder.tus_checksum_algorithms(Vec::<String>::new());
        }
        builder.start_in_background().expect("emulator starts")
    }
}

/// The seeds to run: `RESUMABLE_TUS_SOAK_SEED=N` runs seed N alone, else
/// seeds `0..RESUMABLE_TUS_SOAK_SEEDS` (default [`DEFAULT_SEEDS`]).
pub fn seeds() -> Vec<u64> {
    seeds_from(
        "RESUMABLE_TUS_SOAK_SEED",
        "RESUMABLE_TUS_SOAK_SEEDS",
        DEFAULT_SEEDS,
    )
}

/// What one run did, for the counts.
#[derive(Debug, Default, Clone)]
pub struct TusTally {
    /// Requests the emulator saw.
    pub requests: u64,
    /// Faults fired, by the rule's effect (its words after the target).
    pub fired: BTreeMap<String, u64>,
    /// Uploads created.
    pub uploads: u64,
    /// Body bytes received, over the file's size (resent bytes counted again).
    pub bytes_received: u64,
    /// The file's size.
    pub size: u64,
}

/// Uploads the case's file with `D` and checks everything the soak promises.
fn run<D: Driver>(case: &TusCase) -> Result<TusTally, String> {
    let data = case.data();
    let emu = case.emulator();
    let source = if case.stream {
        Source::Stream(data.clone())
    } else {
        Source::Bytes(data.clone())
    };
    let length = (!case.stream).then_some(case.size);
    let mut up = D::build(Setup {
        chunking: Chunking::Fixed(UNIT),
        retry: retry_policy(),
        ..Setup::default()
    });
    let result = up.call(Call::Run {
        config: Config::tus_create(TusCreate::new(emu.tus_endpoint()), length),
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
        .tus_uploads()
        .into_iter()
        .map(|u| Held {
            number: u.number,
            bytes: (u.state == TusStatus::Complete).then(|| emu.tus_upload_bytes(&u.url).unwrap()),
        })
        .collect();
    let checked = Checks {
        lost_creations: vec!["create#1 drop-response"],
        expired_status: 410,
    }
    .check(&log, &held, &data)
    .map_err(explain)?;
    Ok(TusTally {
        requests: log.len() as u64,
        fired: checked,
        uploads: held.len() as u64,
        bytes_received: emu.stats().bytes_received,
        size: case.size,
    })
}

/// One upload resource the emulator holds, as the soak checks it.
#[derive(Debug)]
pub(crate) struct Held {
    /// Its number, in creation order (the request log's `session`).
    pub(crate) number: u64,
    /// Its bytes, once complete.
    pub(crate) bytes: Option<Vec<u8>>,
}

/// What a soak checks of a run that succeeded, the protocol's words aside.
pub(crate) struct Checks {
    /// The rules (or the starts of rules) that make the client create
    /// again: a creation whose answer is lost, or one cut off before the
    /// client could learn its upload.
    pub(crate) lost_creations: Vec<&'static str>,
    /// The status of a request on an expired upload.
    pub(crate) expired_status: u16,
}

impl Checks {
    /// Checks the uploads `held` against the file `data` and the request
    /// `log`: one complete upload of the file (more only for creations
    /// whose answer was lost, each whole), no refusal but the one an
    /// expiry causes, no failure no fault explains, offsets that only
    /// grow, no more uploads than expiry and lost creations explain.
    /// Returns the faults fired, by effect.
    pub(crate) fn check(
        &self,
        log: &[resumable_emulator::RequestRecord],
        held: &[Held],
        data: &[u8],
    ) -> Result<BTreeMap<String, u64>, String> {
        let lost_creations = log
            .iter()
            .filter(|r| {
                r.fault
                    .as_deref()
                    .is_some_and(|f| self.lost_creations.iter().any(|l| f.starts_with(l)))
            })
            .count();
        // A creation whose answer is lost is made again; when it carried the
        // whole file, the upload it made is complete too.
        let complete: Vec<_> = held.iter().filter(|u| u.bytes.is_some()).collect();
        if complete.is_empty() || complete.len() > 1 + lost_creations {
            return Err(format!("{} complete uploads", complete.len()));
        }
        for done in complete {
            if done.bytes.as_deref() != Some(data) {
                return Err(format!("upload {} differs from the file", done.number));
            }
        }
        let mut fired = BTreeMap::new();
        let mut offsets: BTreeMap<u64, u64> = BTreeMap::new();
        let mut expired = false;
        for r in log {
            if let Some(rule) = &r.fault {
                let effect = rule.split_once(' ').map_or(rule.as_str(), |(_, e)| e);
                let effect = effect.split_once('=').map_or(effect, |(w, _)| w);
                *fired.entry(effect.to_owned()).or_insert(0) += 1;
                expired |= effect == "expire";
            }
            let refused = r.outcome == "refused";
            if refused && !(r.status == Some(self.expired_status) && expired) {
                return Err(format!("the client broke a rule: {r:?}"));
            }
            if r.outcome != "ok" && r.fault.is_none() && !refused {
                return Err(format!("a failure no fault explains: {r:?}"));
            }
            if let (Some(n), Some(p)) = (r.session, r.persisted) {
                let last = offsets.entry(n).or_insert(0);
                if p < *last {
                    return Err(format!("upload {n} went back from {last} to {p}"));
                }
                *last = p;
            }
        }
        let allowed = 1 + u64::from(expired) + lost_creations as u64;
        if held.len() as u64 > allowed {
            return Err(format!("{} uploads for {allowed}", held.len()));
        }
        Ok(fired)
    }
}

/// The tus soak: every seed's case uploaded with `D`, several at once,
/// each stored byte for byte with every check passing; prints the counts.
pub fn tus_uploads_survive_random_fault_scripts<D: Driver>() {
    let started = Instant::now();
    let cases: Vec<TusCase> = seeds().into_iter().map(TusCase::generate).collect();
    report(
        &format!("tus soak ({})", D::NAME),
        started,
        &on_workers(&cases, run::<D>),
    );
}

/// Prints the counts of a soak's `runs` under `label`, then fails on the
/// first failed run.
pub(crate) fn report(label: &str, started: Instant, runs: &[Result<TusTally, String>]) {
    let failures: Vec<&String> = runs.iter().filter_map(|r| r.as_ref().err()).collect();
    let tallies: Vec<&TusTally> = runs.iter().filter_map(|r| r.as_ref().ok()).collect();
    let mut fired: BTreeMap<&str, u64> = BTreeMap::new();
    for t in &tallies {
        for (effect, n) in &t.fired {
            *fired.entry(effect).or_insert(0) += n;
        }
    }
    let sum = |f: fn(&TusTally) -> u64| tallies.iter().map(|t| f(t)).sum::<u64>();
    eprintln!(
        "{label}: {} seeds, {} stored whole, {} failed, in {:.1?}; {} requests, {} uploads \
         created, {} body bytes for {} file bytes; faults fired: {fired:?}",
        runs.len(),
        tallies.len(),
        failures.len(),
        started.elapsed(),
        sum(|t| t.requests),
        sum(|t| t.uploads),
        sum(|t| t.bytes_received),
        sum(|t| t.size),
    );
    for failure in &failures {
        eprintln!("  {}", failure.lines().next().unwrap_or_default());
    }
    assert!(failures.is_empty(), "{}", failures[0]);
}
