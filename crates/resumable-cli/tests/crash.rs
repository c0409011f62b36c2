//! The `resumable` binary killed with SIGKILL at many points of a 256 MiB
//! upload, and run again each time: at seeded random points, in the middle of
//! a chunk's body, inside register after the last chunk, and after register
//! committed but before the checkpoint was removed. The upload must finish
//! byte-identical, in one session, with one File, and no run may re-send more
//! than one chunk of data the server had persisted before it started.
//!
//! The seed and the figures of every restart are printed on each run;
//! `RESUMABLE_CRASH_SEED=N` runs another seed.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use resumable_blocking::{CheckpointStore as _, FileCheckpointStore};
use resumable_core::Checkpoint;
use resumable_emulator::{Emulator, EmulatorHandle, RequestKind, RequestRecord, Storage};

/// A line for the figures, straight to stderr past the test harness's
/// capture, so that every run shows them.
macro_rules! show {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

const KEY: &str = "crash-key";
const MIB: u64 = 1 << 20;
const TOTAL: u64 = 256 * MIB;
const CHUNK: u64 = 8 * MIB;
const RANDOM_KILLS: usize = 10;
const SEED_ENV: &str = "RESUMABLE_CRASH_SEED";
/// The seed unless [`SEED_ENV`] names another: fixed, so that a failure in CI
/// repeats as it is.
const DEFAULT_SEED: u64 = 13_295_123_756_011_068_322;
/// How long the scripted faults hold a chunk or a register answer: the kill
/// must land inside it however slowly this test is scheduled.
const HOLD: &str = "5s";
/// Where the mid-chunk fault holds a chunk's body: 3 MiB in, off any chunk boundary.
const MID_CHUNK: u64 = 3 * MIB;

/// Where a run is killed.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// Once the server has persisted `at` bytes, `delay` later (so the kill
    /// lands anywhere in the chunk after).
    Persisted { at: u64, delay: Duration },
    /// While the server holds a chunk's body 3 MiB in.
    MidChunk,
    /// After the last chunk, while the server holds the register request
    /// (which then fails, registering nothing).
    InRegister,
    /// After the last chunk, while the server holds the register request,
    /// which then commits: the File exists but the checkpoint stays.
    AfterRegister,
}

impl Kill {
    /// The fault rules in force while the run goes.
    fn faults(self) -> String {
        match self {
            Kill::Persisted { .. } => String::new(),
            Kill::MidChunk => format!("chunk#2 after={MID_CHUNK} stall={HOLD}"),
            // `after=` holds the register once its body is read: a kill before
            // the client sent it all would cut it off instead.
            Kill::InRegister => format!("register#1 after=1 stall={HOLD} status=503"),
            Kill::AfterRegister => format!("register#1 after=1 stall={HOLD}"),
        }
    }
}

/// The random kills, spread over the upload (one per chosen chunk, never in
/// the last two), with the scripted ones placed among and after them.
fn plan(rng: &mut StdRng) -> Vec<Kill> {
    let chunks = usize::try_from(TOTAL / CHUNK).unwrap() - 2;
    let mut picked = rand::seq::index::sample(rng, chunks, RANDOM_KILLS).into_vec();
    picked.sort_unstable();
    let mut kills: Vec<Kill> = picked
        .into_iter()
        .map(|chunk| Kill::Persisted {
            at: chunk as u64 * CHUNK + rng.random_range(1..=CHUNK),
            delay: Duration::from_millis(rng.random_range(0..40)),
        })
        .collect();
    kills.insert(rng.random_range(1..RANDOM_KILLS / 2), Kill::MidChunk);
    kills.extend([Kill::InRegister, Kill::AfterRegister]);
    kills
}

/// Writes `TOTAL` pseudo-random bytes (xorshift, cheap in a debug build) to
/// `path`; returns their CRC32C.
fn write_sample(path: &Path, seed: u64) -> u32 {
    let mut file = File::create(path).unwrap();
    let mut x = seed | 1;
    let mut block = vec![0u8; MIB as usize];
    let mut crc = 0;
    for _ in 0..TOTAL / MIB {
        for word in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        crc = crc32c::crc32c_append(crc, &block);
        file.write_all(&block).unwrap();
    }
    crc
}

