//! Secrets through the `resumable` binary: with `RUST_LOG=trace` and
//! `--json`, across every recovery path, a resume, `status` and `cancel`,
//! neither the API key nor a session's `upload_id` (raw, percent-encoded or
//! as the whole session URL) is printed; the key never reaches the upload
//! host; a `--header` credential of `http upload` and `cancel` is sent on every
//! request and neither printed nor written to a checkpoint; checkpoints are the owner's only; plain `http` off loopback is
//! refused unless `--allow-insecure-http`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use resumable_conformance::secrets as shared;

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use resumable_emulator::RequestKind;
use shared::{KEY, assert_clean, assert_key_stayed_home, builder, file, secrets};

/// The binary with the test key, its own state dir, and every log line
/// (`RUST_LOG` alone turns them on).
fn resumable(state: &Path) -> Command {
    let mut cmd = Command::from_std(support::resumable(KEY, state));
    cmd.env("RUST_LOG", "trace");
    cmd
}

fn upload(state: &Path, api_url: &str, file: &Path, extra: &[&str]) -> Output {
    resumable(state)
        .args(["--json", "upload", "--org", "org_1", "--api-url", api_url])
        .args(["--chunk-size", "256KiB"])
        .args(extra)
        .arg(file)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn trace_logs_json_and_status_never_print_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");

    // Every recovery path in one upload.
    let emu = builder(
        "upload-url#1 status=503; chunk#2 status=503; chunk#3 reset after=1KiB; \
         chunk#5 kill; final#1 drop-response; register#1 status=503",
    )
    .start_in_background()
    .unwrap();
    let (_file_dir, path) = file(6, "every-fault.bin");
    let out = upload(&state, emu.base_url(), &path, &[]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert_eq!(emu.sessions_created(), 2);
    assert!(
        shown.contains("DEBUG ureq::run: PUT http://127.0.0.1") && shown.contains("/******"),
        "ureq's lines are printed, with the path hidden:\n{shown}"
    );
    assert!(shown.contains("retrying"), "{shown}");
    assert_clean("`upload` output", &shown, &secrets(&emu));
    assert_key_stayed_home(&emu, &secrets(&emu));

    // A rejected chunk keeps the checkpoint; the next run resumes (status
    // query) and is rejected again; `status` lists it; `cancel` deletes it.
    let emu = builder("chunk#2 status=400; chunk#3 status=400")
        .start_in_background()
        .unwrap();
    let (_file_dir, path) = file(4, "kept.bin");
    let mut all = String::new();
    for _ in 0..2 {
        let out = upload(&state, emu.base_url(), &path, &[]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        all += &text(&out);
    }
    assert!(
        emu.request_log()
            .iter()
            .any(|r| r.kind == RequestKind::Query),
        "the second run resumed with a status query"
    );
    let secrets = secrets(&emu);
    let files: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("upload_id=")))
        .collect();
    assert_eq!(files.len(), 1, "one checkpoint holds the session URL");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&files[0]), 0o600, "{}", files[0].display());
        assert_eq!(mode(&state), 0o700);
    }
    for args in [&["status"][..], &["--json", "status"]] {
        let out = resumable(&state).args(args).output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("kept.bin"), "{}", text(&out));
        all += &text(&out);
    }
    let out = resumable(&state)
        .args(["--json", "cancel"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        emu.request_log()
            .iter()
            .any(|r| r.kind == RequestKind::Delete)
    );
    all += &text(&out);
    assert_clean("the output of upload, status, cancel", &all, &secrets);
    assert_key_stayed_home(&emu, &secrets);
}

#[test]
fn plain_http_off_loopback_is_refused_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (_file_dir, path) = file(1, "a.bin");

    // An API base off loopback.
    let out = upload(&state, "http://api.example", &path, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("refusing plain http to api.example")
            && text(&out).contains("--allow-insecure-http"),
        "{}",
        text(&out)
    );

    // A session URL off loopback, handed out by a loopback API.
    let emu = builder("")
        .upload_base_url("http://uploads.example:{port}")
        .start_in_background()
        .unwrap();
    let out = upload(&state, emu.base_url(), &path, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("refusing plain http to uploads.example"),
        "{}",
        text(&out)
    );
    assert!(
        emu.request_log()
            .iter()
            .all(|r| !r.kind.is_upload_endpoint())
    );
    assert_clean("`upload` output", &text(&out), &secrets(&emu));
}

