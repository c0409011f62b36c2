//! What the driver logs: progress, retries and the server's upload id, but
//! never the API key or a session's `upload_id` (raw, percent-encoded, or as
//! the whole session URL), at any level, spans and fields included; the
//! same for the `Debug` output of every value a user holds; the key never
//! reaches the upload host; plain `http` off loopback is refused unless
//! allowed. One test, alone in its binary: a scoped `tracing` subscriber
//! races with tests on other threads (a span's interest may be cached as
//! "never" before the subscriber exists).

#![cfg(feature = "hyper")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use resumable_conformance::secrets as shared;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use resumable_core::{Checkpoint, Chunking, Error, Event, TransportError};
use resumable_emulator::{EmulatorHandle, RequestKind};
use resumable_testkit::MemoryCheckpointStore;
use resumable_tokio::{
    AsyncTransport, HyperTransport, RequestBody, UploadError, Uploader, checkpoint_key,
};
use shared::{
    Captured, UNIT, assert_clean, assert_key_stayed_home, builder, core_values_shown, fast_retries,
    file, kinds, secrets, shown, target,
};
use tracing_subscriber::fmt::format::FmtSpan;

/// Sends every request to the emulator whatever host it names, and notes
/// the host named: lets a test use hosts that are not loopback.
struct Routing {
    inner: HyperTransport,
    to: SocketAddr,
    hosts: Arc<Mutex<Vec<String>>>,
}

impl Routing {
    fn to(emu: &EmulatorHandle) -> (Self, Arc<Mutex<Vec<String>>>) {
        let hosts = Arc::default();
        let routing = Routing {
            inner: HyperTransport::new(Duration::from_secs(5)).unwrap(),
            to: emu.addr(),
            hosts: Arc::clone(&hosts),
        };
        (routing, hosts)
    }
}

impl AsyncTransport for Routing {
    fn send(
        &mut self,
        request: http::Request<RequestBody>,
    ) -> impl Future<Output = Result<http::Response<bytes::Bytes>, TransportError>> + Send {
        let (mut parts, body) = request.into_parts();
        self.hosts
            .lock()
            .unwrap()
            .push(parts.uri.host().unwrap_or_default().to_owned());
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = format!("http://{}{path}", self.to).parse().unwrap();
        parts.headers.remove(http::header::HOST);
        self.inner.send(http::Request::from_parts(parts, body))
    }
}

#[tokio::test]
async fn logs_never_hold_the_api_key_or_the_upload_id() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::FULL)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut debug = String::new();

    // 1. Every recovery path of one upload: an API retry, chunk retries, a
    // reset (status query), a killed session (restart), a lost final
    // response (status query), a register retry.
    let emu = builder(
        "upload-url#1 status=503; chunk#2 status=503; chunk#3 reset after=1KiB; \
         chunk#5 kill; final#1 drop-response; register#1 status=503",
    )
    .start()
    .await
    .unwrap();
    let (_dir, path) = file(6, "every-fault.bin");
    let events = Arc::new(Mutex::new(Vec::<Event>::new()));
    let seen = Arc::clone(&events);
    let api = target(emu.base_url());
    let mut up = Uploader::new()
        .chunking(Chunking::Fixed(UNIT))
        .retry(fast_retries())
        .checkpoint_store(MemoryCheckpointStore::new())
        .on_event(move |e| seen.lock().unwrap().push(e.clone()));
    let outcome = up.upload_file(&api, &path).await.unwrap();
    assert_eq!(outcome.restarts, 1);
    assert_eq!(emu.session_urls().len(), 2);
    for kind in [
        RequestKind::Query,
        RequestKind::Final,
        RequestKind::Register,
    ] {
        assert!(kinds(&emu).contains(&kind), "{kind:?}");
    }
    let mut all_secrets = secrets(&emu);
    assert_key_stayed_home(&emu, &all_secrets);
    let events = events.lock().unwrap().clone();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::SessionRestarted { .. }))
    );
    for e in &events {
        debug += &shown(e);
    }
    debug += &shown(&outcome);
    debug += &shown(&up);
    debug += &shown(&api);
    debug += &format!("{}", api.api_key);

    // 2. A rejected chunk keeps the checkpoint; running again resumes
    // (status query first) and is rejected again; then cancel (DELETE).
    let emu2 = builder("chunk#2 status=400; chunk#3 status=400")
        .start()
        .await
        .unwrap();
    let (_dir2, path2) = file(4, "cancelled.bin");
    let store = MemoryCheckpointStore::new();
    let api2 = target(emu2.base_url());
    let key2 = checkpoint_key(&api2, &path2);
    let mut up2 = Uploader::new()
        .chunking(Chunking::Fixed(UNIT))
        .retry(fast_retries())
        .checkpoint_store(store.clone());
    for _ in 0..2 {
        let err = up2.upload_file(&api2, &path2).await.unwrap_err();
        assert!(
            matches!(
                err,
                UploadError::Upload(Error::Rejected { status: 400, .. })
            ),
            "{err}"
        );
        debug += &format!("{err}\n");
        debug += &shown(&err);
    }
    let checkpoint: Checkpoint = store.get(&key2).expect("kept for a resume");
    debug += &shown(&checkpoint);
    let session_url = &checkpoint.session.as_ref().unwrap().upload_url;
    debug += &shown(session_url);
    debug += &session_url.to_string();
    debug += &core_values_shown(emu2.base_url(), "cancelled.bin", 4 * UNIT, &checkpoint);

    assert!(up2.cancel(&key2).await.unwrap());
    assert!(kinds(&emu2).contains(&RequestKind::Delete));
    assert!(kinds(&emu2).contains(&RequestKind::Query));
    let secrets2 = secrets(&emu2);
    assert_key_stayed_home(&emu2, &secrets2);
    all_secrets.extend(secrets2);

    plain_http_off_loopback_is_refused_unless_allowed().await;

    let logs = captured.text();
    for expected in ["retrying", "persisted", "session gone", "upload{"] {
        assert!(logs.contains(expected), "{expected:?} is logged:\n{logs}");
    }
    assert!(
        logs.contains("upload_id="),
        "the server's X-GUploader-UploadID is logged"
    );
    assert_clean("the logs", &logs, &all_secrets);
    assert_clean("Debug output", &debug, &all_secrets);
}

