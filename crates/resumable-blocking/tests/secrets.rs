//! Secrets through the blocking driver: the API key never reaches the upload
//! host; neither the key nor a session's `upload_id` (raw, percent-encoded,
//! or as the whole session URL) shows in logs at any level or in `Debug`
//! output; plain `http` off loopback is refused unless allowed.
//!
//! The logs are captured by a global subscriber (the driver logs on the
//! caller's thread, but ureq logs through the `log` crate, which only a
//! global subscriber receives), so these tests have a binary of their own.
//! ureq is kept at DEBUG, as the CLI keeps it: its TRACE output dumps raw
//! requests (see the crate docs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use resumable_blocking::{
    BytesSource, CheckpointStore, FileApiTarget, MemoryCheckpointStore, RequestBody, Transport,
    TransportError, UploadError, Uploader, UreqTransport, checkpoint_key,
};
use resumable_core::{
    Action, Checkpoint, Chunking, Config, Error, Event, FileApi, RetryPolicy, Secret, SessionUrl,
    Upload,
};
use resumable_emulator::{Emulator, EmulatorBuilder, EmulatorHandle, RequestKind, Storage};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

/// A key with characters that percent-encoding changes.
const KEY: &str = "sk-Secret/Key+9f3a=c0ffee";
const UNIT: u64 = 256 * 1024;

/// Everything logged by this binary, from every level and target.
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

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("trace,ureq=debug,ureq_proto=debug"))
            .with_span_events(FmtSpan::FULL)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish()
            .try_init()
            .expect("the only subscriber of this binary");
        captured
    })
}

/// A store that keeps every checkpoint saved, to learn each session URL.
#[derive(Clone, Default)]
struct Recording {
    inner: MemoryCheckpointStore,
    saved: Arc<Mutex<Vec<Checkpoint>>>,
}

impl Recording {
    fn session_urls(&self) -> Vec<SessionUrl> {
        let mut urls: Vec<SessionUrl> = Vec::new();
        for cp in self.saved.lock().unwrap().iter() {
            if let Some(s) = &cp.session
                && !urls.contains(&s.upload_url)
            {
                urls.push(s.upload_url.clone());
            }
        }
        urls
    }
}

impl CheckpointStore for Recording {
    fn load(&mut self, key: &str) -> io::Result<Option<Checkpoint>> {
        self.inner.load(key)
    }

    fn save(&mut self, key: &str, checkpoint: &Checkpoint) -> io::Result<()> {
        self.saved.lock().unwrap().push(checkpoint.clone());
        self.inner.save(key, checkpoint)
    }

    fn remove(&mut self, key: &str) -> io::Result<()> {
        self.inner.remove(key)
    }
}

/// Sends every request to the emulator whatever host it names, and notes
/// the host named: lets a test use hosts that are not loopback.
struct Routing {
    inner: UreqTransport,
    to: std::net::SocketAddr,
    hosts: Arc<Mutex<Vec<String>>>,
}

impl Routing {
    fn to(emu: &EmulatorHandle) -> (Self, Arc<Mutex<Vec<String>>>) {
        let hosts = Arc::default();
        let routing = Routing {
            inner: UreqTransport::default(),
            to: emu.addr(),
            hosts: Arc::clone(&hosts),
        };
        (routing, hosts)
    }
}

impl Transport for Routing {
    fn send(
        &mut self,
        request: http::Request<RequestBody<'_>>,
    ) -> Result<http::Response<bytes::Bytes>, TransportError> {
        let (mut parts, body) = request.into_parts();
        self.hosts
            .lock()
            .unwrap()
            .push(parts.uri.host().unwrap_or_default().to_owned());
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = format!("http://{}{path}", self.to).parse().unwrap();
        self.inner.send(http::Request::from_parts(parts, body))
    }
}

fn builder(faults: &str) -> EmulatorBuilder {
    Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Memory)
        .faults(faults)
        .seed(11)
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
        max_attempts: 8,
        max_elapsed: Duration::from_secs(60),
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

