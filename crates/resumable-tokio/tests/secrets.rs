//! Secrets through the async driver: the catalogue
//! `resumable_conformance::secrets` (no API key or session `upload_id` in
//! any log line, event, `Debug` output, error or request to the upload
//! host; plain `http` refused off loopback unless allowed), and what only
//! this driver logs: a span per upload, holding the server's upload id.
//!
//! The logs are captured by a global subscriber, so that every thread's
//! lines are caught (a scoped one races with tests on other threads: a
//! span's interest may be cached as "never" before it exists), and these
//! tests have a binary of their own.
#![cfg(feature = "hyper")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use resumable_conformance::drivers::Tokio;
use resumable_conformance::secrets::{assert_clean, builder, captured_logs, file, secrets, target};
use resumable_tokio::Uploader;

resumable_conformance::secrets_tests!(Tokio);

#[tokio::test]
async fn each_upload_logs_in_a_span_holding_the_servers_upload_id() {
    let logs = captured_logs();
    let emu = builder("").start().await.unwrap();
    let (_dir, path) = file(1, "span.bin");
    let outcome = Uploader::new()
        .upload_file(&target(emu.base_url()), &path)
        .await
        .unwrap();
    assert!(outcome.file.is_some());
    let text = logs.text();
    assert!(text.contains("upload{"), "the upload's span:\n{text}");
    assert!(
        text.contains("upload_id="),
        "the server's X-GUploader-UploadID is logged:\n{text}"
    );
    assert_clean("the logs", &text, &secrets(&emu));
}