/// Part of the one test of this binary (see the crate comment).
async fn plain_http_off_loopback_is_refused_unless_allowed() {
    // API bases off loopback: refused before anything is sent.
    let emu = builder("").start().await.unwrap();
    let (_dir, path) = file(1, "refused.bin");
    let port = emu.addr().port();
    for base in [
        format!("http://api.example:{port}"),
        format!("http://10.0.0.1:{port}"),
        format!("http://127.0.0.1.evil.example:{port}"),
        format!("http://[::2]:{port}"),
    ] {
        let (routing, hosts) = Routing::to(&emu);
        let err = Uploader::with_transport(routing)
            .upload_file(&target(&base), &path)
            .await
            .unwrap_err();
        assert!(matches!(err, UploadError::Insecure { .. }), "{base}: {err}");
        assert!(hosts.lock().unwrap().is_empty(), "{base}: sent anyway");
    }
    assert!(emu.request_log().is_empty());

    // A session URL off loopback from a loopback API: refused, nothing sent
    // to it; allowed explicitly, it is used.
    let emu = builder("")
        .upload_base_url("http://uploads.example:{port}")
        .start()
        .await
        .unwrap();
    let api = target(emu.base_url());
    let (routing, hosts) = Routing::to(&emu);
    let err = Uploader::with_transport(routing)
        .upload_file(&api, &path)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, UploadError::Insecure { host } if host == "uploads.example"),
        "{err}"
    );
    assert_eq!(*hosts.lock().unwrap(), ["127.0.0.1"]);
    assert!(
        emu.request_log()
            .iter()
            .all(|r| !r.kind.is_upload_endpoint())
    );
    assert_clean(
        "the error",
        &(shown(&err) + &err.to_string()),
        &secrets(&emu),
    );
    let (routing, hosts) = Routing::to(&emu);
    let outcome = Uploader::with_transport(routing)
        .allow_insecure_http(true)
        .upload_file(&api, &path)
        .await
        .unwrap();
    assert!(outcome.file.is_some());
    assert!(hosts.lock().unwrap().iter().any(|h| h == "uploads.example"));

    // Every loopback form may use plain http without being allowed.
    for base in [
        "http://127.9.9.9:{port}",
        "http://[::1]:{port}",
        "http://localhost:{port}",
    ] {
        let emu = builder("").upload_base_url(base).start().await.unwrap();
        let (routing, _) = Routing::to(&emu);
        let outcome = Uploader::with_transport(routing)
            .upload_file(&target(emu.base_url()), &path)
            .await
            .unwrap_or_else(|e| panic!("{base}: {e}"));
        assert!(outcome.file.is_some());
    }
}
