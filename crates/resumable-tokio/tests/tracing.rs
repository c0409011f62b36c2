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

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use resumable_core::{
    Action, Checkpoint, Chunking, Config, Error, Event, FileApi, RetryPolicy, Secret,
    TransportError, Upload,
};
use resumable_emulator::{Emulator, EmulatorBuilder, EmulatorHandle, RequestKind, Storage};
use resumable_tokio::{
    AsyncTransport, FileApiTarget, HyperTransport, MemoryCheckpointStore, RequestBody, UploadError,
    Uploader, checkpoint_key,
};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

/// A key with characters that percent-encoding changes.
const KEY: &str = "sk-Secret/Key+9f3a=c0ffee";
const UNIT: u64 = 256 * 1024;

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

fn builder(faults: &str) -> EmulatorBuilder {
    Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Memory)
        .faults(faults)
        .seed(3)
}

fn target(api_base: &str) -> FileApiTarget {
    FileApiTarget {
        api_base: api_base.to_owned(),
        organization: "org_1".into(),
        api_key: Secret::new(KEY),
        mime_type: None,
        filename: None,
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}

fn file(units: u64, name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let bytes: Vec<u8> = (0..units * UNIT).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The key, and every session's `upload_id` (raw and percent-encoded) and
/// URL, as the emulator issued them.
fn secrets(emu: &EmulatorHandle) -> Vec<String> {
    let mut out = vec![KEY.to_owned(), percent_encode(KEY)];
    for url in emu.session_urls() {
        let id = url.split("upload_id=").nth(1).unwrap().to_owned();
        assert!(id.len() > 16, "{url}");
        out.extend([percent_encode(&id), id, url]);
    }
    out
}

fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} holds {s:?}:\n{text}");
    }
}

/// Debug and pretty Debug of a value.
fn shown(value: &impl std::fmt::Debug) -> String {
    format!("{value:?}\n{value:#?}\n")
}

/// The file API got the key; no upload-endpoint request did; the request
/// log itself holds no secret.
fn assert_key_stayed_home(emu: &EmulatorHandle, secrets: &[String]) {
    let log = emu.request_log();
    assert!(
        log.iter()
            .any(|r| r.kind == RequestKind::UploadUrl && r.x_api_key)
    );
    for r in &log {
        if r.kind.is_upload_endpoint() {
            assert!(!r.x_api_key && !r.authorization, "{r:?}");
        }
    }
    assert_clean("the request log", &shown(&log), secrets);
}

fn kinds(emu: &EmulatorHandle) -> Vec<RequestKind> {
    emu.request_log().iter().map(|r| r.kind).collect()
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
    let session = checkpoint.session.clone().unwrap();
    debug += &shown(&session.upload_url);
    debug += &session.upload_url.to_string();

    // The core's values for this session: the configs, a resumed upload
    // and its status query, a fresh upload and its request with the key.
    let file_api = FileApi {
        api_base: emu2.base_url().to_owned(),
        organization: "org_1".into(),
        api_key: Secret::new(KEY),
        filename: "cancelled.bin".into(),
        mime_type: "application/octet-stream".into(),
    };
    let mut config = Config::file_api(file_api.clone(), 4 * UNIT);
    config.fingerprint = checkpoint.fingerprint;
    debug += &shown(&file_api);
    debug += &shown(&config);
    debug += &shown(&Config::gcs_session(session.upload_url.clone(), None));
    let now = Instant::now();
    let mut resumed =
        Upload::resume(config.clone(), checkpoint.clone(), now, SystemTime::now()).unwrap();
    let action = resumed.poll_action(now);
    assert!(matches!(&action, Action::Send(_)), "{action:?}");
    debug += &shown(&action);
    debug += &shown(&resumed);
    let mut fresh = Upload::new(config, now, SystemTime::now()).unwrap();
    let action = fresh.poll_action(now);
    let Action::Send(create) = &action else {
        panic!("{action:?}")
    };
    assert!(create.http.headers().contains_key("x-api-key"));
    debug += &shown(&action);
    debug += &shown(create);

    assert!(up2.cancel(&key2).await.unwrap());
    assert!(kinds(&emu2).contains(&RequestKind::Delete));
    assert!(kinds(&emu2).contains(&RequestKind::Query));
    let secrets2 = secrets(&emu2);
    assert_key_stayed_home(&emu2, &secrets2);
    all_secrets.extend(secrets2);

    plain_http_off_loopback_is_refused_unless_allowed().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
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
