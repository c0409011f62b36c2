//! The soak under faults, shared by both drivers' `tests/soak.rs`: a seeded
//! generator of emulator fault scripts, each with the outcome the retry
//! budget dictates, and the checks and counts of one run.
//!
//! # How the expectation is computed
//!
//! A script is built from rules whose worst case is known: each rule fires a
//! bounded number of times (a count `N` or `N-M`, `p=` only on a bounded
//! count), and each firing costs the client at most one failed attempt (one
//! `Retrying`), or, for `kill`/`expire`, one session and no attempt.
//!
//! The engine's budget is `RetryPolicy::max_attempts` failures in one streak
//! and `Config::max_session_restarts` sessions replaced. A streak starts
//! afresh when a session is created and when the object is final, so the
//! flow has streaks that never share a failure:
//!
//! - the first `upload-url` calls (the only ones `upload-url` rules hit);
//! - the transfer, over every session and the `upload-url` calls that replace
//!   a gone one (counted as one streak, which over-counts, never under);
//! - register.
//!
//! A script whose worst case in every streak stays below `max_attempts`, with
//! at most `max_session_restarts` kills, must succeed. A failing script has one
//! extra rule, first in the spec so no other rule shadows it, that certainly
//! exceeds the budget: every `upload-url`, register or `PUT` (or the first
//! `max_attempts` of them) fails; every final `PUT` fails; every `PUT` from
//! one no later than the last data request fails before a whole 256 KiB unit
//! is read; the first of them asks, with `Retry-After`, for a wait past the
//! time budget (given up at once); or every session dies on its first `PUT`.
//!
//! Beyond the outcome, every run checks that each data request starts at its
//! session's persisted offset, that the persisted offset only grows within a
//! session, that each retry and restart answers an injected fault, and that
//! the API key never reaches the upload host.
//!
//! # The adaptive variant
//!
//! [`adaptive_chunks_survive_the_same_fault_scripts`] runs the same cases,
//! every draw and so every fault script the same ([`Variant::Adaptive`]),
//! but each file goes up with [`Chunking::Adaptive`] starting at the case's
//! chunk size: chunks that grow with the link, the default for files.
//!
//! Its counts are not pinned, and its outcomes are only bounded: the sizes
//! grow from the times the engine measures on the wall clock, so which
//! request a counted rule (`chunk#3`, `put#2-`) hits, and how many requests
//! there are, differs from run to run. The expectation never counted which
//! requests a rule hits, only how often it can fire, so a script that must
//! succeed must still succeed. A failing script must still fail as
//! predicted, except that its extra rule may never fire when it counts
//! `PUT`s that the bigger chunks never make (chunks never shrink below the
//! start, so there are at most as many as the fixed chunks need); then, and
//! only then, the upload must succeed, and is counted as `succeeded (…
//! unreached)`. Every other check of a run holds as in the soak, and the
//! variant adds its own: the emulator refuses no request as breaking the
//! protocol, every chunk but the last is a whole number of 256 KiB units no
//! smaller than the start, and over a run of many seeds some chunks grow.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::ops::Range;
use std::time::{Duration, Instant};

use rand::rngs::{SmallRng, StdRng};
use rand::seq::IndexedRandom as _;
use rand::{Rng as _, RngCore as _, SeedableRng as _};
use resumable_core::{
    AdaptiveLimits, Chunking, Config, DEFAULT_CHUNK_SIZE, Error, Event, FileApi, Outcome,
    RetryPolicy, Secret, round_chunk_size,
};
use resumable_emulator::{Emulator, EmulatorBuilder, EmulatorHandle, RequestRecord, Storage};
use resumable_local::FileApiTarget;
use resumable_sim::wire::{PutRange, put_range};

/// Cloud Storage's chunk granularity.
pub const UNIT: u64 = 256 * 1024;
/// The key the soak's emulators accept.
pub const API_KEY: &str = "soak-key";
/// The organization uploads go to.
pub const ORG: &str = "org_soak";
/// Seeds per run unless `RESUMABLE_SOAK_SEEDS` says otherwise (CI needs 200).
pub const DEFAULT_SEEDS: u64 = 200;
/// Seeds of the adaptive soak unless `RESUMABLE_SOAK_SEEDS` says otherwise:
/// fewer than the soak's, so that the two together stay quick.
pub const DEFAULT_ADAPTIVE_SEEDS: u64 = 100;
/// Uploads running at once.
pub const WORKERS: usize = 4;

/// The retry policy of every soak upload: the budget the expectations use.
/// Delays are milliseconds; the time budget is far beyond any script's.
pub fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        max_elapsed: Duration::from_secs(120),
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(8),
    }
}

/// The seeds to run: `RESUMABLE_SOAK_SEED=N` runs seed N alone (to replay a
/// failure), else seeds `0..RESUMABLE_SOAK_SEEDS` (default [`DEFAULT_SEEDS`]).
pub fn seeds() -> Vec<u64> {
    Variant::Drawn.seeds()
}