/// `0.0.0.0` is not loopback by the https rule, but on Linux connecting to
/// it reaches the local host: a host off loopback that the test can serve.
#[cfg(target_os = "linux")]
#[test]
fn allow_insecure_http_lets_plain_http_off_loopback_through() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let emu = builder("")
        .upload_base_url("http://0.0.0.0:{port}")
        .start_in_background()
        .unwrap();
    let api = format!("http://0.0.0.0:{}", emu.addr().port());
    let (_file_dir, path) = file(2, "b.bin");
    let out = upload(&state, &api, &path, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("refusing plain http to 0.0.0.0"),
        "{}",
        text(&out)
    );
    assert!(emu.request_log().is_empty(), "nothing was sent");

    let out = upload(&state, &api, &path, &["--allow-insecure-http"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(emu.registrations(), 1);
    assert!(
        emu.request_log().iter().any(|r| r.kind.is_upload_endpoint()
            && r.host.as_deref().is_some_and(|h| h.starts_with("0.0.0.0"))),
        "the session on 0.0.0.0 was used: {:?}",
        emu.request_log()
    );
    assert_clean("`upload` output", &text(&out), &secrets(&emu));
    assert_key_stayed_home(&emu, &secrets(&emu));
}

/// A bearer token for the IETF draft's endpoint, with characters that
/// percent-encoding changes.
const TOKEN: &str = "tok/Cli+Bearer=5eed1e55";

#[test]
fn an_http_upload_header_credential_is_sent_and_never_printed_or_kept() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let emu = builder("ietf-patch#2 status=503; ietf-patch#3 reset")
        .start_in_background()
        .unwrap();
    let (_file_dir, path) = file(4, "bearer.bin");
    let run = || http_upload(&state, &emu.ietf_endpoint(), "1", &path);
    // The 503 takes the one retry; the reset ends the run with its
    // checkpoint kept, and the next run resumes.
    let first = run();
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    assert!(text(&first).contains("retrying"), "{}", text(&first));
    let mut all = text(&first);
    let mut kept = kept_files(&state);
    assert!(kept.contains("http"), "a checkpoint was kept: {kept}");
    let out = resumable(&state)
        .args(["--json", "status"])
        .output()
        .unwrap();
    assert!(text(&out).contains("bearer.bin"), "{}", text(&out));
    all += &text(&out);
    let again = run();
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("resuming"), "{}", text(&again));
    all += &text(&again);
    let log = emu.request_log();
    assert!(
        log.iter().any(|r| r.kind == RequestKind::IetfHead),
        "the second run resumed: {log:#?}"
    );
    assert!(log.iter().all(|r| r.authorization), "{log:#?}");
    let forms = shared::forms_of(TOKEN);

    // Another upload cut off, then cancelled with the credential.
    let emu2 = builder("ietf-patch#2 reset").start_in_background().unwrap();
    let (_file_dir2, path2) = file(3, "dropped.bin");
    let cut = http_upload(&state, &emu2.ietf_endpoint(), "0", &path2);
    assert_eq!(cut.status.code(), Some(1), "{}", text(&cut));
    all += &text(&cut);
    kept += &kept_files(&state);
    let out = resumable(&state)
        .args(["--json", "cancel", "--header"])
        .arg(format!("Authorization: Bearer {TOKEN}"))
        .arg(&path2)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    all += &text(&out);
    let log2 = emu2.request_log();
    assert!(
        log2.iter()
            .any(|r| r.kind == RequestKind::IetfCancel && r.authorization),
        "the DELETE carried the credential: {log2:#?}"
    );
    assert_clean("the output of upload, status and cancel", &all, &forms);
    assert_clean("the checkpoints", &kept, &forms);
}

/// `http upload` of `file` to `endpoint` in 256 KiB appends with
/// `retries`, the bearer token in `--header`.
fn http_upload(state: &Path, endpoint: &str, retries: &str, file: &Path) -> Output {
    resumable(state)
        .args(["--json", "http", "upload", "--endpoint", endpoint])
        .args(["--chunk-size", "256KiB", "--retries", retries])
        .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
        .arg(file)
        .output()
        .unwrap()
}

/// What every file under `state` holds, as text.
fn kept_files(state: &Path) -> String {
    walk(state)
        .into_iter()
        .map(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned())
        .collect()
}

/// Every file under `dir`, at any depth.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