fn uploader<T: Transport>(transport: T) -> Uploader<T> {
    Uploader::with_transport(transport)
        .chunking(Chunking::Fixed(UNIT))
        .retry(fast_retries())
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

/// The strings that must not show: the key and each session's `upload_id`,
/// raw and percent-encoded, and each whole session URL.
fn secrets(urls: &[SessionUrl]) -> Vec<String> {
    let mut out = vec![KEY.to_owned(), percent_encode(KEY)];
    for url in urls {
        let full = url.expose();
        let id = full
            .split(['?', '&'])
            .find_map(|p| p.split_once('=').filter(|(k, _)| k.contains("id")))
            .map(|(_, v)| v.to_owned())
            .expect("the session URL has an upload_id");
        assert!(id.len() > 16, "{full}");
        out.extend([id.clone(), percent_encode(&id), full.to_owned()]);
    }
    out
}

fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} holds {s:?}:\n{text}");
    }
}

/// Debug, pretty Debug (and Display where given) of a value.
fn shown(value: &impl std::fmt::Debug) -> String {
    format!("{value:?}\n{value:#?}")
}

/// No upload-endpoint request carried the key, and the log itself is clean.
fn assert_key_stayed_home(emu: &EmulatorHandle, secrets: &[String]) {
    let log = emu.request_log();
    assert!(
        log.iter()
            .any(|r| r.kind == RequestKind::UploadUrl && r.x_api_key),
        "the file API got the key"
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

#[test]
fn no_log_line_and_no_debug_output_holds_a_secret() {
    let logs = logs();
    let mut debug = String::new();

    // 1. Every recovery path of one upload: an API retry, chunk retries, a
    // reset (status query), a killed session (restart), a lost final
    // response (status query), a register retry.
    let emu = builder(
        "upload-url#1 status=503; chunk#2 status=503; chunk#3 reset after=1KiB; \
         chunk#5 kill; final#1 drop-response; register#1 status=503",
    )
    .start_in_background()
    .unwrap();
    let (_dir, path) = file(6, "every-fault.bin");
    let store = Recording::default();
    let events = Arc::new(Mutex::new(Vec::<Event>::new()));
    let seen = Arc::clone(&events);
    let api = target(emu.base_url());
    let mut up = uploader(UreqTransport::default())
        .checkpoint_store(store.clone())
        .on_event(move |e| seen.lock().unwrap().push(e.clone()));
    let outcome = up.upload_file(&api, &path).unwrap();
    assert_eq!(outcome.restarts, 1);
    assert_eq!(emu.sessions_created(), 2);
    let urls = store.session_urls();
    assert_eq!(urls.len(), 2, "both sessions were checkpointed");
    let kinds_seen = kinds(&emu);
    for kind in [
        RequestKind::Query,
        RequestKind::Final,
        RequestKind::Register,
    ] {
        assert!(kinds_seen.contains(&kind), "{kind:?} in {kinds_seen:?}");
    }
    let mut all_secrets = secrets(&urls);
    assert_key_stayed_home(&emu, &all_secrets);
    let events = events.lock().unwrap().clone();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::SessionRestarted { .. }))
    );
    assert!(events.iter().any(|e| matches!(e, Event::UploadId(_))));
    for e in &events {
        debug += &shown(e);
    }
    debug += &shown(&outcome);
    debug += &shown(&up);
    debug += &shown(&api);
    debug += &shown(&api.api_key);
    debug += &format!("{}", api.api_key);
    for cp in store.saved.lock().unwrap().iter() {
        debug += &shown(cp);
    }
    for url in &urls {
        debug += &shown(url);
        debug += &url.to_string();
    }

    // 2. A rejected chunk keeps the checkpoint; running again resumes
    // (status query first) and is rejected again; then cancel (DELETE).
    let emu2 = builder("chunk#2 status=400; chunk#3 status=400")
        .start_in_background()
        .unwrap();
    let (_dir2, path2) = file(4, "cancelled.bin");
    let store2 = Recording::default();
    let api2 = target(emu2.base_url());
    let key2 = checkpoint_key(&api2, &path2);
    let mut up2 = uploader(UreqTransport::default()).checkpoint_store(store2.clone());
    for _ in 0..2 {
        let err = up2.upload_file(&api2, &path2).unwrap_err();
        assert!(
            matches!(
                err,
                UploadError::Upload(Error::Rejected { status: 400, .. })
            ),
            "{err}"
        );
        debug += &format!("{err}\n");
        debug += &shown(&err);
        if let UploadError::Upload(inner) = &err {
            debug += &format!("{inner}\n");
            debug += &shown(inner);
        }
    }
    let checkpoint = store2.inner.get(&key2).expect("kept for a resume");
    debug += &shown(&checkpoint);
    let session = checkpoint.session.clone().unwrap();

    // The core's own values for this session: the configs, a resumed
    // upload and the request it asks for (a status query to the session
    // URL), a fresh file-API upload and its request carrying the key.
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
    let gcs_config = Config::gcs_session(session.upload_url.clone(), Some(4 * UNIT));
    debug += &shown(&gcs_config);
    let now = Instant::now();
    let mut resumed = Upload::resume(config.clone(), checkpoint.clone(), now, SystemTime::now())
        .expect("the checkpoint resumes");
    debug += &shown(&resumed);
    let action = resumed.poll_action(now);
    let Action::Send(query) = &action else {
        panic!("a resume starts with a status query: {action:?}")
    };
    assert!(query.http.uri().to_string().contains("upload_id="));
    debug += &shown(&action);
    debug += &shown(query);
    let mut fresh = Upload::new(config, now, SystemTime::now()).unwrap();
    let action = fresh.poll_action(now);
    let Action::Send(create) = &action else {
        panic!("a new upload asks for a session: {action:?}")
    };
    assert!(create.http.headers().contains_key("x-api-key"));
    debug += &shown(&action);
    debug += &shown(&fresh);

    assert!(up2.cancel(&key2).unwrap());
    assert!(kinds(&emu2).contains(&RequestKind::Delete));
    assert!(kinds(&emu2).contains(&RequestKind::Query));
    let urls2 = store2.session_urls();
    let secrets2 = secrets(&urls2);
    assert_key_stayed_home(&emu2, &secrets2);
    all_secrets.extend(secrets2);

    let text = logs.text();
    for expected in ["retrying", "session restarted", "persisted", "upload id"] {
        assert!(text.contains(expected), "{expected:?} is logged:\n{text}");
    }
    assert!(
        text.contains("/******"),
        "ureq's own lines are captured, with the path hidden:\n{text}"
    );
    assert_clean("the logs", &text, &all_secrets);
    assert_clean("Debug output", &debug, &all_secrets);
}