/// The seeds a soak runs: the one the variable `one` names (to replay a
/// failure), else `0..` the count `many` names, or `default`.
///
/// # Panics
/// When a variable is set to something other than a number.
pub fn seeds_from(one: &str, many: &str, default: u64) -> Vec<u64> {
    let var = |name: &str| {
        std::env::var(name).ok().map(|v| {
            v.trim()
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
        })
    };
    match var(one) {
        Some(seed) => vec![seed],
        None => (0..var(many).unwrap_or(default)).collect(),
    }
}

/// `run` of every case, [`WORKERS`] at once, the results in no set order.
pub fn on_workers<C: Sync, T: Send>(cases: &[C], run: impl Fn(&C) -> T + Sync) -> Vec<T> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                scope.spawn(|| {
                    let mut runs = Vec::new();
                    while let Some(case) =
                        cases.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                    {
                        runs.push(run(case));
                    }
                    runs
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    })
}

/// The engine's default restart budget, which the drivers' `upload_file` uses.
pub fn max_session_restarts() -> u32 {
    let api = FileApi {
        api_base: "http://127.0.0.1".into(),
        organization: ORG.into(),
        api_key: Secret::new(API_KEY),
        filename: "f".into(),
        mime_type: "application/octet-stream".into(),
    };
    Config::file_api(api, 1).max_session_restarts
}

/// The cases of [`seeds`], under [`retry_policy`] and [`max_session_restarts`];
/// a replayed one is described.
pub fn cases() -> Vec<Case> {
    cases_of(Variant::Drawn)
}

/// The `variant`'s cases, as [`cases`] but made the `variant`'s, of its
/// seeds ([`Variant::seeds`]); a replayed one is described.
pub fn cases_of(variant: Variant) -> Vec<Case> {
    let (attempts, restarts) = (retry_policy().max_attempts, max_session_restarts());
    let cases: Vec<Case> = variant
        .seeds()
        .into_iter()
        .map(|seed| variant.of(Case::generate(seed, attempts, restarts)))
        .collect();
    if let [case] = cases.as_slice() {
        eprintln!("{}", case.describe());
    }
    cases
}

/// The file API of an emulator started from [`Case::emulator`].
pub fn target(emu: &EmulatorHandle) -> FileApiTarget {
    FileApiTarget {
        api_base: emu.base_url().to_owned(),
        organization: ORG.into(),
        api_key: Secret::new(API_KEY),
        mime_type: None,
        filename: None,
    }
}

/// Which soak a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The cases as drawn, their outcomes as the scripts dictate.
    Drawn,
    /// The same cases with [`Chunking::Adaptive`] from their chunk size
    /// ([`Case::adaptive`]; the module's doc says what is checked).
    Adaptive,
}

impl Variant {
    /// `case`, made this variant's.
    pub fn of(self, case: Case) -> Case {
        match self {
            Variant::Drawn => case,
            Variant::Adaptive => case.adaptive(),
        }
    }

    /// Its seeds: as [`seeds`], by default [`DEFAULT_SEEDS`] or, adaptive,
    /// [`DEFAULT_ADAPTIVE_SEEDS`].
    pub fn seeds(self) -> Vec<u64> {
        let default = match self {
            Variant::Drawn => DEFAULT_SEEDS,
            Variant::Adaptive => DEFAULT_ADAPTIVE_SEEDS,
        };
        seeds_from("RESUMABLE_SOAK_SEED", "RESUMABLE_SOAK_SEEDS", default)
    }

    /// What its counts are printed as, for `driver`.
    pub fn title(self, driver: &str) -> String {
        match self {
            Variant::Drawn => format!("soak ({driver})"),
            Variant::Adaptive => format!("adaptive soak ({driver})"),
        }
    }
}

/// Prints the counts of every case's run and fails on any broken one.
pub fn report(driver: &str, started: Instant, runs: Vec<Result<Tally, String>>) {
    report_of(Variant::Drawn, driver, started, runs);
}

/// [`report`] for the `variant`'s runs; the adaptive one also fails when
/// no chunk of many seeds grew.
pub fn report_of(
    variant: Variant,
    driver: &str,
    started: Instant,
    runs: Vec<Result<Tally, String>>,
) {
    let seeds = runs.len();
    let mut tally = Tally::default();
    let mut broken = Vec::new();
    for run in runs {
        match run {
            Ok(t) => tally.add(&t),
            Err(e) => broken.push(e),
        }
    }
    // Straight to the process's stderr, past the test harness's capture, so
    // that every `cargo test` run shows the counts.
    let mut line = format!(
        "{} in {:.1?}: {tally}",
        variant.title(driver),
        started.elapsed()
    );
    if variant == Variant::Adaptive {
        line.push_str(&format!(
            "\n  chunks grew past their start in {} seeds",
            tally.grown
        ));
    }
    let _ = writeln!(std::io::stderr(), "{line}");
    assert!(
        broken.is_empty(),
        "{} of {seeds} seeds broke:\n{}",
        broken.len(),
        broken.join("\n\n")
    );
    assert_eq!(tally.seeds, seeds as u64, "every seed ran once");
    // The seeds are fixed, so this holds or fails for good: a generator that
    // stopped producing some outcome would leave it unsoaked.
    if seeds >= DEFAULT_SEEDS as usize {
        let kinds = [
            "succeeded",
            "gave up in UploadUrl",
            "gave up in Transfer",
            "gave up in Register",
            "session gone",
        ];
        for outcome in kinds {
            assert!(
                tally.outcomes.keys().any(|k| k.starts_with(outcome)),
                "no seed {outcome}: {tally}"
            );
        }
    }
    // Many seeds have files of several chunks: chunks that never grow in
    // any of them are not adaptive.
    if variant == Variant::Adaptive && seeds >= MANY_SEEDS {
        assert!(tally.grown > 0, "no seed's chunks grew: {tally}");
    }
}