/// The one command every run repeats; its stderr goes to `stderr`.
fn upload(emu: &EmulatorHandle, state: &Path, file: &Path, stderr: &Path) -> Command {
    let mut cmd = support::resumable(KEY, state);
    cmd.args(["upload", "--org", "org_1", "--api-url", emu.base_url()])
        .args(["--chunk-size", "8MiB"])
        .arg(file)
        .stdin(Stdio::null())
        .stderr(File::create(stderr).unwrap());
    cmd
}

/// The checkpoints in `state`, by key.
fn checkpoints(state: &Path) -> Vec<(String, Checkpoint)> {
    FileCheckpointStore::new(state)
        .and_then(|s| s.list())
        .unwrap_or_default()
}

/// Whether `state` holds no checkpoint, as `resumable status` sees it.
fn nothing_pending(state: &Path) -> bool {
    let status = support::resumable(KEY, state)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(status.status.success());
    status.stdout.is_empty()
}

/// The emulator's sockets a client is still connected to, from the
/// kernel's table (it listens on 127.0.0.1).
fn open_connections(port: u16) -> usize {
    let local = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap()
        .lines()
        .skip(1)
        .filter(|line| {
            let mut fields = line.split_whitespace().skip(1);
            let (address, state) = (fields.next(), fields.nth(1));
            // ESTABLISHED, SYN_RECV, CLOSE_WAIT: the server has not closed it.
            address == Some(local.as_str()) && matches!(state, Some("01" | "03" | "08"))
        })
        .count()
}