/// The emulator names the session by `upload%5Fid` as well as `upload_id`:
/// a session URL spelled so is redacted in logs, events and the emulator's
/// request log all the same.
#[test]
fn a_percent_encoded_upload_id_name_is_redacted_too() {
    let logs = logs();
    let emu = builder("chunk#1 status=503").start_in_background().unwrap();
    let body =
        r#"{"filename":"pct.bin","file_size":786432,"mime_type":"application/octet-stream"}"#;
    let mut answer = ureq::post(format!(
        "{}/v1/organizations/org_1/files/upload-url",
        emu.base_url()
    ))
    .header("X-API-Key", KEY)
    .header("Content-Type", "application/json")
    .send(body)
    .unwrap();
    let session: serde_json::Value =
        serde_json::from_str(&answer.body_mut().read_to_string().unwrap()).unwrap();
    let plain = session["upload_url"].as_str().unwrap().to_owned();
    let spelled = plain.replace("&upload_id=", "&upload%5Fid=");
    assert_ne!(plain, spelled);
    let url = SessionUrl::new(spelled);
    let events = Arc::new(Mutex::new(Vec::<Event>::new()));
    let seen = Arc::clone(&events);
    let mut up =
        uploader(UreqTransport::default()).on_event(move |e| seen.lock().unwrap().push(e.clone()));
    let data: Vec<u8> = (0..3 * UNIT).map(|i| (i % 13) as u8).collect();
    let outcome = up
        .upload_to_session(url.clone(), &mut BytesSource::new(data))
        .unwrap();
    assert_eq!(outcome.object.size, 3 * UNIT);
    let secrets = secrets(&[url.clone(), SessionUrl::new(plain)]);
    let log = emu.request_log();
    assert!(
        log.iter().any(|r| r.path.contains("upload%5Fid=REDACTED")),
        "{log:?}"
    );
    assert_key_stayed_home_of_session(&emu, &secrets);
    let mut debug = shown(&url) + &url.to_string() + &shown(&outcome);
    for e in events.lock().unwrap().iter() {
        debug += &shown(e);
    }
    assert_clean("Debug output", &debug, &secrets);
    assert_clean("the logs", &logs.text(), &secrets);
}