/// Seeds enough for some of them to have files of several chunks.
const MANY_SEEDS: usize = 20;

/// The part of the flow whose retry budget a failing script exceeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Asking for the session.
    UploadUrl,
    /// Sending the bytes.
    Transfer,
    /// Registering the object.
    Register,
}

/// How a script's upload must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expect {
    /// Stored byte-identical and registered once.
    Succeed,
    /// `Error::GaveUp` in `stage` after `attempts` failures in a row.
    GaveUp {
        /// Where.
        stage: Stage,
        /// `max_attempts`, or 1 when the first failure asks for a wait
        /// past the time budget.
        attempts: u32,
    },
    /// `Error::SessionGone`: every session died.
    SessionGone,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Succeed => f.write_str("succeeded"),
            Expect::GaveUp { stage, attempts } => {
                write!(f, "gave up in {stage:?} after {attempts}")
            }
            Expect::SessionGone => f.write_str("session gone"),
        }
    }
}

/// One seed's upload: the file, the chunking, the fault script and its outcome.
#[derive(Debug, Clone)]
pub struct Case {
    /// The seed everything is drawn from (the emulator's too).
    pub seed: u64,
    /// The file's size.
    pub size: u64,
    /// How the driver splits the file.
    pub chunking: Chunking,
    /// The `chunk_size_recommended` the emulator hands out, when not its default.
    pub recommended: Option<u64>,
    /// The chunk size the engine ends up with (the whole file for one
    /// request); under [`Chunking::Adaptive`], the size it starts at.
    pub chunk_size: u64,
    /// The fault rules, in the order they are tried.
    pub rules: Vec<String>,
    /// How the upload must end.
    pub expect: Expect,
    /// Whether the emulator keeps the bytes in files (else in memory).
    pub disk: bool,
    max_restarts: u32,
}

/// A rule and its worst case.
struct Rule {
    text: String,
    /// Failed attempts it may cause: in total, or in each session.
    failures: u32,
    per_session: bool,
    kills: u32,
    /// Goes after the others (it matches every request of its kind).
    last: bool,
}

impl Rule {
    fn new(text: String, failures: u32) -> Rule {
        Rule {
            text,
            failures,
            per_session: false,
            kills: 0,
            last: false,
        }
    }
}

const RETRYABLE: [u16; 6] = [408, 429, 500, 502, 503, 504];

impl Case {
    /// The case of `seed` under `RetryPolicy::max_attempts` and
    /// `Config::max_session_restarts`.
    pub fn generate(seed: u64, max_attempts: u32, max_restarts: u32) -> Case {
        assert!(
            max_attempts >= 2,
            "a budget without retries leaves nothing to soak"
        );
        let mut g = Gen {
            rng: StdRng::seed_from_u64(seed),
            puts: 0,
        };
        let size = g.size();
        let (chunking, recommended) = match g.rng.random_range(0..10) {
            0..=4 => {
                let n = *[UNIT, 2 * UNIT, 4 * UNIT].choose(&mut g.rng).unwrap();
                (Chunking::Fixed(n), None)
            }
            // The engine rounds these down to whole 256 KiB units.
            5 => (Chunking::Fixed(g.rng.random_range(1..=5 * UNIT)), None),
            6 | 7 => (Chunking::Auto, Some(g.rng.random_range(1..=5 * UNIT))),
            _ => (Chunking::SingleRequest, None),
        };
        let chunk_size = match chunking {
            Chunking::Fixed(n) => round_chunk_size(n),
            Chunking::Auto => round_chunk_size(recommended.unwrap_or(DEFAULT_CHUNK_SIZE)),
            _ => size,
        };
        g.puts = size.div_ceil(chunk_size);
        let spare = max_attempts - 1;

        let mut rules = Vec::new();
        let mut expect = Expect::Succeed;
        if g.rng.random_bool(0.25) {
            let (rule, e) = g.exceeding(max_attempts);
            rules.push(rule);
            expect = e;
        }
        if g.rng.random_bool(0.3) {
            rules.extend(g.api("upload-url", spare));
        }
        if g.rng.random_bool(0.4) {
            rules.extend(g.api("register", spare));
        }

        let mut transfer: Vec<Rule> = Vec::new();
        let wanted = g.rng.random_range(0..=5);
        for _ in 0..wanted * 3 {
            if transfer.len() >= wanted {
                break;
            }
            let rule = g.transfer();
            let kills: u32 = transfer.iter().map(|r| r.kills).sum::<u32>() + rule.kills;
            let sessions = kills + 1;
            let worst: u32 = transfer
                .iter()
                .chain(std::iter::once(&rule))
                .map(|r| r.failures * if r.per_session { sessions } else { 1 })
                .sum();
            if kills <= max_restarts && worst <= spare {
                transfer.push(rule);
            }
        }
        let (last, others): (Vec<_>, Vec<_>) = transfer.into_iter().partition(|r| r.last);
        rules.extend(others.into_iter().chain(last).map(|r| r.text));
        let disk = g.rng.random_bool(0.3);
        Case {
            seed,
            size,
            chunking,
            recommended,
            chunk_size,
            rules,
            expect,
            disk,
            max_restarts,
        }
    }

