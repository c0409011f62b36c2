//! What the driver logs: progress, retries and the server's upload id, but
//! never the API key or the session URL's `upload_id`. Alone in its binary:
//! a scoped `tracing` subscriber races with tests on other threads.

#![cfg(feature = "hyper")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use resumable_core::{Chunking, Error, RetryPolicy, Secret};
use resumable_emulator::{Emulator, Storage};
use resumable_tokio::{
    FileApiTarget, MemoryCheckpointStore, UploadError, Uploader, checkpoint_key,
};
use tracing_subscriber::fmt::MakeWriter;

/// Collects everything logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn logs_never_hold_the_api_key_or_the_upload_id() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let key = "sk-very-secret-key-123";
    let emu = Emulator::builder()
        .api_key(key)
        .storage(Storage::Memory)
        .faults("chunk#2 status=503; chunk#3 reset after=1KiB; chunk#5 status=400")
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logged.bin");
    std::fs::write(&path, vec![7u8; 6 * 256 * 1024]).unwrap();
    let store = MemoryCheckpointStore::new();
    let mut up = Uploader::new()
        .chunking(Chunking::Fixed(256 * 1024))
        .retry(RetryPolicy {
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        })
        .checkpoint_store(store.clone());
    let api = FileApiTarget {
        api_base: emu.base_url().into(),
        organization: "org_1".into(),
        api_key: Secret::new(key),
        mime_type: None,
        filename: None,
    };
    let err = up.upload_file(&api, &path).await.unwrap_err();
    assert!(
        matches!(
            err,
            UploadError::Upload(Error::Rejected { status: 400, .. })
        ),
        "{err}"
    );

    // The session URL's credential, from the checkpoint kept to resume.
    let key_of_upload = checkpoint_key(&api, &path);
    let checkpoint = store.get(&key_of_upload).unwrap();
    let url = checkpoint.session.unwrap().upload_url;
    let upload_id = url.expose().split("upload_id=").nth(1).unwrap().to_owned();
    assert!(upload_id.len() > 8, "{upload_id}");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying"), "{logs}");
    assert!(logs.contains("persisted"), "{logs}");
    assert!(
        logs.contains("upload_id="),
        "the server's X-GUploader-UploadID is logged"
    );
    assert!(!logs.contains(key), "the API key leaked:\n{logs}");
    assert!(
        !logs.contains(&upload_id),
        "the session's upload_id leaked:\n{logs}"
    );
    for shown in [
        format!("{err}"),
        format!("{err:?}"),
        format!("{up:?}"),
        format!("{api:?}"),
    ] {
        assert!(
            !shown.contains(key) && !shown.contains(&upload_id),
            "{shown}"
        );
    }
}
