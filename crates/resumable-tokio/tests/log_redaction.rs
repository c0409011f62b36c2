//! The logs of an upload through a custom transport: an upload id equal to
//! the session's credential (as Cloud Storage sends) is never written out
//! (the engine redacts it; the driver logs what the engine hands out).
//! Alone in its binary: a scoped `tracing` subscriber races with tests on
//! other threads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use resumable_core::SessionUrl;
use resumable_tokio::BytesSource;

#[path = "support/mock.rs"]
mod mock;

use mock::{Fault, K256, Mock, SESSION, data, uploader};

#[tokio::test]
async fn an_upload_id_equal_to_the_session_credential_is_not_logged() {
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mock = Mock::with_faults(&[(2, Fault::Status(503))]);
    uploader(&mock)
        .upload_to_session(
            SessionUrl::new(SESSION),
            &mut BytesSource::new(data(K256 + 1)),
        )
        .await
        .unwrap();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying"), "{logs}");
    assert!(logs.contains("upload id"), "{logs}");
    assert!(!logs.contains("SECRETID"), "{logs}");
}