    /// The same case, its file sent with [`Chunking::Adaptive`] from its
    /// chunk size (rounded to whole 256 KiB units) within the default
    /// limits; the rest, the fault script and its outcome included, as drawn.
    pub fn adaptive(self) -> Case {
        let start = round_chunk_size(self.chunk_size);
        Case {
            chunking: Chunking::Adaptive(AdaptiveLimits {
                start: Some(start),
                ..AdaptiveLimits::default()
            }),
            chunk_size: start,
            ..self
        }
    }

    /// Whether its chunks adapt ([`Case::adaptive`]): then the chunks a
    /// fault hits are not known in advance.
    fn is_adaptive(&self) -> bool {
        matches!(self.chunking, Chunking::Adaptive(_))
    }

    /// The fault spec, as the emulator takes it.
    pub fn spec(&self) -> String {
        self.rules.join("; ")
    }

    /// The file's bytes.
    pub fn data(&self) -> Vec<u8> {
        let mut bytes = vec![0; usize::try_from(self.size).unwrap()];
        // Test data need no cryptographic generator; a small one is cheaper.
        SmallRng::seed_from_u64(self.seed).fill_bytes(&mut bytes);
        bytes
    }

    /// The emulator for this case: seeded, with the script.
    pub fn emulator(&self) -> EmulatorBuilder {
        let builder = Emulator::builder()
            .api_key(API_KEY)
            .storage(if self.disk {
                Storage::TempDir
            } else {
                Storage::Memory
            })
            .seed(self.seed)
            .faults(self.spec());
        match self.recommended {
            Some(n) => builder.chunk_size_recommended(n),
            None => builder,
        }
    }

    /// What to print so the case can be replayed.
    pub fn describe(&self) -> String {
        format!(
            "seed {} (replay: RESUMABLE_SOAK_SEED={}): {} bytes, {:?} (recommended {:?}): \
             {} KiB chunks, stored on {}, must have {}; faults: {:?}",
            self.seed,
            self.seed,
            self.size,
            self.chunking,
            self.recommended,
            self.chunk_size / 1024,
            if self.disk { "disk" } else { "memory" },
            self.expect,
            self.spec()
        )
    }