/// As [`assert_key_stayed_home`], for an upload that never called the API.
fn assert_key_stayed_home_of_session(emu: &EmulatorHandle, secrets: &[String]) {
    let log = emu.request_log();
    assert!(log.iter().any(|r| r.kind.is_upload_endpoint()));
    for r in &log {
        if r.kind.is_upload_endpoint() {
            assert!(!r.x_api_key && !r.authorization, "{r:?}");
        }
    }
    assert_clean("the request log", &shown(&log), secrets);
}

#[test]
fn plain_http_api_bases_off_loopback_are_refused_and_nothing_is_sent() {
    logs();
    let emu = builder("").start_in_background().unwrap();
    let (_dir, path) = file(1, "refused.bin");
    let port = emu.addr().port();
    for base in [
        format!("http://api.example:{port}"),
        format!("http://10.0.0.1:{port}"),
        format!("http://127.0.0.1.evil.example:{port}"),
        format!("http://localhost.example:{port}"),
        format!("http://[::2]:{port}"),
        format!("HTTP://api.example:{port}"),
    ] {
        let (routing, hosts) = Routing::to(&emu);
        let err = uploader(routing)
            .upload_file(&target(&base), &path)
            .unwrap_err();
        let UploadError::Insecure { host } = &err else {
            panic!("{base}: {err}")
        };
        assert!(
            base.to_ascii_lowercase()
                .contains(&host.to_ascii_lowercase()),
            "{host}"
        );
        assert!(hosts.lock().unwrap().is_empty(), "{base}: sent anyway");
        assert_clean("the error", &shown(&err), &secrets(&[]));
    }
    assert!(emu.request_log().is_empty());

    // Allowed explicitly, the same host is used.
    let (routing, hosts) = Routing::to(&emu);
    let outcome = uploader(routing)
        .allow_insecure_http(true)
        .upload_file(&target(&format!("http://api.example:{port}")), &path)
        .unwrap();
    assert!(outcome.file.is_some());
    let hosts = hosts.lock().unwrap();
    assert!(hosts.iter().any(|h| h == "api.example"), "{hosts:?}");
    assert!(
        hosts.iter().all(|h| h == "api.example" || h == "127.0.0.1"),
        "the API, and the session on the emulator: {hosts:?}"
    );
}

#[test]
fn a_plain_http_upload_url_off_loopback_is_refused_unless_allowed() {
    logs();
    let emu = builder("")
        .upload_base_url("http://uploads.example:{port}")
        .start_in_background()
        .unwrap();
    let (_dir, path) = file(2, "elsewhere.bin");
    let api = target(emu.base_url());
    let (routing, hosts) = Routing::to(&emu);
    let store = Recording::default();
    let err = uploader(routing)
        .checkpoint_store(store.clone())
        .upload_file(&api, &path)
        .unwrap_err();
    assert!(
        matches!(&err, UploadError::Insecure { host } if host == "uploads.example"),
        "{err}"
    );
    assert_eq!(
        *hosts.lock().unwrap(),
        ["127.0.0.1"],
        "only the API was asked"
    );
    assert!(
        emu.request_log()
            .iter()
            .all(|r| !r.kind.is_upload_endpoint())
    );
    let urls = store.session_urls();
    assert!(
        urls.iter()
            .all(|u| u.expose().starts_with("http://uploads.example:"))
    );
    assert_clean(
        "the error",
        &(shown(&err) + &err.to_string()),
        &secrets(&urls),
    );

    let (routing, hosts) = Routing::to(&emu);
    let outcome = uploader(routing)
        .allow_insecure_http(true)
        .upload_file(&api, &path)
        .unwrap();
    assert!(outcome.file.is_some());
    assert!(hosts.lock().unwrap().iter().any(|h| h == "uploads.example"));
    assert_eq!(emu.registrations(), 1);
}

#[test]
fn every_loopback_form_may_use_plain_http() {
    logs();
    for base in [
        "http://127.9.9.9:{port}",
        "http://[::1]:{port}",
        "http://localhost:{port}",
        "http://LocalHost:{port}",
    ] {
        let emu = builder("")
            .upload_base_url(base)
            .start_in_background()
            .unwrap();
        let (_dir, path) = file(1, "loopback.bin");
        let (routing, hosts) = Routing::to(&emu);
        let outcome = uploader(routing)
            .upload_file(&target(emu.base_url()), &path)
            .unwrap_or_else(|e| panic!("{base}: {e}"));
        assert!(outcome.file.is_some());
        assert!(
            hosts.lock().unwrap().len() >= 3,
            "upload-url, a chunk, register"
        );
    }
}
