//! The retry and timeout options take effect: `--retries`, `--retry-for`,
//! `--stall-timeout` and their environment variables, against an emulator
//! with scripted faults.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Output;

use resumable_emulator::{EmulatorHandle, RequestKind};
use serde_json::Value;

const KEY: &str = "test-key";

fn emulator(faults: &str) -> EmulatorHandle {
    support::emulator(KEY, faults)
}

/// `resumable upload --json` of a 1 MiB file to `emu` with `extra` options
/// and `env` set.
fn upload(emu: &EmulatorHandle, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.bin"), vec![9u8; 1 << 20]).unwrap();
    let mut cmd = support::resumable(KEY, &dir.path().join("state"));
    cmd.current_dir(dir.path())
        .args(["upload", "f.bin", "--json", "--chunk-size", "256KiB"])
        .args(["--org", "org_1", "--api-url", emu.base_url()])
        .args(extra);
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().unwrap()
}

fn records(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn of_type<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == kind).collect()
}

/// The one result, failed with `kind`; its message.
fn failed_with(out: &Output, kind: &str) -> String {
    let records = records(out);
    let results = of_type(&records, "result");
    assert_eq!(results.len(), 1, "{records:?}");
    assert_eq!(results[0]["status"], "failed", "{}", results[0]);
    assert_eq!(results[0]["kind"], kind, "{}", results[0]);
    assert_eq!(out.status.code(), Some(1));
    results[0]["error"].as_str().unwrap().to_owned()
}

fn chunks(emu: &EmulatorHandle) -> usize {
    emu.request_log()
        .iter()
        .filter(|r| r.kind == RequestKind::Chunk)
        .count()
}

#[test]
fn retries_0_gives_up_at_the_first_failure() {
    let emu = emulator("chunk#1 status=503");
    let out = upload(&emu, &["--retries", "0"], &[]);
    let error = failed_with(&out, "gave_up");
    assert!(error.contains("gave up after 1 failed attempts"), "{error}");
    assert!(error.contains("status 503"), "{error}");
    assert!(of_type(&records(&out), "retrying").is_empty());
    assert_eq!(chunks(&emu), 1, "{:?}", emu.request_log());

    // The default retries the same fault and succeeds.
    let emu = emulator("chunk#1 status=503");
    let out = upload(&emu, &[], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(of_type(&records(&out), "retrying").len(), 1);
}

#[test]
fn resumable_retries_sets_the_count_and_the_option_wins() {
    let emu = emulator("chunk#1- status=503");
    let out = upload(&emu, &[], &[("RESUMABLE_RETRIES", "2")]);
    let error = failed_with(&out, "gave_up");
    assert!(error.contains("gave up after 3 failed attempts"), "{error}");
    assert_eq!(of_type(&records(&out), "retrying").len(), 2);

    let emu = emulator("chunk#1- status=503");
    let out = upload(&emu, &["--retries", "1"], &[("RESUMABLE_RETRIES", "2")]);
    let error = failed_with(&out, "gave_up");
    assert!(error.contains("gave up after 2 failed attempts"), "{error}");
}

#[test]
fn retry_for_ends_a_wait_past_the_budget() {
    // A Retry-After of 30 s would end past a 2 s budget: no wait begins.
    let emu = emulator("chunk#1 status=503 retry-after=30");
    let out = upload(&emu, &["--retry-for", "2s"], &[]);
    let error = failed_with(&out, "gave_up");
    assert!(error.contains("gave up after 1 failed attempts"), "{error}");
    assert!(of_type(&records(&out), "retrying").is_empty());

    let emu = emulator("chunk#1 status=503 retry-after=30");
    let out = upload(&emu, &[], &[("RESUMABLE_RETRY_FOR", "1s")]);
    failed_with(&out, "gave_up");
}

#[test]
fn stall_timeout_fails_a_request_no_byte_moves_in() {
    let emu = emulator("chunk#1 stall=10s");
    let out = upload(&emu, &["--stall-timeout", "500ms", "--retries", "0"], &[]);
    let error = failed_with(&out, "gave_up");
    assert!(error.contains("did not answer in time"), "{error}");

    let emu = emulator("chunk#1 stall=10s");
    let out = upload(
        &emu,
        &["--retries", "0"],
        &[("RESUMABLE_STALL_TIMEOUT", "0.5")],
    );
    failed_with(&out, "gave_up");
}

#[test]
fn durations_that_do_not_parse_are_usage_errors() {
    let emu = emulator("");
    for (option, value) in [
        ("--retry-for", "soon"),
        ("--connect-timeout", "-5s"),
        ("--stall-timeout", "5 parsecs"),
    ] {
        let out = upload(&emu, &[&format!("{option}={value}")], &[]);
        assert_eq!(out.status.code(), Some(2), "{option} {value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(option) && stderr.contains("90s, 5m"),
            "{stderr}"
        );
    }
    let out = upload(&emu, &["--retries", "many"], &[]);
    assert_eq!(out.status.code(), Some(2));
}