    /// Checks the run of this case: the driver's outcome (`Err` with the
    /// engine's error when the driver ended with one, and the driver error's
    /// words), the events it reported and what the emulator holds. Returns
    /// the run's counts, or what is wrong.
    pub fn check(
        &self,
        result: Result<&Outcome, (Option<&Error>, String)>,
        events: &[Event],
        emu: &EmulatorHandle,
        data: &[u8],
        started: Instant,
    ) -> Result<Tally, String> {
        let elapsed = started.elapsed();
        let log = emu.request_log();
        let fired: Vec<&str> = log.iter().filter_map(|r| r.fault.as_deref()).collect();
        let retries = events
            .iter()
            .filter(|e| matches!(e, Event::Retrying { .. }))
            .count() as u64;
        let restarts = events
            .iter()
            .filter(|e| matches!(e, Event::SessionRestarted { .. }))
            .count() as u64;
        let mut problems = Vec::new();
        let mut expect_that = |ok: bool, what: String| {
            if !ok {
                problems.push(what);
            }
        };
        if let Some(r) = log
            .iter()
            .find(|r| r.kind.is_upload_endpoint() && r.x_api_key)
        {
            expect_that(false, format!("X-API-Key sent to the upload host: {r:?}"));
        }
        // Each data request starts where its session's bytes end, never at
        // the bytes sent before a doubtful failure.
        let mut persisted: BTreeMap<u64, u64> = BTreeMap::new();
        for r in log.iter().filter(|r| r.kind.is_upload_endpoint()) {
            let Some(session) = r.session else { continue };
            let last = persisted.entry(session).or_default();
            if let Some(Range { start, .. }) = data_range(r) {
                expect_that(
                    start == *last,
                    format!("request #{} starts at {start}, {} persisted", r.seq, *last),
                );
            }
            *last = r.persisted.unwrap_or(*last);
        }
        let mut grown = false;
        if self.is_adaptive() {
            // The emulator refuses a request that breaks the protocol with a
            // 4xx of its own (a gone session's 404 or 410 aside).
            for r in log.iter().filter(|r| r.fault.is_none()) {
                if let Some(status) = r.status.filter(|s| (400..500).contains(s)) {
                    expect_that(
                        status == 404 || status == 410,
                        format!("request #{} refused with {status}", r.seq),
                    );
                }
            }
            // Every chunk but the last is whole units, never below the start.
            for r in log.iter().filter(|r| r.kind.is_upload_endpoint()) {
                let Some(Range { start, end }) = data_range(r) else {
                    continue;
                };
                let len = end.saturating_sub(start);
                if end < self.size {
                    expect_that(
                        len % UNIT == 0 && len >= self.chunk_size,
                        format!(
                            "request #{} carries {len} bytes: not whole units, at least {}",
                            r.seq, self.chunk_size
                        ),
                    );
                }
                grown |= len > self.chunk_size;
            }
        }
        // Within a session the persisted offset only grows, up to the size.
        let mut offset = 0;
        for e in events {
            match e {
                Event::SessionStarted { .. } => offset = 0,
                Event::Persisted { offset: o, .. } => {
                    expect_that(
                        *o > offset && *o <= self.size,
                        format!("persisted {o} after {offset}"),
                    );
                    offset = *o;
                }
                _ => {}
            }
        }
        // Every retry and every restart answers a fault the emulator injected.
        expect_that(
            retries + restarts <= fired.len() as u64,
            format!(
                "{retries} retries and {restarts} restarts for {} injected faults",
                fired.len()
            ),
        );
        // Under adaptive chunks a failing script's extra rule (first in the
        // spec) may count `PUT`s the bigger chunks never make. Unfired, it
        // leaves a script within the budget: the upload must succeed.
        let unreached = self.is_adaptive()
            && self.expect != Expect::Succeed
            && !fired.contains(&self.rules[0].as_str());
        let expect = if unreached {
            Expect::Succeed
        } else {
            self.expect
        };
        let objects = emu.object_names();
        let stored_intact = |objects: &[String]| match objects {
            [name] => emu.object_bytes(name).is_ok_and(|b| b == data),
            _ => false,
        };
        match (expect, &result) {
            (Expect::Succeed, Ok(outcome)) => {
                let gcs_path = outcome
                    .file
                    .as_ref()
                    .and_then(|f| f.fields.get("gcs_path"))
                    .and_then(|p| p.as_str())
                    .unwrap_or_default();
                let stored = emu.object_bytes(gcs_path).ok();
                expect_that(
                    stored.as_deref() == Some(data),
                    format!("the object at {gcs_path:?} is not the file"),
                );
                expect_that(objects.len() == 1, format!("objects stored: {objects:?}"));
                expect_that(
                    outcome.crc32c == Some(crc32c::crc32c(data)),
                    format!("outcome CRC32C {:?}", outcome.crc32c),
                );
                let files = emu.files();
                expect_that(
                    emu.registrations() == 1 && files.len() == 1,
                    format!("{} registrations, files {files:?}", emu.registrations()),
                );
                let id = outcome.file.as_ref().map(|f| f.id.as_str());
                expect_that(
                    files.first().map(|f| f.id.as_str()) == id,
                    format!("registered {files:?}, outcome names {id:?}"),
                );
                expect_that(
                    u64::from(outcome.restarts) == restarts,
                    format!("outcome restarts {}, events {restarts}", outcome.restarts),
                );
            }
            (
                Expect::GaveUp { stage, attempts },
                Err((Some(Error::GaveUp { attempts: made, .. }), _)),
            ) => {
                expect_that(*made == attempts, format!("gave up after {made} attempts"));
                expect_that(
                    emu.registrations() == 0,
                    "registered though the upload failed".into(),
                );
                let stats = emu.stats();
                match stage {
                    Stage::UploadUrl => expect_that(
                        stats.sessions_created == 0
                            && stats.upload_url_calls == u64::from(attempts),
                        format!(
                            "{} sessions from {} upload-url calls",
                            stats.sessions_created, stats.upload_url_calls
                        ),
                    ),
                    Stage::Transfer => {
                        expect_that(objects.is_empty(), format!("objects stored: {objects:?}"));
                    }
                    Stage::Register => {
                        expect_that(
                            stored_intact(&objects),
                            format!("not the one intact object: {objects:?}"),
                        );
                        expect_that(
                            stats.register_calls == u64::from(attempts),
                            format!("{} register calls", stats.register_calls),
                        );
                    }
                }
            }
            (Expect::SessionGone, Err((Some(Error::SessionGone), _))) => {
                expect_that(
                    restarts == u64::from(self.max_restarts),
                    format!("{restarts} restarts before giving up the session"),
                );
                expect_that(objects.is_empty(), format!("objects stored: {objects:?}"));
                expect_that(
                    emu.registrations() == 0,
                    "registered though the upload failed".into(),
                );
            }
            (_, Ok(_)) => expect_that(false, "the upload succeeded".into()),
            (_, Err((_, words))) => expect_that(false, format!("the upload failed: {words}")),
        }
        if !problems.is_empty() {
            let requests: Vec<String> = log
                .iter()
                .map(|r| {
                    format!(
                        "  #{} {:?} s{:?} {:?} -> {:?} {:?} persisted {:?} fault {:?}",
                        r.seq,
                        r.kind,
                        r.session,
                        r.content_range,
                        r.status,
                        r.outcome,
                        r.persisted,
                        r.fault
                    )
                })
                .collect();
            return Err(format!(
                "{}\n  {}\nrequests:\n{}",
                self.describe(),
                problems.join("\n  "),
                requests.join("\n")
            ));
        }
        let mut tally = Tally {
            seeds: 1,
            retries,
            restarts,
            bytes: self.size,
            slowest: Some((elapsed, self.seed)),
            grown: u64::from(grown),
            ..Tally::default()
        };
        for rule in fired {
            *tally.faults.entry(effect(rule)).or_default() += 1;
        }
        let outcome = if unreached {
            format!("succeeded ({} unreached)", self.expect)
        } else {
            self.expect.to_string()
        };
        *tally.outcomes.entry(outcome).or_default() += 1;
        Ok(tally)
    }
}

