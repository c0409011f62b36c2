//! The `resumable` binary against an in-process emulator: parallel uploads
//! with JSON output, resume after SIGKILL and Ctrl-C, a changed file, cancel,
//! the demo, error messages and exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use resumable_blocking::FileCheckpointStore;
use resumable_emulator::{Emulator, EmulatorHandle, RequestKind, Storage};
use serde_json::Value;

const KEY: &str = "test-key";
const UNIT: usize = 256 * 1024;

fn emulator(faults: &str) -> EmulatorHandle {
    Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Memory)
        .faults(faults)
        .seed(7)
        .start_in_background()
        .expect("emulator starts")
}

/// The binary with a clean environment: the test key, its own state dir.
fn resumable(state: &Path) -> Command {
    Command::from_std(support::resumable(KEY, state))
}

/// `upload --org org_1 --api-url … --chunk-size 256KiB`, then `extra`.
fn upload_args(emu: &EmulatorHandle, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["upload", "--org", "org_1", "--api-url", emu.base_url()]
        .into_iter()
        .chain(["--chunk-size", "256KiB"])
        .map(str::to_owned)
        .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

fn data(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Every stdout line as JSON; fails on any line that is not.
fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Bytes sent to the upload endpoint in the request log.
fn upload_bytes(emu: &EmulatorHandle) -> u64 {
    emu.request_log()
        .iter()
        .filter(|r| r.kind.is_upload_endpoint())
        .map(|r| r.bytes_received)
        .sum()
}

/// Waits until the checkpoint in `state` records at least `bytes` persisted.
fn wait_for_checkpoint(state: &Path, bytes: u64, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(store) = FileCheckpointStore::new(state)
            && let Ok(list) = store.list()
            && list.iter().any(|(_, cp)| cp.persisted >= bytes)
        {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the upload ended ({status}) before its checkpoint reached {bytes} bytes");
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint of {bytes} bytes came"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The bytes `emu`'s first session holds once they and the request log
/// stop changing (the same for 300 ms, at most 5 s): a killed client's
/// bytes still in the socket's buffers are read, kept and logged after it
/// is gone.
fn settled_persisted(emu: &EmulatorHandle) -> u64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let look = || (emu.sessions()[0].persisted, emu.request_log().len());
    let (mut seen, mut same) = (look(), 0);
    while same < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = look();
        same = if now == seen { same + 1 } else { 0 };
        seen = now;
    }
    seen.0
}

/// Runs `resumable ARGS` and SIGKILLs it once its checkpoint records
/// `bytes` persisted.
fn kill_once_persisted(state: &Path, args: &[String], bytes: u64) {
    let mut child = support::resumable(KEY, state)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_checkpoint(state, bytes, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Rewrites every checkpoint under `state` as if its session had expired
/// long ago.
fn expire_checkpoints(state: &Path) {
    let mut rewritten = 0;
    for entry in std::fs::read_dir(state).unwrap() {
        let path = entry.unwrap().path();
        let Ok(mut stored) = serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap()) else {
            continue;
        };
        let Some(session) = stored.pointer_mut("/checkpoint/session") else {
            continue;
        };
        session["expires_at"] = serde_json::json!({"secs_since_epoch": 1, "nanos_since_epoch": 0});
        std::fs::write(&path, serde_json::to_vec(&stored).unwrap()).unwrap();
        rewritten += 1;
    }
    assert!(rewritten > 0, "no checkpoint under {}", state.display());
}

fn pending(state: &Path) -> Vec<Value> {
    let out = resumable(state)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    json_lines(&out.stdout)
}

#[test]
fn several_files_in_parallel_with_json_results() {
    let emu = emulator("chunk#3 status=503");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let files: Vec<(PathBuf, Vec<u8>)> = [3 * UNIT + 5, 2 * UNIT, 1, 4 * UNIT]
        .into_iter()
        .enumerate()
        .map(|(i, len)| {
            let bytes = data(len, i as u32);
            (write(dir.path(), &format!("f{i}.bin"), &bytes), bytes)
        })
        .collect();
    let mut args = upload_args(&emu, &["--jobs", "3", "--json"]);
    args.extend(files.iter().map(|(p, _)| p.display().to_string()));
    let out = resumable(&state).args(&args).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let lines = json_lines(&out.stdout);
    let results: Vec<&Value> = lines.iter().filter(|l| l["type"] == "result").collect();
    assert_eq!(results.len(), files.len(), "one result per file");
    let ids: HashSet<&str> = results
        .iter()
        .map(|r| r["file_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), files.len(), "unique ids");
    for (path, bytes) in &files {
        let name = path.display().to_string();
        let result = results.iter().find(|r| r["file"] == name.as_str()).unwrap();
        assert_eq!(result["status"], "done");
        assert_eq!(result["size"], bytes.len() as u64);
        let gcs_path = result["gcs_path"].as_str().unwrap();
        assert_eq!(&emu.object_bytes(gcs_path).unwrap(), bytes, "{name}");
        let crc = resumable_core::crc32c_base64(crc32c::crc32c(bytes));
        assert_eq!(result["crc32c"], crc.as_str());
    }
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "persisted" && l["offset"].is_u64())
    );
    assert!(
        lines.iter().any(|l| l["type"] == "retrying"),
        "the 503 was retried"
    );
    assert_eq!(emu.registrations(), files.len() as u64);
    for r in emu.request_log() {
        assert!(
            !(r.kind.is_upload_endpoint() && r.x_api_key),
            "key sent to the upload host"
        );
    }
    assert!(pending(&state).is_empty(), "no checkpoint left");

    // The same command again uploads nothing: every file is there, unchanged.
    let again = resumable(&state).args(&args).output().unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    let skipped: HashSet<&str> = json_lines(&again.stdout)
        .iter()
        .filter(|l| l["type"] == "result")
        .map(|l| {
            assert_eq!(l["status"], "skipped");
            let id = l["file_id"].as_str().unwrap();
            ids.get(id).copied().expect("the same File id")
        })
        .collect();
    assert_eq!(skipped.len(), files.len());
    assert_eq!(emu.registrations(), files.len() as u64);
}

#[cfg(unix)]
#[test]
fn an_upload_killed_mid_way_resumes_when_run_again() {
    // The fifth chunk stalls, so the kill lands before the upload can end.
    let emu = emulator("chunk#5 stall=30s");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let bytes = data(10 * UNIT, 1);
    let path = write(dir.path(), "big.bin", &bytes);
    let args = upload_args(&emu, &[path.to_str().unwrap()]);

    kill_once_persisted(&state, &args, 4 * UNIT as u64);
    // The stalled chunk's body may have arrived whole before the kill (the
    // stall holds its answer, not its bytes): once the emulator has seen
    // the connection go, the server holds four units or five.
    let persisted = settled_persisted(&emu);
    assert!(
        [4 * UNIT as u64, 5 * UNIT as u64].contains(&persisted),
        "{persisted}"
    );
    assert_eq!(emu.registrations(), 0);

    // The kill may land before the stalled chunk was sent: the second run
    // must not meet the stall.
    emu.clear_faults();
    emu.clear_request_log();
    let out = resumable(&state)
        .args(&args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("resuming from its checkpoint"));
    let lines = json_lines(&out.stdout);
    let file = &emu.files()[0];
    let result = lines.iter().find(|l| l["type"] == "result").unwrap();
    assert_eq!(result["file_id"], file.id.as_str());
    // The transfer starts where the server stopped, and only what is left
    // counts as this run's bytes.
    let starts: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "transfer_started")
        .collect();
    assert_eq!(starts.len(), 1, "{lines:?}");
    assert_eq!(starts[0]["offset"], persisted);
    assert_eq!(starts[0]["total"], bytes.len() as u64);
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["bytes"], bytes.len() as u64 - persisted);
    assert_eq!(emu.object_bytes(&file.gcs_path).unwrap(), bytes);
    assert_eq!(emu.registrations(), 1);
    assert_eq!(emu.sessions_created(), 1, "the same session went on");
    let sent = upload_bytes(&emu);
    let left = bytes.len() as u64 - persisted;
    assert!(
        sent >= left && sent <= left + UNIT as u64,
        "re-sent {} bytes already persisted",
        sent.saturating_sub(left)
    );
    assert!(pending(&state).is_empty());
}

#[cfg(unix)]
#[test]
fn ctrl_c_keeps_the_checkpoint_then_status_and_cancel() {
    let emu = emulator("chunk#3 stall=2s");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let bytes = data(8 * UNIT, 2);
    let path = write(dir.path(), "movie.mp4", &bytes);
    let args = upload_args(&emu, &[path.to_str().unwrap()]);
    let mut child = support::resumable(KEY, &state)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_checkpoint(&state, 2 * UNIT as u64, &mut child);
    let sent = std::process::Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(stderr(&out).contains("run the same command again to resume"));

    let listed = pending(&state);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["state"], "resumable");
    assert!(listed[0]["file"].as_str().unwrap().ends_with("movie.mp4"));
    assert!(listed[0]["persisted"].as_u64().unwrap() >= 2 * UNIT as u64);
    let human = resumable(&state).arg("status").output().unwrap();
    let human = String::from_utf8(human.stdout).unwrap();
    assert!(
        human.contains("movie.mp4") && human.contains('%'),
        "{human}"
    );

    let out = resumable(&state)
        .args(["cancel", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let deletes: Vec<_> = emu
        .request_log()
        .into_iter()
        .filter(|r| r.kind == RequestKind::Delete)
        .collect();
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].status, Some(499));
    assert!(pending(&state).is_empty(), "the checkpoint is gone");
    assert_eq!(emu.registrations(), 0);
}

