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

use resumable_conformance::secrets as shared;

use std::io;
use std::sync::{Arc, Mutex, OnceLock};

use resumable_blocking::{
    BytesSource, CheckpointLock, CheckpointStore, LockError, RequestBody, Transport,
    TransportError, UploadError, Uploader, UreqTransport, checkpoint_key,
};
use resumable_core::{Checkpoint, Chunking, Error, Event, SessionUrl};
use resumable_emulator::{EmulatorHandle, RequestKind};
use resumable_testkit::MemoryCheckpointStore;
use shared::{
    Captured, KEY, UNIT, assert_clean, assert_key_stayed_home, assert_upload_host_got_no_key,
    builder, core_values_shown, fast_retries, file, kinds, secrets_of, shown, target,
};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("trace,ureq=debug,ureq_proto=debug"))
            .with_span_events(FmtSpan::FULL)
            .with_writer(captured.clone())
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

    fn lock(&mut self, key: &str) -> Result<CheckpointLock, LockError> {
        self.inner.lock(key)
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

fn uploader<T: Transport>(transport: T) -> Uploader<T> {
    Uploader::with_transport(transport)
        .chunking(Chunking::Fixed(UNIT))
        .retry(fast_retries())
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
    let mut all_secrets = secrets_of(urls.iter().map(SessionUrl::expose));
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
    debug += &core_values_shown(emu2.base_url(), "cancelled.bin", 4 * UNIT, &checkpoint);

    assert!(up2.cancel(&key2).unwrap());
    assert!(kinds(&emu2).contains(&RequestKind::Delete));
    assert!(kinds(&emu2).contains(&RequestKind::Query));
    let urls2 = store2.session_urls();
    let secrets2 = secrets_of(urls2.iter().map(SessionUrl::expose));
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
    let secrets = secrets_of([url.expose(), plain.as_str()]);
    let log = emu.request_log();
    assert!(
        log.iter().any(|r| r.path.contains("upload%5Fid=REDACTED")),
        "{log:?}"
    );
    assert_upload_host_got_no_key(&emu, &secrets);
    let mut debug = shown(&url) + &url.to_string() + &shown(&outcome);
    for e in events.lock().unwrap().iter() {
        debug += &shown(e);
    }
    assert_clean("Debug output", &debug, &secrets);
    assert_clean("the logs", &logs.text(), &secrets);
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
        assert_clean("the error", &shown(&err), &secrets_of::<&str>([]));
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
        &secrets_of(urls.iter().map(SessionUrl::expose)),
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