/// The bytes a data request's `Content-Range` (`bytes A-B/…`) names, as
/// the emulator reads it; `None` for a status query or no range at all.
fn data_range(r: &RequestRecord) -> Option<Range<u64>> {
    match put_range(r.content_range.as_deref()?) {
        Ok(PutRange::Bytes { first, end, .. }) => Some(first..end),
        Ok(PutRange::Query { .. }) | Err(_) => None,
    }
}

/// A fault rule's effect, for the counts: its first word after the target.
fn effect(rule: &str) -> String {
    let word = rule
        .split_whitespace()
        .skip(1)
        .find(|w| !w.starts_with("p=") && !w.starts_with("session="))
        .unwrap_or("?");
    let word = word.split('=').next().unwrap_or(word);
    let target = rule.split(['#', ' ']).next().unwrap_or("?");
    format!("{target} {word}")
}

/// The counts of a soak run.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Seeds run.
    pub seeds: u64,
    /// File bytes uploaded (over every seed, once each).
    pub bytes: u64,
    /// Faults the emulator injected, by request kind and effect.
    pub faults: BTreeMap<String, u64>,
    /// `Event::Retrying` seen.
    pub retries: u64,
    /// `Event::SessionRestarted` seen.
    pub restarts: u64,
    /// Seeds by how they ended.
    pub outcomes: BTreeMap<String, u64>,
    /// The slowest seed and its time.
    pub slowest: Option<(Duration, u64)>,
    /// Seeds whose chunks grew past the size they started at.
    pub grown: u64,
}

impl Tally {
    /// Adds another run's counts.
    pub fn add(&mut self, other: &Tally) {
        self.seeds += other.seeds;
        self.bytes += other.bytes;
        self.retries += other.retries;
        self.restarts += other.restarts;
        self.grown += other.grown;
        for (k, v) in &other.faults {
            *self.faults.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.outcomes {
            *self.outcomes.entry(k.clone()).or_default() += v;
        }
        self.slowest = self.slowest.max(other.slowest);
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let faults: u64 = self.faults.values().sum();
        writeln!(
            f,
            "seeds {}, {} MiB, faults injected {faults}, retries {}, restarts {}",
            self.seeds,
            self.bytes >> 20,
            self.retries,
            self.restarts
        )?;
        let outcomes: Vec<String> = self
            .outcomes
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        writeln!(f, "  outcomes: {}", outcomes.join(", "))?;
        let faults: Vec<String> = self
            .faults
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        writeln!(f, "  faults: {}", faults.join(", "))?;
        if let Some((time, seed)) = self.slowest {
            write!(f, "  slowest: seed {seed}, {time:.1?}")?;
        }
        Ok(())
    }
}

/// The random choices of one case.
struct Gen {
    rng: StdRng,
    /// The fewest data requests the file needs: `size / chunk`, rounded up.
    puts: u64,
}

impl Gen {
    /// 1 byte to a few MiB, often on or next to a 256 KiB boundary.
    fn size(&mut self) -> u64 {
        match self.rng.random_range(0..10) {
            0 => *[1, 2, 1000, UNIT - 1].choose(&mut self.rng).unwrap(),
            1..=4 => {
                let units = self.rng.random_range(1..=12);
                (units * UNIT + 1) - self.rng.random_range(0..=2)
            }
            _ => self.rng.random_range(1..=3 * (1 << 20)),
        }
    }

