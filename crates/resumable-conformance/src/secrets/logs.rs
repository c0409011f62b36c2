//! No secret in any log line, event, `Debug` output, error text or
//! checkpoint's `Debug`, and none in a request to the upload host.

use std::io;
use std::sync::{Arc, Mutex};

use resumable_core::{Checkpoint, Chunking, Error, Event, SessionUrl};
use resumable_emulator::RequestKind;
use resumable_local::{CheckpointLock, CheckpointStore, LockError, UploadError, checkpoint_key};
use resumable_testkit::MemoryCheckpointStore;

use super::{
    UNIT, assert_clean, assert_key_stayed_home, assert_upload_host_got_no_key, builder,
    captured_logs, core_values_shown, fast_retries, file, kinds, secrets, secrets_of, shown,
    target,
};
use crate::{Driver, OnEvent, Setup, Source};

/// A store that keeps every checkpoint saved, to learn each session URL
/// the uploader held.
#[derive(Clone, Default)]
pub struct Recording {
    /// Where the checkpoints are.
    pub inner: MemoryCheckpointStore,
    saved: Arc<Mutex<Vec<Checkpoint>>>,
}

impl Recording {
    /// Every checkpoint saved, in order.
    pub fn saved(&self) -> Vec<Checkpoint> {
        self.saved.lock().unwrap().clone()
    }

    /// The session URL of every checkpoint saved, each once.
    pub fn session_urls(&self) -> Vec<SessionUrl> {
        let mut urls: Vec<SessionUrl> = Vec::new();
        for cp in self.saved() {
            if let Some(s) = cp.session
                && !urls.contains(&s.upload_url)
            {
                urls.push(s.upload_url);
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

/// An uploader in [`UNIT`] chunks with quick retries, keeping checkpoints
/// in `store` when given, calling `on_event`.
fn uploader<D: Driver>(store: Option<Recording>, on_event: Option<OnEvent>) -> D {
    D::build(Setup {
        chunking: Chunking::Fixed(UNIT),
        retry: fast_retries(),
        store: store.map(|s| Box::new(s) as Box<dyn CheckpointStore + Send>),
        on_event,
        ..Setup::default()
    })
}

/// A hook pushing every event into the returned list.
pub(super) fn recorded() -> (Arc<Mutex<Vec<Event>>>, OnEvent) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    (
        events,
        Box::new(move |e: &Event| seen.lock().unwrap().push(e.clone())),
    )
}

/// Fails unless `err` is a refusal with `400`; returns its text and its
/// `Debug` output.
pub(super) fn refused_with_400(err: &UploadError) -> String {
    assert!(
        matches!(
            err,
            UploadError::Upload(Error::Rejected { status: 400, .. })
        ),
        "{err}"
    );
    format!("{err}\n") + &shown(err)
}

/// Every recovery path of one upload (an API retry, chunk retries, a reset
/// and its status query, a killed session and its restart, a lost final
/// answer, a register retry), then a rejected upload resumed, rejected
/// again and cancelled: the API key and every session's `upload_id` (raw,
/// percent-encoded, or as the whole session URL) show in no log line at
/// any level (spans and fields included), no event, no `Debug` output of
/// a value the user holds (the uploader, the target, the outcome, errors,
/// checkpoints, the core's configs and requests), and no request to the
/// upload host. Guards the rule that a session URL is a bearer credential.
pub fn no_log_line_and_no_debug_output_holds_a_secret<D: Driver>() {
    let logs = captured_logs();
    let mut debug = String::new();

    let emu = builder(
        "upload-url#1 status=503; chunk#2 status=503; chunk#3 reset after=1KiB; \
         chunk#5 kill; final#1 drop-response; register#1 status=503",
    )
    .start_in_background()
    .unwrap();
    let (_dir, path) = file(6, "every-fault.bin");
    let store = Recording::default();
    let (events, on_event) = recorded();
    let api = target(emu.base_url());
    let mut up = uploader::<D>(Some(store.clone()), Some(on_event));
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
    all_secrets.extend(secrets(&emu));
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
    for cp in store.saved() {
        debug += &shown(&cp);
    }
    for url in &urls {
        debug += &shown(url);
        debug += &url.to_string();
    }

    let emu2 = builder("chunk#2 status=400; chunk#3 status=400")
        .start_in_background()
        .unwrap();
    let (_dir2, path2) = file(4, "cancelled.bin");
    let store2 = Recording::default();
    let api2 = target(emu2.base_url());
    let key2 = checkpoint_key(&api2, &path2);
    let mut up2 = uploader::<D>(Some(store2.clone()), None);
    for _ in 0..2 {
        let err = up2.upload_file(&api2, &path2).unwrap_err();
        debug += &refused_with_400(&err);
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
    let mut secrets2 = secrets_of(urls2.iter().map(SessionUrl::expose));
    secrets2.extend(secrets(&emu2));
    assert_key_stayed_home(&emu2, &secrets2);
    all_secrets.extend(secrets2);

    let text = logs.text();
    for expected in [
        "retrying",
        "session gone",
        "session restarted",
        "persisted",
        "upload id",
    ] {
        assert!(text.contains(expected), "{expected:?} is logged:\n{text}");
    }
    assert_clean("the logs", &text, &all_secrets);
    assert_clean("Debug output", &debug, &all_secrets);
}

/// The emulator names the session by `upload%5Fid` as well as `upload_id`:
/// a session URL spelled so, handed to `upload_to_session`, is redacted in
/// logs, events and the emulator's request log all the same.
pub fn a_percent_encoded_upload_id_name_is_redacted_too<D: Driver>() {
    let logs = captured_logs();
    let emu = builder("chunk#1 status=503").start_in_background().unwrap();
    let (plain, _) = crate::emulator::session_of_the_file_api(&emu, "pct.bin", 3 * UNIT);
    let spelled = plain.replace("&upload_id=", "&upload%5Fid=");
    assert_ne!(plain, spelled);
    let url = SessionUrl::new(spelled);
    let (events, on_event) = recorded();
    let mut up = uploader::<D>(None, Some(on_event));
    let data: Vec<u8> = (0..3 * UNIT).map(|i| (i % 13) as u8).collect();
    let outcome = up
        .upload_to_session(url.clone(), Source::Bytes(data))
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
