//! Secrets through the blocking driver: the catalogue
//! `resumable_conformance::secrets` (no API key or session `upload_id` in
//! any log line, event, `Debug` output, error or request to the upload
//! host; plain `http` refused off loopback unless allowed), and what only
//! this driver logs: ureq's own lines, with the request path hidden.
//!
//! The logs are captured by a global subscriber (ureq logs through the
//! `log` crate, which only a global subscriber receives), so these tests
//! have a binary of their own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use resumable_blocking::Uploader;
use resumable_conformance::drivers::Blocking;
use resumable_conformance::secrets::{assert_clean, builder, captured_logs, file, secrets, target};

resumable_conformance::secrets_tests!(Blocking);

#[test]
fn ureqs_own_log_lines_are_captured_with_the_path_hidden() {
    let logs = captured_logs();
    let emu = builder("").start_in_background().unwrap();
    let (_dir, path) = file(1, "ureq.bin");
    let outcome = Uploader::new()
        .upload_file(&target(emu.base_url()), &path)
        .unwrap();
    assert!(outcome.file.is_some());
    let text = logs.text();
    assert!(text.contains("ureq"), "ureq's lines are captured:\n{text}");
    assert!(text.contains("/******"), "with the path hidden:\n{text}");
    assert_clean("the logs", &text, &secrets(&emu));
}
