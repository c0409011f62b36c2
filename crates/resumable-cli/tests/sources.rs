//! What `resumable upload` reads: `-r` directories, stdin (`-` with
//! `--size` and `--name`), `--name`, `--dry-run`, and the chunk size it
//! rounds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write as _;
use std::path::Path;
use std::process::{Output, Stdio};

use resumable_emulator::EmulatorHandle;
use serde_json::Value;

const KEY: &str = "test-key";
const UNIT: usize = 256 * 1024;

fn data(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

/// `resumable upload --json --org org_1 --api-url EMU ARGS` in `dir`, with
/// `stdin` fed to it.
fn upload(emu: &EmulatorHandle, dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = support::resumable(KEY, &dir.join("state"))
        .current_dir(dir)
        .args([
            "upload",
            "--json",
            "--org",
            "org_1",
            "--api-url",
            emu.base_url(),
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    feed(&mut child, stdin.to_vec());
    child.wait_with_output().unwrap()
}

/// Writes `bytes` to the child's stdin from a thread (the child reads it
/// as it uploads), then closes it. A run that refuses its command line
/// never reads it.
fn feed(child: &mut std::process::Child, bytes: Vec<u8>) {
    let mut input = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
}

fn records(out: &Output, kind: &str) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["type"] == kind)
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The registered filenames and their stored bytes.
fn registered(emu: &EmulatorHandle) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = emu
        .files()
        .iter()
        .map(|f| (f.filename.clone(), emu.object_bytes(&f.gcs_path).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn recursive_uploads_the_files_under_a_directory_by_relative_name() {
    let emu = support::emulator(KEY, "");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    std::fs::create_dir_all(root.join("2024/june")).unwrap();
    let files = [
        ("b.jpg", data(UNIT + 3, 1)),
        ("2024/june/a.jpg", data(10, 2)),
        ("2024/c.jpg", data(2 * UNIT, 3)),
    ];
    for (name, bytes) in &files {
        std::fs::write(root.join(name), bytes).unwrap();
    }
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("b.jpg"), root.join("link.jpg")).unwrap();

    // Without -r, a directory is refused with the way to upload it.
    let out = upload(&emu, dir.path(), &["photos"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is a directory; upload the files under it with -r"));

    let out = upload(&emu, dir.path(), &["-r", "photos"], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let results: Vec<String> = records(&out, "result")
        .iter()
        .map(|r| {
            assert_eq!(r["status"], "done", "{r}");
            r["file"].as_str().unwrap().to_owned()
        })
        .collect();
    let order: Vec<String> = ["2024/c.jpg", "2024/june/a.jpg", "b.jpg"]
        .iter()
        .map(|n| Path::new("photos").join(n).display().to_string())
        .collect();
    assert_eq!(results, order, "in the order of their paths");
    let mut expected: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, b)| ((*n).to_owned(), b.clone()))
        .collect();
    expected.sort();
    assert_eq!(registered(&emu), expected);
    #[cfg(unix)]
    assert!(
        stderr(&out).contains("link.jpg: skipped: a symbolic link (not followed)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(records(&out, "summary")[0]["done"], 3);
}

#[test]
fn stdin_is_uploaded_with_its_size_and_name_and_keeps_no_checkpoint() {
    let emu = support::emulator(KEY, "chunk#2 status=503");
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(3 * UNIT + 7, 4);
    let size = bytes.len().to_string();
    let args = [
        "-",
        "--size",
        &size,
        "--name",
        "dump.sql",
        "--chunk-size",
        "256KiB",
    ];
    let out = upload(&emu, dir.path(), &args, &bytes);
    assert!(out.status.success(), "{}", stderr(&out));
    // The 503 was retried from the bytes held in memory.
    assert_eq!(records(&out, "retrying").len(), 1);
    let result = &records(&out, "result")[0];
    assert_eq!(
        (&result["file"], &result["status"]),
        (&"stdin".into(), &"done".into())
    );
    assert_eq!(registered(&emu), [("dump.sql".to_owned(), bytes.clone())]);
    assert!(
        !dir.path().join("state").exists()
            || std::fs::read_dir(dir.path().join("state"))
                .unwrap()
                .all(|e| { !e.unwrap().file_name().to_string_lossy().ends_with(".json") }),
        "no checkpoint of stdin"
    );

    // Without --size (or --name), nothing is read or sent.
    for (args, needs) in [
        (vec!["-", "--name", "x"], "needs --size"),
        (vec!["-", "--size", "5"], "needs --name"),
    ] {
        let out = upload(&emu, dir.path(), &args, b"hello");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(needs), "{}", stderr(&out));
    }

    // Stdin shorter than --size: a typed failure, nothing registered.
    let out = upload(
        &emu,
        dir.path(),
        &["-", "--size", "1000", "--name", "short"],
        b"abc",
    );
    assert_eq!(out.status.code(), Some(1));
    let failed = &records(&out, "result")[0];
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(stderr(&out).contains("stdin:"), "{}", stderr(&out));
    assert_eq!(emu.files().len(), 1);
}

#[cfg(unix)]
#[test]
fn an_interrupted_stdin_upload_says_it_cannot_resume_and_leaves_nothing() {
    let emu = support::emulator(KEY, "chunk#2 stall=3s");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let bytes = data(4 * UNIT, 5);
    let size = bytes.len().to_string();
    let mut child = support::resumable(KEY, &state)
        .current_dir(dir.path())
        .args(["upload", "-", "--size", &size, "--name", "s.bin"])
        .args([
            "--org",
            "org_1",
            "--api-url",
            emu.base_url(),
            "--chunk-size",
            "256KiB",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    feed(&mut child, bytes);
    support::wait_for("the stalled chunk", None, || emu.stats().held > 0);
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("stdin is read once, so its upload cannot resume"),
        "{err}"
    );
    assert!(!err.contains("checkpoints are kept;"), "{err}");
    let status = support::resumable(KEY, &state)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(status.stdout.is_empty(), "nothing waits to resume");
    assert!(emu.files().is_empty());
}

#[test]
fn name_sets_the_registered_filename_of_one_file() {
    let emu = support::emulator(KEY, "");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.bin"), b"alpha").unwrap();
    std::fs::write(dir.path().join("b.bin"), b"beta").unwrap();
    let out = upload(&emu, dir.path(), &["a.bin", "--name", "renamed.bin"], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        registered(&emu),
        [("renamed.bin".to_owned(), b"alpha".to_vec())]
    );
    let out = upload(&emu, dir.path(), &["a.bin", "b.bin", "--name", "x"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--name names one file, and 2 are to be uploaded"));
}

#[test]
fn dry_run_lists_upload_skip_resume_and_register_and_sends_nothing() {
    let emu = support::emulator(KEY, "");
    let dir = tempfile::tempdir().unwrap();
    for (name, len) in [
        ("done.bin", 10),
        ("new.bin", 20),
        ("part.bin", 4 * UNIT),
        ("full.bin", UNIT),
    ] {
        std::fs::write(dir.path().join(name), data(len, len as u32)).unwrap();
    }
    // done.bin uploaded; part.bin cut off after its first chunk; full.bin
    // stored in full with its register refused.
    assert!(
        upload(&emu, dir.path(), &["done.bin"], b"")
            .status
            .success()
    );
    emu.add_faults("chunk#2 status=503").unwrap();
    let out = upload(
        &emu,
        dir.path(),
        &["part.bin", "--chunk-size", "256KiB", "--retries", "0"],
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    emu.clear_faults();
    emu.add_faults("register#1 status=503").unwrap();
    let out = upload(&emu, dir.path(), &["full.bin", "--retries", "0"], b"");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    emu.clear_faults();
    emu.clear_request_log();

    let out = upload(
        &emu,
        dir.path(),
        &[
            "--dry-run",
            "done.bin",
            "new.bin",
            "part.bin",
            "full.bin",
            "missing.bin",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let plans: Vec<(String, String)> = records(&out, "plan")
        .iter()
        .map(|p| {
            (
                p["file"].as_str().unwrap().to_owned(),
                p["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("done.bin", "skip"),
        ("new.bin", "upload"),
        ("part.bin", "resume"),
        ("full.bin", "register"),
        ("missing.bin", "unreadable"),
    ];
    assert_eq!(
        plans,
        expected.map(|(f, a)| (f.to_owned(), a.to_owned())).to_vec()
    );
    assert_eq!(records(&out, "plan")[2]["resume_at"], UNIT);
    assert!(emu.request_log().is_empty(), "a dry run sends nothing");

    // The text form, without a key.
    let out = support::resumable("", &dir.path().join("state"))
        .current_dir(dir.path())
        .args([
            "upload",
            "--dry-run",
            "--org",
            "org_1",
            "--api-url",
            emu.base_url(),
        ])
        .args(["done.bin", "part.bin"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("done.bin as done.bin, 10 B: would skip it: uploaded before and unchanged"),
        "{text}"
    );
    assert!(text.contains("part.bin as part.bin, 1.00 MiB: would resume its upload (256.00 KiB of 1.00 MiB stored)"), "{text}");
    assert!(emu.request_log().is_empty());
}

#[test]
fn a_chunk_size_off_the_unit_is_rounded_and_said_so() {
    let emu = support::emulator(KEY, "");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.bin"), data(3 * UNIT, 6)).unwrap();
    let out = upload(&emu, dir.path(), &["f.bin", "--chunk-size", "300KiB"], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--chunk-size 300.00 KiB: not a multiple of 256.00 KiB, so chunks of 256.00 KiB are sent"),
        "{}",
        stderr(&out)
    );
    assert_eq!(records(&out, "session_started")[0]["chunk_size"], UNIT);
    let out = upload(
        &emu,
        dir.path(),
        &["f.bin", "--chunk-size", "512KiB", "--restart"],
        b"",
    );
    assert!(!stderr(&out).contains("not a multiple"), "{}", stderr(&out));
}