#[cfg(unix)]
#[test]
fn a_second_run_restart_or_cancel_leaves_a_running_upload_alone() {
    // Held long enough for every run below to start and end meanwhile.
    let emu = emulator("chunk#2 stall=8s");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let bytes = data(4 * UNIT, 9);
    let path = write(dir.path(), "big.bin", &bytes);
    let name = path.display().to_string();
    let args = upload_args(&emu, &[&name]);
    let first_err = dir.path().join("first.err");
    let mut first = support::resumable(KEY, &state)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&first_err).unwrap())
        .spawn()
        .unwrap();
    support::wait_for(
        "the first run's second chunk held",
        Some((&mut first, &first_err)),
        || emu.stats().held == 1,
    );
    let pid = first.id();
    let busy = format!("{name}: another process (pid {pid}) is uploading {name}");

    let out = resumable(&state)
        .args(&args)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(stderr(&out).contains(&busy), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("wait for it to finish"),
        "{}",
        stderr(&out)
    );
    let lines = json_lines(&out.stdout);
    let result = lines.iter().find(|l| l["type"] == "result").unwrap();
    assert_eq!(result["status"], "busy");
    assert_eq!(result["pid"], pid);

    let out = resumable(&state)
        .args(&args)
        .arg("--restart")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(stderr(&out).contains(&busy), "{}", stderr(&out));

    let out = resumable(&state).args(["cancel", &name]).output().unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(stderr(&out).contains(&busy), "{}", stderr(&out));

    let listed = pending(&state);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["state"], "uploading");
    assert_eq!(listed[0]["pid"], pid);
    let human = resumable(&state).arg("status").output().unwrap();
    let human = String::from_utf8(human.stdout).unwrap();
    assert!(
        human.contains(&format!("uploading now (pid {pid})")),
        "{human}"
    );
    assert!(
        first.try_wait().unwrap().is_none(),
        "every run above ran while the first was held"
    );

    let out = first.wait_with_output().unwrap();
    let first_err = std::fs::read_to_string(&first_err).unwrap();
    assert!(out.status.success(), "{first_err}");
    let files = emu.files();
    assert_eq!(files.len(), 1);
    assert_eq!(emu.registrations(), 1, "one File");
    assert_eq!(emu.sessions_created(), 1, "one session");
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains(&files[0].id)
    );
    assert_eq!(emu.object_bytes(&files[0].gcs_path).unwrap(), bytes);
    assert!(
        !emu.request_log()
            .iter()
            .any(|r| r.kind == RequestKind::Delete),
        "the running upload's session was not deleted"
    );
    assert!(pending(&state).is_empty());
}

