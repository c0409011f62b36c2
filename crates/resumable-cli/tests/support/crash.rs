//! The crash test every protocol's upload command runs: SIGKILL at several
//! points of a large upload to the emulator, run again each time, and the
//! upload finishes byte-identical in the one upload resource it created.

// Only the crash test binaries use it; the others share `support` too.
#![allow(dead_code)]

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use resumable_emulator::{Emulator, EmulatorHandle, Storage};

const MIB: u64 = 1 << 20;
const TOTAL: u64 = 64 * MIB;

/// What tells one protocol's crash test from another's.
pub(crate) struct Protocol {
    /// The command, e.g. `["tus", "upload"]`.
    pub(crate) command: [&'static str; 2],
    /// A fault that slows each append, so the kills land mid-body as well.
    pub(crate) slow_appends: &'static str,
    /// The creation endpoint.
    pub(crate) endpoint: fn(&EmulatorHandle) -> String,
    /// The offsets of the emulator's upload resources.
    pub(crate) offsets: fn(&EmulatorHandle) -> Vec<u64>,
    /// The bytes of the one complete upload, asserting there is just one.
    pub(crate) stored: fn(&EmulatorHandle) -> Vec<u8>,
}

/// Kills a 64 MiB upload with `protocol` at 3, 17, 30, 45 and 60 MiB held
/// by the server, runs it again each time, then to its end.
pub(crate) fn killed_at_several_points_it_finishes_intact(protocol: &Protocol) {
    let key = "crash-key";
    let emu = Emulator::builder()
        .api_key(key)
        .storage(Storage::Memory)
        .faults(protocol.slow_appends)
        .start_in_background()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let file = dir.path().join("sample.bin");
    let bytes: Vec<u8> = (0..TOTAL).map(|i| (i * 7 % 253) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    let upload = |state: &Path| {
        let mut cmd = super::resumable(key, state);
        cmd.args(protocol.command)
            .arg(&file)
            .args(["--endpoint", &(protocol.endpoint)(&emu)])
            .args(["--chunk-size", "2MiB"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    };
    let held = || {
        let offsets = (protocol.offsets)(&emu);
        assert!(offsets.len() <= 1, "one upload resource: {offsets:?}");
        offsets.first().copied()
    };
    for at in [3 * MIB, 17 * MIB, 30 * MIB, 45 * MIB, 60 * MIB] {
        let before = held().unwrap_or(0);
        let mut child = upload(state.path()).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while held().unwrap_or(0) < at {
            assert!(Instant::now() < deadline, "no progress past {before}");
            assert!(child.try_wait().unwrap().is_none(), "ended before {at}");
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let after = held().unwrap();
        assert!(
            after >= before,
            "the server's offset went back: {before} -> {after}"
        );
    }
    assert!(upload(state.path()).status().unwrap().success());
    assert!((protocol.stored)(&emu) == bytes, "stored bytes differ");
    let status = super::resumable(key, state.path())
        .arg("status")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&status.stdout).contains("sample.bin"));
}
