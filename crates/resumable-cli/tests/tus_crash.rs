//! `resumable tus upload` killed with SIGKILL at several points of a 64 MiB
//! upload to the emulator's tus mode, and run again each time: the upload
//! finishes byte-identical, in the one upload resource it created first,
//! and its checkpoint is gone.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use resumable_emulator::{Emulator, EmulatorHandle, Storage, TusStatus};

const KEY: &str = "tus-crash-key";
const MIB: u64 = 1 << 20;
const TOTAL: u64 = 64 * MIB;

/// The upload of `file` to the emulator's tus endpoint, in 2 MiB PATCHes.
fn upload(emu: &EmulatorHandle, state: &Path, file: &Path) -> Command {
    let mut cmd = support::resumable(KEY, state);
    cmd.args(["tus", "upload"])
        .arg(file)
        .args(["--endpoint", &emu.tus_endpoint(), "--chunk-size", "2MiB"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// The bytes the one upload resource holds, once there is one.
fn held(emu: &EmulatorHandle) -> Option<u64> {
    let uploads = emu.tus_uploads();
    assert!(uploads.len() <= 1, "one upload resource: {uploads:?}");
    uploads.first().map(|u| u.offset)
}

#[test]
fn killed_at_several_points_it_finishes_intact_in_one_upload() {
    let emu = Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Memory)
        // Each PATCH takes a while, so the kills land mid-body as well.
        .faults("patch stall=20ms")
        .start_in_background()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let file = dir.path().join("sample.bin");
    let bytes: Vec<u8> = (0..TOTAL).map(|i| (i * 7 % 253) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();

    for at in [3 * MIB, 17 * MIB, 30 * MIB, 45 * MIB, 60 * MIB] {
        let before = held(&emu).unwrap_or(0);
        let mut child = upload(&emu, state.path(), &file).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while held(&emu).unwrap_or(0) < at {
            assert!(Instant::now() < deadline, "no progress past {before}");
            assert!(child.try_wait().unwrap().is_none(), "ended before {at}");
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let after = held(&emu).unwrap();
        assert!(
            after >= before,
            "the server's offset went back: {before} -> {after}"
        );
    }
    let last = upload(&emu, state.path(), &file).status().unwrap();
    assert!(last.success());
    let uploads = emu.tus_uploads();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(uploads[0].state, TusStatus::Complete);
    assert!(emu.tus_upload_bytes(&uploads[0].url).unwrap() == bytes);
    let status = support::resumable(KEY, state.path())
        .arg("status")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&status.stdout).contains("sample.bin"));
}