/// A request of the test's own that the emulator logs (a 404); returns its
/// number in the log.
fn probe(emu: &EmulatorHandle) -> u64 {
    let mut stream = TcpStream::connect(emu.addr()).unwrap();
    let host = emu.addr();
    write!(
        stream,
        "GET /crash-probe HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    let log = emu.request_log();
    log.iter()
        .filter(|r| r.kind == RequestKind::Other)
        .map(|r| r.seq)
        .max()
        .unwrap()
}

/// Waits until every request of a killed run is handled and logged, and
/// returns the last number the log is complete to. The kernel still delivers
/// what the dead process had sent, and each request is handled in a task of
/// its own: so first its connections must be closed (every request handed to
/// its handler), then every request numbered after `since` and before a probe
/// of the test's own must be in the log.
fn quiesce(emu: &EmulatorHandle, since: u64) -> u64 {
    support::wait_for("the killed run's connections to close", None, || {
        open_connections(emu.addr().port()) == 0
    });
    let probe = probe(emu);
    support::wait_for("the killed run's requests to be logged", None, || {
        let seqs: HashSet<u64> = emu.request_log().iter().map(|r| r.seq).collect();
        (since + 1..probe).all(|seq| seqs.contains(&seq))
    });
    probe
}

/// Body bytes of `log`'s data requests below `before`: data persisted
/// before the run began, sent again.
fn resent(log: &[RequestRecord], before: u64) -> u64 {
    log.iter()
        .filter(|r| matches!(r.kind, RequestKind::Chunk | RequestKind::Final))
        .map(|r| {
            let first: u64 = r
                .content_range
                .as_deref()
                .and_then(|c| c.strip_prefix("bytes ")?.split('-').next()?.parse().ok())
                .unwrap_or(0);
            (first + r.bytes_received).min(before).saturating_sub(first)
        })
        .sum()
}

/// Body bytes the upload endpoint received in `log`.
fn upload_bytes(log: &[RequestRecord]) -> u64 {
    log.iter()
        .filter(|r| r.kind.is_upload_endpoint())
        .map(|r| r.bytes_received)
        .sum()
}

/// The largest session part on the emulator's disk.
fn part_len(emu_dir: &Path) -> u64 {
    std::fs::read_dir(emu_dir.join("parts"))
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

/// Whether `a` and `b` hold the same bytes, read a block at a time.
fn same_bytes(a: &Path, b: &Path) -> bool {
    let (mut a, mut b) = (File::open(a).unwrap(), File::open(b).unwrap());
    let (mut x, mut y) = (vec![0u8; MIB as usize], vec![0u8; MIB as usize]);
    loop {
        let n = a.read(&mut x).unwrap();
        if n == 0 {
            return b.read(&mut y).unwrap() == 0;
        }
        if b.read_exact(&mut y[..n]).is_err() || x[..n] != y[..n] {
            return false;
        }
    }
}

#[test]
fn killed_at_many_points_of_a_256_mib_upload_it_finishes_intact_and_once() {
    let seed = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    show!("seed {seed} (set {SEED_ENV}={seed} to repeat)");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let (state, emu_dir) = (dir.path().join("state"), dir.path().join("emulator"));
    let emu = Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Disk(emu_dir.clone()))
        .seed(seed)
        .start_in_background()
        .unwrap();
    let file = dir.path().join("sample.bin");
    let crc = write_sample(&file, seed);
    let kills = plan(&mut rng);
    let errs = |run: usize| dir.path().join(format!("run{run}.err"));
    let mut before = 0;
    let mut logged = 0;
    let mut stale = None;

    for (run, kill) in kills.iter().copied().enumerate() {
        // A run goes on past its kill point while the kill lands (up to a
        // chunk): when the runs before left less than a chunk past this
        // point, the upload would end and register before this kill could
        // land. The seed's plan depends on how fast the machine ran.
        if let Kill::Persisted { at, .. } = kill
            && at.max(before + 1) + CHUNK > TOTAL
        {
            show!("run {run}: {kill:?} skipped, {before} already persisted");
            continue;
        }
        emu.add_faults(&kill.faults()).unwrap();
        let err = errs(run);
        let mut child = upload(&emu, &state, &file, &err)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let watched = Some((&mut child, err.as_path()));
        let persisted = || emu.sessions().first().map_or(0, |s| s.persisted);
        let register_calls = emu.stats().register_calls;
        match kill {
            Kill::Persisted { at, delay } => {
                let at = at.max(before + 1);
                support::wait_for(&format!("{at} bytes persisted"), watched, || {
                    persisted() >= at
                });
                std::thread::sleep(delay);
            }
            // The run's first chunk answered, and the second one's body is on
            // the server's disk past what it had persisted (all but what its
            // 1 MiB write buffer holds): held mid-way.
            Kill::MidChunk => support::wait_for("a chunk held mid-body", watched, || {
                let answered = emu
                    .request_log()
                    .iter()
                    .any(|r| r.kind == RequestKind::Chunk && r.status == Some(308));
                answered && part_len(&emu_dir) >= persisted() + MID_CHUNK - MIB
            }),
            Kill::InRegister | Kill::AfterRegister => {
                support::wait_for("register held", watched, || {
                    let stats = emu.stats();
                    stats.register_calls > register_calls && stats.held == 1
                });
            }
        }
        let (at_kill, registered, objects) =
            (persisted(), emu.registrations(), emu.object_names().len());
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert_eq!(registered, 0, "run {run}: registered before the kill");
        if matches!(kill, Kill::InRegister | Kill::AfterRegister) {
            assert_eq!(
                (at_kill, objects),
                (TOTAL, 1),
                "run {run}: the object is complete"
            );
        }

        logged = quiesce(&emu, logged);
        match kill {
            Kill::MidChunk => {
                // After the hold the server still reads what the killed
                // client had handed to its socket: part of the chunk (a
                // cut-off) or, as the buffers are large, all of it (answered
                // to no one).
                let log = emu.request_log();
                let held = log.iter().find(|r| r.fault.is_some()).unwrap();
                assert!(held.bytes_received >= MID_CHUNK - MIB, "{held:?}");
                assert!(
                    ["cut-off", "ok"].contains(&held.outcome.as_str()),
                    "{held:?}"
                );
                show!(
                    "run {run}: the held chunk got {} of {} bytes ({})",
                    held.bytes_received,
                    held.content_length.unwrap_or(0),
                    held.outcome
                );
            }
            Kill::InRegister => {
                let name = &emu.sessions()[0].name;
                assert_eq!(emu.object(name).map(|o| o.size), Some(TOTAL));
                let failed = emu.request_log().into_iter().find(|r| r.fault.is_some());
                assert_eq!(failed.and_then(|r| r.status), Some(503));
                assert_eq!(emu.registrations(), 0);
            }
            Kill::AfterRegister => {
                assert_eq!(emu.registrations(), 1, "the held register committed");
                let cp = checkpoints(&state);
                assert!(
                    cp.len() == 1 && cp[0].1.object.is_some(),
                    "the checkpoint of the uploaded object stays: {cp:?}"
                );
                stale = cp.into_iter().next();
            }
            Kill::Persisted { .. } => {}
        }
        let log = emu.request_log();
        let after = persisted();
        let again = resent(&log, before);
        show!(
            "run {run}: killed {kill:?}; persisted {before} at start, {at_kill} at the kill, \
             {after} once its requests ended; received {}, re-sent {again} persisted before",
            upload_bytes(&log)
        );
        assert!(again <= CHUNK, "run {run} re-sent {again} bytes: {log:#?}");
        assert!(after >= before, "run {run}: persisted went back");
        assert_eq!(emu.sessions_created(), 1, "run {run}: one session");
        before = after;
        emu.clear_faults();
        emu.clear_request_log();
    }

    let last = kills.len();
    let out = upload(&emu, &state, &file, &errs(last)).output().unwrap();
    let stderr = std::fs::read_to_string(errs(last)).unwrap();
    assert!(out.status.success(), "{stderr}");
    // Killed in or after its register, the object is complete: the last
    // run registers it and says so, or resumes a transfer.
    assert!(
        stderr.contains("registering it without sending them again")
            || stderr.contains("resuming from its checkpoint"),
        "{stderr}"
    );
    let log = emu.request_log();
    let again = resent(&log, before);
    show!(
        "run {last}: finished; {} bytes received, {again} re-sent; {} register calls in all",
        upload_bytes(&log),
        emu.stats().register_calls
    );
    assert!(again <= CHUNK);

    let files = emu.files();
    assert_eq!(files.len(), 1);
    assert_eq!(emu.registrations(), 1, "one File");
    assert_eq!(emu.sessions_created(), 1, "the same session throughout");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains(&files[0].id), "{stdout}");
    let object = emu.object(&files[0].gcs_path).unwrap();
    assert_eq!((object.size, object.crc32c), (TOTAL, crc));
    let stored = std::fs::read_dir(emu_dir.join("objects"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect::<Vec<PathBuf>>();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(same_bytes(&stored[0], &file), "the object is the file");

    assert!(nothing_pending(&state), "a checkpoint is left");

    // As if killed once the File was recorded as uploaded but before the
    // checkpoint was removed: the same command skips the file, sends nothing
    // and drops the stale checkpoint.
    let (key, checkpoint) = stale.unwrap();
    let mut store = FileCheckpointStore::new(&state).unwrap();
    store.save(&key, &checkpoint).unwrap();
    emu.clear_request_log();
    let calls = emu.stats().register_calls;
    let out = upload(&emu, &state, &file, &errs(last + 1))
        .output()
        .unwrap();
    let stderr = std::fs::read_to_string(errs(last + 1)).unwrap();
    assert!(
        out.status.success() && stderr.contains("skipped"),
        "{stderr}"
    );
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains(&files[0].id)
    );
    assert!(emu.request_log().is_empty(), "{:?}", emu.request_log());
    assert_eq!((emu.stats().register_calls, emu.files().len()), (calls, 1));
    assert!(nothing_pending(&state), "the stale checkpoint is gone");
}
