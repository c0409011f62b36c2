//! The logs of an upload through a custom transport: an upload id equal to
//! the session's credential (as Cloud Storage sends) is never written out
//! (the engine redacts it; the driver logs what the engine hands out).
//! Alone in its binary: a scoped `tracing` subscriber races with tests on
//! other threads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use resumable_conformance::emulator::data;
use resumable_conformance::sim::{Fault, SimTransport, UNIT};
use resumable_core::SessionUrl;
use resumable_tokio::BytesSource;

/// The upload id the sim's server answers every request with.
const SIM_UPLOAD_ID: &str = "sim-upload-1";

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
    let sim = SimTransport::new().fault(2, Fault::Status(503, None));
    // A session whose credential is the id the server names the upload by.
    let url = format!("https://upload.sim/upload/o?name=obj&upload_id={SIM_UPLOAD_ID}");
    sim.open_session_at(&url, Some(UNIT + 1));
    sim.uploader()
        .upload_to_session(
            SessionUrl::new(&url),
            &mut BytesSource::new(data(UNIT + 1, 1)),
        )
        .await
        .unwrap();
    // Every answer named the upload by the credential: there was something
    // to redact.
    let exchanges = sim.exchanges();
    for e in &exchanges {
        let id = &e.answer.as_ref().unwrap().headers["x-guploader-uploadid"];
        assert_eq!(id, SIM_UPLOAD_ID, "{e:?}");
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying"), "{logs}");
    assert!(logs.contains("upload id"), "{logs}");
    assert!(!logs.contains(SIM_UPLOAD_ID), "{logs}");
    assert!(sim.object(&url).is_some());
    assert_eq!(sim.violations(), Vec::<String>::new());
}