    fn code(&mut self) -> u16 {
        *RETRYABLE.choose(&mut self.rng).unwrap()
    }

    /// `#N` or `#N-M` (M - N + 1 firings at most), maybe with `p=`.
    /// N reaches one past the fewest requests of the kind.
    fn count(&mut self, kind: &str) -> (String, u32) {
        let reach = match kind {
            "chunk" => self.puts.saturating_sub(1).max(1),
            "final" | "query" => 2,
            _ => self.puts + 1,
        };
        let from = self.rng.random_range(1..=reach);
        let (text, n) = if self.rng.random_bool(0.3) {
            let extra = self.rng.random_range(1..=2);
            (format!("#{from}-{}", from + u64::from(extra)), extra + 1)
        } else {
            (format!("#{from}"), 1)
        };
        if self.rng.random_bool(0.2) {
            (format!("{text} p=0.5"), n)
        } else {
            (text, n)
        }
    }

    /// A status fault, now and then with `Retry-After` (0 s; rarely 1 s, a real
    /// wait, and only on a rule that fires once).
    fn status(&mut self, once: bool) -> String {
        let code = self.code();
        let retry_after = match self.rng.random_range(0..100) {
            0..=11 if once && code == 429 => " retry-after=1",
            0..=49 if code == 429 || code == 503 => " retry-after=0",
            _ => "",
        };
        format!("status={code}{retry_after}")
    }

    /// An offset into a request body: anywhere in a chunk, or past its end.
    fn offset(&mut self, chunk: u64) -> u64 {
        match self.rng.random_range(0..4) {
            0 => UNIT * self.rng.random_range(1..=4),
            _ => self.rng.random_range(1..=chunk + UNIT / 2),
        }
    }

    fn upload_kind(&mut self) -> &'static str {
        ["chunk", "final", "put", "query"]
            .choose(&mut self.rng)
            .unwrap()
    }

    /// A rule for the transfer, within the budget on its own.
    fn transfer(&mut self) -> Rule {
        let chunk = UNIT * 4;
        match self.rng.random_range(0..10) {
            0 | 1 => {
                let kind = self.upload_kind();
                let (count, n) = self.count(kind);
                let status = self.status(n == 1 && !count.contains('p'));
                let after = if kind != "query" && self.rng.random_bool(0.4) {
                    format!(" after={}", self.offset(chunk))
                } else {
                    String::new()
                };
                Rule::new(format!("{kind}{count} {status}{after}"), n)
            }
            2 | 3 => {
                let kind = self.upload_kind();
                let (count, n) = self.count(kind);
                let after = if kind != "query" && self.rng.random_bool(0.7) {
                    format!(" after={}", self.offset(chunk))
                } else {
                    String::new()
                };
                Rule::new(format!("{kind}{count} reset{after}"), n)
            }
            4 => {
                let kind = *["chunk", "final", "query"].choose(&mut self.rng).unwrap();
                let (count, n) = self.count(kind);
                Rule::new(format!("{kind}{count} drop-response"), n)
            }
            5 => {
                let kind = *["chunk", "final"].choose(&mut self.rng).unwrap();
                let (count, n) = self.count(kind);
                let short = *[1, 1000, UNIT, UNIT + 1, 2 * UNIT, 3 * UNIT]
                    .choose(&mut self.rng)
                    .unwrap();
                Rule::new(format!("{kind}{count} short={short}"), n)
            }
            6 => {
                // Only where nothing is persisted yet, so the 308 without
                // `Range` is the truth (elsewhere it breaks the protocol).
                let mut rule = Rule::new("put#1 no-range".into(), 1);
                if self.rng.random_bool(0.5) {
                    rule.text.push_str(" session=*");
                    rule.per_session = true;
                }
                rule
            }
            7 => {
                let effect = *["kill", "expire"].choose(&mut self.rng).unwrap();
                let (count, _) = self.count("put");
                let count = count.split([' ', '-']).next().unwrap_or("#1").to_owned();
                let mut rule = Rule::new(format!("put{count} {effect}"), 0);
                rule.kills = 1;
                rule
            }
            8 => {
                let kind = *["chunk", "final", "put"].choose(&mut self.rng).unwrap();
                let status = self.status(false);
                if self.rng.random_bool(0.3) {
                    // One session's own count: fires once at most.
                    let n = self.rng.random_range(1..=3);
                    return Rule::new(format!("{kind}#1 {status} session={n}"), 1);
                }
                let mut rule = Rule::new(format!("{kind}#1 {status} session=*"), 1);
                rule.per_session = true;
                rule
            }
            _ => {
                let kind = *["chunk", "query", "put"].choose(&mut self.rng).unwrap();
                let mut rule = Rule::new(format!("{kind} override-308"), 0);
                rule.last = true;
                rule
            }
        }
    }