#[test]
fn a_file_changed_after_an_interruption_is_refused_until_restarted() {
    let emu = emulator("chunk#2 status=400");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let path = write(dir.path(), "notes.txt", &data(4 * UNIT, 3));
    let args = upload_args(&emu, &["--json", path.to_str().unwrap()]);

    let out = resumable(&state).args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out.stdout);
    let result = lines.iter().find(|l| l["type"] == "result").unwrap();
    assert_eq!(result["status"], "failed");
    assert!(stderr(&out).contains("refused (400"), "{}", stderr(&out));

    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"a new line")
        .unwrap();
    let out = resumable(&state)
        .args(&args)
        .arg("--quiet")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("changed since its interrupted upload began"),
        "{err}"
    );
    assert!(
        err.contains("--restart") && err.contains("resumable cancel"),
        "{err}"
    );
    assert_eq!(pending(&state)[0]["state"], "changed");

    let out = resumable(&state)
        .args(&args)
        .arg("--restart")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let file = &emu.files()[0];
    assert_eq!(
        emu.object_bytes(&file.gcs_path).unwrap(),
        std::fs::read(&path).unwrap()
    );
    assert!(
        emu.request_log()
            .iter()
            .any(|r| r.kind == RequestKind::Delete),
        "the old session was deleted"
    );
    assert!(pending(&state).is_empty());
}

