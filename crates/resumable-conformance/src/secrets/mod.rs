//! Secrets kept out of sight: what the secrets tests of the drivers and the
//! CLI share (the emulator and its key, the files, the captured logs, the
//! strings that must never show, and the searches for them), and the
//! catalogue both drivers run: no secret in any log line, `Debug` output,
//! error or request to the upload host ([`logs`](mod@logs)), an upload
//! header credential on the IETF draft's uploads ([`ietf`]), and plain
//! `http` refused off loopback ([`plain_http`]).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod ietf;
pub mod logs;
pub mod plain_http;

pub use ietf::*;
pub use logs::*;
pub use plain_http::*;

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use resumable_core::{Action, Checkpoint, Config, FileApi, RetryPolicy, Secret, Upload};
use resumable_emulator::{Emulator, EmulatorBuilder, EmulatorHandle, RequestKind, Storage};
use resumable_local::FileApiTarget;
use tracing_subscriber::fmt::MakeWriter;

/// A key with characters that percent-encoding changes.
pub const KEY: &str = "sk-Secret/Key+9f3a=c0ffee";
/// The chunk size of the uploads.
pub const UNIT: u64 = 256 * 1024;

/// Everything logged, from every level and target.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

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

impl Captured {
    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The one capture of this process's logs, from every thread, level and
/// target: a global subscriber, installed at the first call (the drivers
/// log on runtime and caller threads alike, and ureq through the `log`
/// crate, which only a global subscriber receives). ureq is kept at DEBUG,
/// as the CLI keeps it: its TRACE output dumps raw requests. Each test that
/// searches the logs calls it before anything else.
pub fn captured_logs() -> &'static Captured {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::fmt::format::FmtSpan;
    use tracing_subscriber::util::SubscriberInitExt as _;
    static LOGS: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("trace,ureq=debug,ureq_proto=debug"))
            .with_span_events(FmtSpan::FULL)
            .with_writer(captured.clone())
            .with_ansi(false)
            .finish()
            .try_init()
            .expect("the only subscriber of this test binary");
        captured
    })
}

/// An emulator with the key, in memory, with these faults.
pub fn builder(faults: &str) -> EmulatorBuilder {
    Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Memory)
        .faults(faults)
        .seed(11)
}

/// The file API at `api_base`, with the key.
pub fn target(api_base: &str) -> FileApiTarget {
    FileApiTarget::new(api_base, "org_1", Secret::new(KEY))
}

/// Retries without waiting long.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        max_elapsed: Duration::from_secs(60),
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

/// A file of `units` chunks named `name`, in a directory of its own.
pub fn file(units: u64, name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let bytes: Vec<u8> = (0..units * UNIT).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// Everything but the unreserved characters of RFC 3986.
const ENCODED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, ENCODED).to_string()
}

/// A credential as it must never show: raw and percent-encoded.
pub fn forms_of(secret: &str) -> Vec<String> {
    vec![secret.to_owned(), percent_encode(secret)]
}

/// The strings that must not show: the key and each session's `upload_id`,
/// raw and percent-encoded, and each whole session URL.
pub fn secrets_of<S: AsRef<str>>(urls: impl IntoIterator<Item = S>) -> Vec<String> {
    let mut out = vec![KEY.to_owned(), percent_encode(KEY)];
    for url in urls {
        let full = url.as_ref();
        // Any parameter naming an id: `upload%5Fid` as well as `upload_id`.
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

/// [`secrets_of`] every session the emulator issued; there is one at least.
pub fn secrets(emu: &EmulatorHandle) -> Vec<String> {
    let urls = emu.session_urls();
    assert!(!urls.is_empty());
    secrets_of(urls)
}

/// Fails if `text` holds any of `secrets`.
pub fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} holds {s:?}:\n{text}");
    }
}

/// Debug and pretty Debug of a value.
pub fn shown(value: &impl std::fmt::Debug) -> String {
    format!("{value:?}\n{value:#?}\n")
}

/// The file API got the key, and see [`assert_upload_host_got_no_key`].
pub fn assert_key_stayed_home(emu: &EmulatorHandle, secrets: &[String]) {
    assert!(
        emu.request_log()
            .iter()
            .any(|r| r.kind == RequestKind::UploadUrl && r.x_api_key),
        "the file API got the key"
    );
    assert_upload_host_got_no_key(emu, secrets);
}

/// The upload endpoint was asked, no request to it carried the key, and the
/// request log itself holds no secret.
pub fn assert_upload_host_got_no_key(emu: &EmulatorHandle, secrets: &[String]) {
    let log = emu.request_log();
    assert!(log.iter().any(|r| r.kind.is_upload_endpoint()), "{log:?}");
    for r in &log {
        if r.kind.is_upload_endpoint() {
            assert!(!r.x_api_key && !r.authorization, "{r:?}");
        }
    }
    assert_clean("the request log", &shown(&log), secrets);
}

/// The kinds of the requests the emulator got, in order.
pub fn kinds(emu: &EmulatorHandle) -> Vec<RequestKind> {
    emu.request_log().iter().map(|r| r.kind).collect()
}

/// The Debug output of the core's own values for the checkpointed upload of
/// `filename` (`size` bytes) to the file API at `api_base`: the configs, a
/// resumed upload and the status query it starts with, a fresh upload and
/// its request carrying the key.
pub fn core_values_shown(
    api_base: &str,
    filename: &str,
    size: u64,
    checkpoint: &Checkpoint,
) -> String {
    let mut debug = String::new();
    let session = checkpoint.session.clone().expect("a session to resume");
    let file_api = FileApi {
        api_base: api_base.to_owned(),
        organization: "org_1".into(),
        api_key: Secret::new(KEY),
        filename: filename.into(),
        mime_type: "application/octet-stream".into(),
    };
    let mut config = Config::file_api(file_api.clone(), size);
    config.fingerprint = checkpoint.fingerprint;
    // The source is not at hand here: straight to the status query.
    config.verify_resumed_prefix = false;
    debug += &shown(&file_api);
    debug += &shown(&config);
    debug += &shown(&Config::gcs_session(session.upload_url, Some(size)));
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
    debug += &shown(create);
    debug += &shown(&fresh);
    debug
}