    /// Rules failing the first calls of an API request (`upload-url` or
    /// `register`), within the budget in all (often exactly at it).
    fn api(&mut self, kind: &str, spare: u32) -> Vec<String> {
        let failures = self.failures(spare);
        let mut rules = Vec::new();
        let mut at = 1;
        while at <= failures {
            let left = failures - at + 1;
            let n = if self.rng.random_bool(0.6) {
                left
            } else {
                self.rng.random_range(1..=left)
            };
            let effect = match self.rng.random_range(0..5) {
                0 => "drop-response".to_owned(),
                1 => "reset".to_owned(),
                _ => self.status(n == 1),
            };
            let count = if n == 1 {
                format!("#{at}")
            } else {
                format!("#{at}-{}", at + n - 1)
            };
            rules.push(format!("{kind}{count} {effect}"));
            at += n;
        }
        rules
    }

    fn failures(&mut self, spare: u32) -> u32 {
        if self.rng.random_bool(0.4) {
            spare
        } else {
            self.rng.random_range(1..=spare)
        }
    }

    /// A rule that certainly exceeds the budget, and how the upload then ends.
    fn exceeding(&mut self, max_attempts: u32) -> (String, Expect) {
        if self.rng.random_bool(0.15) {
            let effect = *["kill", "expire"].choose(&mut self.rng).unwrap();
            return (format!("put#1 {effect} session=*"), Expect::SessionGone);
        }
        let code = self.code();
        let stage = *[
            Stage::UploadUrl,
            Stage::Transfer,
            Stage::Transfer,
            Stage::Register,
        ]
        .choose(&mut self.rng)
        .unwrap();
        let kind = match stage {
            Stage::UploadUrl => "upload-url",
            Stage::Transfer => "put",
            Stage::Register => "register",
        };
        let gave_up = |attempts| Expect::GaveUp { stage, attempts };
        let variant = self.rng.random_range(0..4);
        if variant == 0 {
            // The first failure of a fresh streak asks for a wait past the
            // time budget: no wait is started.
            let code = *[429, 503].choose(&mut self.rng).unwrap();
            return (
                format!("{kind}#1 status={code} retry-after=3600"),
                gave_up(1),
            );
        }
        let rule = match (stage, variant) {
            (Stage::Transfer, 1) => format!("final status={code}"),
            (Stage::Transfer, 2) => {
                let from = self.rng.random_range(1..=self.puts);
                let effect = match self.rng.random_range(0..3) {
                    0 => format!("status={code}"),
                    1 => "reset".to_owned(),
                    _ => format!("reset after={}", self.rng.random_range(1..UNIT)),
                };
                format!("put#{from}- {effect}")
            }
            (_, 1) => format!("{kind} status={code}"),
            _ => format!("{kind}#1-{max_attempts} status={code}"),
        };
        (rule, gave_up(max_attempts))
    }
}

/// Uploads the case's file with `D` against its emulator and checks the
/// result.
fn run<D: crate::Driver>(case: &Case, dir: &std::path::Path) -> Result<Tally, String> {
    let started = Instant::now();
    let data = case.data();
    let path = dir.join(format!("soak-{}.bin", case.seed));
    std::fs::write(&path, &data).unwrap();
    let emu = case.emulator().start_in_background().unwrap();
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&events);
    let mut up = D::build(crate::Setup {
        chunking: case.chunking,
        retry: retry_policy(),
        on_event: Some(Box::new(move |e: &Event| {
            sink.lock().unwrap().push(e.clone())
        })),
        ..crate::Setup::default()
    });
    let result = up.upload_file(&target(&emu), &path);
    std::fs::remove_file(&path).unwrap();
    let result = match &result {
        Ok(outcome) => Ok(outcome),
        Err(resumable_local::UploadError::Upload(e)) => Err((Some(e), e.to_string())),
        Err(e) => Err((None, e.to_string())),
    };
    let events = events.lock().unwrap().clone();
    case.check(result, &events, &emu, &data, started)
}

/// The soak: every seed's case uploaded with `D`, [`WORKERS`] at once, each
/// ending as its script dictates; prints the counts ([`report`]).
pub fn uploads_survive_random_fault_scripts_or_fail_typed_past_the_budget<D: crate::Driver>() {
    soak::<D>(Variant::Drawn);
}

/// The adaptive soak: the soak's cases with [`Chunking::Adaptive`]
/// ([`Variant::Adaptive`]), each ending as its script dictates or, where
/// its failing rule went unreached, stored whole; prints the counts, which
/// are not pinned (the module's doc says why).
pub fn adaptive_chunks_survive_the_same_fault_scripts<D: crate::Driver>() {
    soak::<D>(Variant::Adaptive);
}

fn soak<D: crate::Driver>(variant: Variant) {
    let started = Instant::now();
    let cases = cases_of(variant);
    let dir = tempfile::tempdir().unwrap();
    let runs = on_workers(&cases, |case| run::<D>(case, dir.path()));
    report_of(variant, D::NAME, started, runs);
}