#[cfg(feature = "emulator")]
#[test]
fn the_demo_uploads_verifies_and_registers() {
    let dir = tempfile::tempdir().unwrap();
    let out = resumable(dir.path())
        .args(["demo", "--size", "4MiB"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(stdout.contains("registered File"), "{stdout}");
    assert!(stdout.contains("\"id\": \"file_"), "{stdout}");
    assert!(stdout.contains("matches the file"), "{stdout}");
    let err = stderr(&out);
    assert!(
        err.contains("retrying"),
        "the scripted faults were met: {err}"
    );
}

#[test]
fn a_bad_key_and_a_file_too_large_get_their_messages() {
    let emu = Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Memory)
        .max_file_size(100)
        .start_in_background()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let small = write(dir.path(), "small.txt", b"hello");
    let large = write(dir.path(), "large.bin", &data(1000, 4));

    let out = resumable(&state)
        .env("FREDDY_API_KEY", "wrong")
        .args(upload_args(&emu, &["--quiet", small.to_str().unwrap()]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("the API refused the key (401): check FREDDY_API_KEY"),
        "{err}"
    );

    let out = resumable(&state)
        .args(upload_args(&emu, &["--quiet", large.to_str().unwrap()]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("too large") && err.contains("max_file_size"),
        "{err}"
    );
    assert_eq!(emu.registrations(), 0);
}

#[test]
fn some_files_failing_exits_3() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.bin", &data(UNIT + 1, 5));
    let missing = dir.path().join("missing.bin");
    let out = resumable(&dir.path().join("state"))
        .args(upload_args(
            &emu,
            &["--json", good.to_str().unwrap(), missing.to_str().unwrap()],
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let lines = json_lines(&out.stdout);
    let results: Vec<&Value> = lines.iter().filter(|l| l["type"] == "result").collect();
    let statuses: Vec<&str> = results
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["done", "failed"]);
    assert_eq!(results[1]["kind"], "source", "{}", results[1]);
    assert!(stderr(&out).contains("missing.bin: no such file"));

    // Every line has its time; the last sums the run up.
    let started = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(600);
    for line in &lines {
        let time: jiff::Timestamp = line["time"].as_str().unwrap().parse().unwrap();
        assert!(time > started && time <= jiff::Timestamp::now(), "{line}");
        assert!(line["time"].as_str().unwrap().ends_with('Z'), "{line}");
    }
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary", "{summary}");
    assert_eq!(
        (&summary["files"], &summary["done"], &summary["failed"]),
        (&2.into(), &1.into(), &1.into())
    );
    assert_eq!(summary["bytes"], UNIT as u64 + 1);
    assert!(summary["seconds"].as_f64().unwrap() > 0.0, "{summary}");
    assert!(summary["mib_per_s"].as_f64().unwrap() > 0.0, "{summary}");
}

#[test]
fn usage_errors_exit_2_and_every_command_has_examples() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let file = write(dir.path(), "f.bin", b"x");
    let f = file.to_str().unwrap();
    for args in [
        vec![],
        vec!["nonsense"],
        vec!["upload", "--org", "o"],
        vec!["upload", f],
        vec!["upload", f, "--org", "o", "--chunk-size", "8XB"],
        vec![
            "gcs",
            "upload",
            f,
            "--session-url",
            "http://127.0.0.1:1/s",
            "--if-generation-match",
            "0",
        ],
        vec![
            "gcs",
            "upload",
            f,
            "--bucket",
            "b",
            "--object",
            "o",
            "--token-env",
            "T",
            "--if-metageneration-match",
            "x",
        ],
        vec!["upload", f, "--org", "o", "--jobs", "0"],
        vec!["upload", f, "--org", "o", "--api-key", "k"],
        vec!["cancel"],
        vec!["cancel", f, "--all"],
        vec!["gcs", "upload", f, "--bucket", "b"],
        vec!["gcs", "upload", f, "--bucket", "b", "--object", "o"],
        vec!["gcs", "upload", f],
        vec!["demo", "--size", "0"],
    ] {
        let out = resumable(&state).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = resumable(&state)
        .env_remove("FREDDY_API_KEY")
        .args(["upload", f, "--org", "o"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("FREDDY_API_KEY"));

    let mut commands = vec![
        vec!["--help"],
        vec!["upload", "--help"],
        vec!["status", "--help"],
        vec!["cancel", "--help"],
        vec!["gcs", "--help"],
        vec!["gcs", "upload", "--help"],
        vec!["completions", "--help"],
        vec!["man", "--help"],
    ];
    if cfg!(feature = "emulator") {
        commands.extend([vec!["emulator", "--help"], vec!["demo", "--help"]]);
    }
    for command in commands {
        let out = resumable(&state).args(&command).output().unwrap();
        assert!(out.status.success(), "{command:?}");
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(help.contains("Examples:"), "{command:?}: {help}");
    }
}

#[test]
fn raw_gcs_uploads_to_an_initiated_session() {
    let emu = emulator("chunk#2 status=503");
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(3 * UNIT + 9, 6);
    let path = write(dir.path(), "backup.tar", &bytes);
    let out = resumable(&dir.path().join("state"))
        .env("GCS_TOKEN", "token")
        .args(["gcs", "upload", path.to_str().unwrap(), "--json"])
        .args(["--bucket", emu.bucket(), "--object", "backups/backup.tar"])
        .args(["--endpoint", emu.base_url(), "--token-env", "GCS_TOKEN"])
        .args([
            "--chunk-size",
            "256KiB",
            "--header",
            "x-goog-meta-owner: tests",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out.stdout);
    let result = lines.iter().find(|l| l["type"] == "result").unwrap();
    assert_eq!(result["object"], "backups/backup.tar");
    assert_eq!(result["size"], bytes.len() as u64);
    assert_eq!(emu.object_bytes("backups/backup.tar").unwrap(), bytes);
    assert!(
        emu.request_log()
            .iter()
            .any(|r| r.kind == RequestKind::Initiate && r.authorization),
        "the token went to the initiation"
    );
}

#[test]
fn a_loopback_endpoint_needs_no_token_and_any_other_does() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(UNIT + 17, 8);
    let path = write(dir.path(), "local.bin", &bytes);
    let gcs = |endpoint: &str, object: &str| {
        resumable(&dir.path().join("state"))
            .env_remove("GCS_TOKEN")
            .args(["gcs", "upload", path.to_str().unwrap()])
            .args(["--bucket", "second-bucket", "--object", object])
            .args(["--endpoint", endpoint, "--chunk-size", "256KiB"])
            .output()
            .unwrap()
    };
    // The emulator, by address and by `localhost`, into a bucket made on first use.
    let out = gcs(emu.base_url(), "by-ip.bin");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let by_name = format!("http://localhost:{}", emu.addr().port());
    let out = gcs(&by_name, "by-name.bin");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for name in ["by-ip.bin", "by-name.bin"] {
        assert_eq!(emu.object_bytes_in("second-bucket", name).unwrap(), bytes);
    }
    assert!(
        emu.request_log()
            .iter()
            .all(|r| r.kind != RequestKind::Initiate || !r.authorization),
        "no token was sent"
    );
    // Anywhere else the token is required, and the message says why.
    let requests = emu.request_log().len();
    let out = gcs("https://storage.googleapis.com", "remote.bin");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("--token-env"), "{err}");
    assert!(err.contains("not loopback"), "{err}");
    assert_eq!(emu.request_log().len(), requests);
}

#[cfg(feature = "emulator")]
#[test]
fn the_emulator_command_takes_buckets() {
    let mut child = support::resumable(KEY, &tempfile::tempdir().unwrap().path().join("s"))
        .args(["emulator", "--addr", "127.0.0.1:0", "--storage", "memory"])
        .args([
            "--bucket",
            "first-bucket",
            "--bucket",
            "second-bucket",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let listening: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    assert_eq!(listening["bucket"], "first-bucket");
    assert_eq!(
        listening["buckets"],
        serde_json::json!(["first-bucket", "second-bucket"])
    );
}

#[test]
fn answers_cut_short_do_not_fail_an_upload() {
    // The session's answer, the final object and the File, each cut short.
    let emu = emulator("upload-url#1 cut-close=10; final#1 cut=0; register#1 cut=5");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let bytes = data(3 * UNIT + 7, 8);
    let path = write(dir.path(), "cut.bin", &bytes);
    let out = resumable(&state)
        .args(upload_args(&emu, &["--json", path.to_str().unwrap()]))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out.stdout);
    let result = lines.iter().find(|l| l["type"] == "result").unwrap();
    assert_eq!(result["status"], "done", "{result}");
    let files = emu.files();
    assert_eq!(files.len(), 1);
    assert_eq!(result["file_id"], files[0].id.as_str());
    assert_eq!(emu.object_bytes(&files[0].gcs_path).unwrap(), bytes);
    let cut = emu
        .request_log()
        .iter()
        .filter(|r| r.outcome == "fault-cut")
        .count();
    assert_eq!(cut, 3, "every cut fired");
}

#[test]
fn a_file_rewritten_with_its_size_and_mtime_kept_is_refused_after_a_kill() {
    let emu = emulator("chunk#5 stall=30s");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let bytes = data(10 * UNIT, 4);
    let path = write(dir.path(), "image.raw", &bytes);
    let args = upload_args(&emu, &[path.to_str().unwrap()]);
    kill_once_persisted(&state, &args, 4 * UNIT as u64);

    // Rewritten in place with the old size and modification time, as
    // `rsync -t`, `tar -x` or an image tool leave a file.
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut other = bytes.clone();
    other[100] ^= 0xff;
    std::fs::write(&path, &other).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    // The killed run's last chunk may still be read and logged.
    settled_persisted(&emu);
    emu.clear_faults();
    emu.clear_request_log();

    let out = resumable(&state).args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("changed since its interrupted upload began") && err.contains("--restart"),
        "{err}"
    );
    assert_eq!(upload_bytes(&emu), 0, "not a byte sent");
    assert_eq!(emu.registrations(), 0);

    let out = resumable(&state)
        .args(&args)
        .arg("--restart")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let file = &emu.files()[0];
    assert_eq!(emu.object_bytes(&file.gcs_path).unwrap(), other);
}

#[test]
fn if_generation_match_0_uploads_once_then_refuses_to_overwrite() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let first = write(dir.path(), "first.bin", &data(2 * UNIT + 3, 11));
    let second = write(dir.path(), "second.bin", &data(UNIT, 12));
    let upload = |path: &Path| {
        resumable(&state)
            .env("GCS_TOKEN", "token")
            .args(["gcs", "upload", path.to_str().unwrap()])
            .args(["--bucket", emu.bucket(), "--object", "once.bin"])
            .args(["--endpoint", emu.base_url(), "--token-env", "GCS_TOKEN"])
            .args(["--chunk-size", "256KiB", "--if-generation-match", "0"])
            .output()
            .unwrap()
    };
    let out = upload(&first);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stored = emu.object("once.bin").unwrap();

    let out = upload(&second);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("precondition")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    let line = lines[0];
    assert!(line.contains("second.bin: the precondition --if-generation-match 0 does not hold for the object (412: "), "{line}");
    assert!(line.ends_with("nothing was written"), "{line}");
    for advice in ["again", "resume", "restart", "cancel"] {
        assert!(!line.contains(advice), "{line}");
    }
    assert_eq!(
        emu.object_bytes("once.bin").unwrap(),
        std::fs::read(&first).unwrap()
    );
    assert_eq!(
        emu.object("once.bin").unwrap().generation,
        stored.generation
    );
    assert!(pending(&state).is_empty(), "no checkpoint left to resume");
}

/// A session that expired while its upload was interrupted is announced as
/// a new upload, not as a resume; the failure that interrupted it said the
/// checkpoint is kept because one was.
#[test]
fn an_upload_whose_session_expired_meanwhile_is_announced_as_new() {
    let emu = emulator("chunk#2 status=400");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let path = write(dir.path(), "late.bin", &data(4 * UNIT, 5));
    let args = upload_args(&emu, &[path.to_str().unwrap()]);
    let out = resumable(&state).args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the checkpoint is kept"),
        "{}",
        stderr(&out)
    );
    // The interruption outlived the session: its checkpoint says it
    // expired in 1970 (no clock waited on).
    expire_checkpoints(&state);
    emu.clear_faults();
    let out = resumable(&state).args(&args).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(said.contains("has expired; uploading it anew"), "{said}");
    assert!(!said.contains("resuming"), "{said}");
    assert_eq!(emu.sessions_created(), 2, "a new session replaced it");
}

#[test]
fn status_names_an_upload_stored_in_full_but_not_registered() {
    let emu = emulator("register#1 status=503");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let file = write(dir.path(), "f.bin", &data(2 * UNIT, 9));
    let args = upload_args(&emu, &["--retries", "0", file.to_str().unwrap()]);
    let out = resumable(&state).args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the bytes are stored in full but not registered"),
        "{}",
        stderr(&out)
    );

    let listed = pending(&state);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["state"], "unregistered", "{}", listed[0]);
    let out = resumable(&state).arg("status").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let canonical = std::fs::canonicalize(&file).unwrap();
    let expected = format!(
        "{}: stored in full (512.00 KiB) but not registered with org_1 at {}; run \
         `resumable upload {} --org org_1 --api-url {}` again to register it without \
         sending the bytes again",
        canonical.display(),
        emu.base_url(),
        canonical.display(),
        emu.base_url()
    );
    assert_eq!(text.trim_end(), expected);

    // As it says: the same command registers without sending a byte.
    let sent = upload_bytes(&emu);
    let out = resumable(&state).args(&args).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(upload_bytes(&emu), sent, "no byte sent again");
    assert_eq!(emu.registrations(), 1);
    assert!(pending(&state).is_empty());
}
