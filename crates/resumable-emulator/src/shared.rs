//! State shared by every connection: configuration, sessions, objects, files, the
//! request log and the fault engine.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use http::request::Parts;
use http::{StatusCode, header};
use rand::SeedableRng as _;
use rand::distr::{Alphanumeric, SampleString as _};
use rand::rngs::StdRng;
use resumable_sim::gcs::Progress;
use resumable_sim::ietf::IetfOptions;
use resumable_sim::tus::TusOptions;

use crate::faults::{Fault, FaultEngine};
use crate::file_record::FileRecord;
use crate::ietf_upload::{IetfResource, IetfUploadInfo};
use crate::log::{RequestKind, RequestRecord};
use crate::object::Object;
use crate::precondition::Preconditions;
use crate::reply::Refusal;
use crate::reply::{BloatMeter, Reply};
use crate::session::{Session, SessionInfo, SessionState};
use crate::storage::{Digest, Store};
use crate::tus_upload::{TusResource, TusUploadInfo};
use crate::url::{encode, redact_upload_id};

/// The most requests the log keeps; older ones are dropped first.
const LOG_CAPACITY: usize = 100_000;

/// Settings fixed at start.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) api_key: String,
    /// The default bucket: the file API's sessions write to it.
    pub(crate) bucket: String,
    /// Buckets that exist from the start besides the default one.
    pub(crate) extra_buckets: Vec<String>,
    pub(crate) max_file_size: u64,
    pub(crate) chunk_size_recommended: u64,
    pub(crate) session_lifetime: Duration,
    pub(crate) idle_timeout: Duration,
    /// The base of issued session URLs, when not the emulator's own address.
    pub(crate) upload_base_url: Option<String>,
    /// What the tus endpoint supports: every extension, uploads that live
    /// `session_lifetime`, at most `max_file_size` bytes.
    pub(crate) tus: TusOptions,
    /// What the IETF draft endpoint speaks: both interop versions, uploads
    /// that live `session_lifetime`, at most `max_file_size` bytes.
    pub(crate) ietf: IetfOptions,
}

/// The path of the tus creation endpoint; an upload is `{TUS_PATH}{id}`.
pub(crate) const TUS_PATH: &str = "/tus/files/";

/// The path of the IETF draft's creation resource; an upload is
/// `{IETF_PATH}{id}`.
pub(crate) const IETF_PATH: &str = "/ietf/files/";

/// An upload (tus, or the IETF draft's) as the registry holds it.
#[derive(Debug)]
pub(crate) struct Slot<R> {
    pub(crate) number: u64,
    pub(crate) upload: Arc<tokio::sync::Mutex<R>>,
}

impl<R> Clone for Slot<R> {
    fn clone(&self) -> Self {
        Slot {
            number: self.number,
            upload: Arc::clone(&self.upload),
        }
    }
}

impl<R> Slot<R> {
    fn new(number: u64, upload: R) -> Self {
        Slot {
            number,
            upload: Arc::new(tokio::sync::Mutex::new(upload)),
        }
    }
}

/// A tus upload as the registry holds it.
pub(crate) type TusSlot = Slot<TusResource>;
/// An upload resource of the IETF draft as the registry holds it.
pub(crate) type IetfSlot = Slot<IetfResource>;

/// A session as the registry holds it.
#[derive(Debug, Clone)]
pub(crate) struct SessionSlot {
    pub(crate) number: u64,
    pub(crate) guploader_id: String,
    pub(crate) session: Arc<tokio::sync::Mutex<Session>>,
}

/// Who an `upload-url` call issued a `gcs_path` to.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub(crate) org: String,
    pub(crate) file_id: String,
}

/// Everything mutable, behind one short-held lock.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) sessions: HashMap<String, SessionSlot>,
    pub(crate) session_info: BTreeMap<u64, SessionInfo>,
    /// Every bucket: the configured ones, and those created by their first initiate.
    pub(crate) buckets: BTreeSet<String>,
    pub(crate) objects: HashMap<(String, String), Arc<Object>>,
    pub(crate) files: BTreeMap<String, FileRecord>,
    pub(crate) issued: HashMap<String, Issued>,
    pub(crate) log: VecDeque<RequestRecord>,
    pub(crate) faults: FaultEngine,
    ids: StdRng,
    next_seq: u64,
    pub(crate) sessions_created: u64,
    /// tus uploads by id.
    pub(crate) tus: HashMap<String, TusSlot>,
    pub(crate) tus_info: BTreeMap<u64, TusUploadInfo>,
    pub(crate) tus_created: u64,
    /// IETF draft uploads by id.
    pub(crate) ietf: HashMap<String, IetfSlot>,
    pub(crate) ietf_info: BTreeMap<u64, IetfUploadInfo>,
    pub(crate) ietf_created: u64,
    pub(crate) upload_url_calls: u64,
    pub(crate) register_calls: u64,
    pub(crate) registrations: u64,
    pub(crate) bytes_received: u64,
    last_generation: u64,
}

impl State {
    /// A random identifier of `len` letters and digits (seeded).
    pub(crate) fn random_id(&mut self, len: usize) -> String {
        Alphanumeric.sample_string(&mut self.ids, len)
    }
}

/// The emulator's shared core.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) base_url: String,
    pub(crate) store: Store,
    pub(crate) seed: u64,
    /// What became of the bodies of `bloat=` faults.
    pub(crate) bloat: Arc<BloatMeter>,
    /// Requests a `stall=` fault holds right now.
    pub(crate) held: Arc<AtomicU64>,
    /// Held from a session's precondition check to its object's store, so two
    /// sessions writing one name cannot both pass `ifGenerationMatch=0`.
    pub(crate) finalizing: tokio::sync::Mutex<()>,
    state: Mutex<State>,
}

/// One request in flight: its log record and the fault picked for it.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) record: RequestRecord,
    pub(crate) fault: Option<Fault>,
    /// Overrides the outcome word derived from the answer.
    pub(crate) outcome: Option<&'static str>,
    held: Arc<AtomicU64>,
}

impl Call {
    /// Pauses for a `stall=` fault, counted in `Stats::held` meanwhile (also
    /// when the request is dropped mid-way), so a test can act while a
    /// request is surely held.
    pub(crate) async fn stall(&self, d: Duration) {
        struct Held<'a>(&'a AtomicU64);
        impl Drop for Held<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.held.fetch_add(1, Ordering::Relaxed);
        let _held = Held(&self.held);
        tokio::time::sleep(d).await;
    }

    /// Whether the fault picked asks for a response to be dropped after processing.
    pub(crate) fn drops_response(&self) -> bool {
        self.fault
            .as_ref()
            .is_some_and(|f| f.respond == Some(crate::faults::Respond::DropResponse))
    }
}

impl Shared {
    pub(crate) fn new(config: Config, base_url: String, store: Store, seed: u64) -> Self {
        let mut buckets: BTreeSet<String> = config.extra_buckets.iter().cloned().collect();
        buckets.insert(config.bucket.clone());
        let state = State {
            buckets,
            sessions: HashMap::new(),
            session_info: BTreeMap::new(),
            objects: HashMap::new(),
            files: BTreeMap::new(),
            issued: HashMap::new(),
            log: VecDeque::new(),
            faults: FaultEngine::new(seed),
            ids: StdRng::seed_from_u64(seed ^ 0x9E37_79B9_7F4A_7C15),
            next_seq: 0,
            sessions_created: 0,
            tus: HashMap::new(),
            tus_info: BTreeMap::new(),
            tus_created: 0,
            ietf: HashMap::new(),
            ietf_info: BTreeMap::new(),
            ietf_created: 0,
            upload_url_calls: 0,
            register_calls: 0,
            registrations: 0,
            bytes_received: 0,
            last_generation: 0,
        };
        Shared {
            config,
            base_url,
            store,
            seed,
            bloat: Arc::default(),
            held: Arc::default(),
            finalizing: tokio::sync::Mutex::new(()),
            state: Mutex::new(state),
        }
    }

    /// The state, locked. A panic while holding it is a bug; the state stays usable.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a request: numbers it, picks its fault, fills what the log knows so far.
    pub(crate) fn begin(&self, parts: &Parts, kind: RequestKind, session: Option<u64>) -> Call {
        let header = |name: header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut state = self.state();
        state.next_seq += 1;
        let seq = state.next_seq;
        let applied = state.faults.decide(kind, session);
        drop(state);
        let record = RequestRecord {
            seq,
            kind,
            method: parts.method.to_string(),
            path: redact_upload_id(path),
            host: header(header::HOST),
            content_range: header(header::CONTENT_RANGE),
            content_length: header(header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
            chunked: resumable_sim::wire::is_chunked(&parts.headers),
            x_api_key: parts.headers.contains_key("x-api-key"),
            authorization: parts.headers.contains_key(header::AUTHORIZATION),
            x_goog_hash: header(header::HeaderName::from_static("x-goog-hash")),
            session,
            status: None,
            range: None,
            bytes_received: 0,
            persisted: None,
            fault: applied.as_ref().map(|a| a.rule.clone()),
            outcome: String::new(),
        };
        Call {
            record,
            fault: applied.map(|a| a.fault),
            outcome: None,
            held: Arc::clone(&self.held),
        }
    }

    /// Ends a request: completes its record and logs it.
    pub(crate) fn finish(&self, call: Call, reply: &Reply) {
        let mut record = call.record;
        match reply {
            Reply::Respond(r) => {
                record.status = Some(r.status().as_u16());
                record.range = r
                    .headers()
                    .get(header::RANGE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
            }
            Reply::Reset => {}
        }
        let derived = match record.status.map(StatusCode::from_u16) {
            None => "reset",
            Some(Ok(s)) if s.is_success() || s.as_u16() == 308 || s.as_u16() == 499 => "ok",
            Some(_) if record.fault.is_some() => "fault",
            Some(_) => "refused",
        };
        record.outcome = call.outcome.unwrap_or(derived).to_owned();
        tracing::debug!(
            seq = record.seq,
            kind = ?record.kind,
            method = %record.method,
            path = %record.path,
            content_range = ?record.content_range,
            status = ?record.status,
            range = ?record.range,
            bytes = record.bytes_received,
            fault = ?record.fault,
            outcome = %record.outcome,
            "request"
        );
        let mut state = self.state();
        state.bytes_received += record.bytes_received;
        if state.log.len() == LOG_CAPACITY {
            state.log.pop_front();
        }
        state.log.push_back(record);
    }

    /// The session URL a client `PUT`s to.
    pub(crate) fn session_url(&self, bucket: &str, name: &str, upload_id: &str) -> String {
        format!(
            "{}/upload/storage/v1/b/{}/o?uploadType=resumable&name={}&upload_id={}",
            self.issued_base(),
            encode(bucket),
            encode(name),
            upload_id
        )
    }

    /// The base of the URLs the emulator hands out.
    fn issued_base(&self) -> &str {
        self.config
            .upload_base_url
            .as_deref()
            .unwrap_or(&self.base_url)
    }

    /// The tus creation endpoint's URL.
    pub(crate) fn tus_endpoint(&self) -> String {
        format!("{}{TUS_PATH}", self.issued_base())
    }

    /// The URL of the tus upload `id`.
    pub(crate) fn tus_url(&self, id: &str) -> String {
        format!("{}{TUS_PATH}{id}", self.issued_base())
    }

    /// The number the next tus upload gets, and a fresh id for it.
    pub(crate) fn next_tus_upload(&self) -> (u64, String) {
        let mut state = self.state();
        state.tus_created += 1;
        (state.tus_created, state.random_id(32))
    }

    /// Registers a created tus upload under `id`.
    pub(crate) fn add_tus_upload(&self, id: String, upload: TusResource) {
        let mut state = self.state();
        state.tus_info.insert(upload.number, upload.info());
        state.tus.insert(id, Slot::new(upload.number, upload));
    }

    /// The tus upload `id`.
    pub(crate) fn tus_upload(&self, id: &str) -> Option<TusSlot> {
        self.state().tus.get(id).cloned()
    }

    /// Refreshes the summary of a tus upload after a request.
    pub(crate) fn update_tus_info(&self, upload: &TusResource) {
        self.state().tus_info.insert(upload.number, upload.info());
    }

    /// The IETF draft's creation resource's URL.
    pub(crate) fn ietf_endpoint(&self) -> String {
        format!("{}{IETF_PATH}", self.issued_base())
    }

    /// The URL of the IETF draft upload `id`.
    pub(crate) fn ietf_url(&self, id: &str) -> String {
        format!("{}{IETF_PATH}{id}", self.issued_base())
    }

    /// The number the next IETF draft upload gets, and a fresh id for it.
    pub(crate) fn next_ietf_upload(&self) -> (u64, String) {
        let mut state = self.state();
        state.ietf_created += 1;
        (state.ietf_created, state.random_id(32))
    }

    /// Registers a created IETF draft upload under `id`; returns its slot.
    pub(crate) fn add_ietf_upload(&self, id: String, upload: IetfResource) -> IetfSlot {
        let mut state = self.state();
        state.ietf_info.insert(upload.number, upload.info());
        let slot = Slot::new(upload.number, upload);
        state.ietf.insert(id, slot.clone());
        slot
    }

    /// The IETF draft upload `id`.
    pub(crate) fn ietf_upload(&self, id: &str) -> Option<IetfSlot> {
        self.state().ietf.get(id).cloned()
    }

    /// Refreshes the summary of an IETF draft upload after a request.
    pub(crate) fn update_ietf_info(&self, upload: &IetfResource) {
        self.state().ietf_info.insert(upload.number, upload.info());
    }

    /// Creates a session; returns its `upload_id` and its slot.
    pub(crate) fn create_session(
        &self,
        bucket: &str,
        name: &str,
        content_type: &str,
        declared_len: Option<u64>,
        preconditions: Preconditions,
    ) -> (String, SessionSlot) {
        let mut state = self.state();
        state.sessions_created += 1;
        let number = state.sessions_created;
        let upload_id = format!("ADPycd{}", state.random_id(58));
        let guploader_id = format!("AHxI1nP{}", state.random_id(64));
        let session = Session {
            number,
            bucket: bucket.to_owned(),
            name: name.to_owned(),
            content_type: content_type.to_owned(),
            preconditions,
            expires_at: expiry(self.config.session_lifetime),
            state: SessionState::Active,
            progress: Progress::new(declared_len),
            digest: Digest::new(),
            part: self.store.new_part(number),
            bytes_received: 0,
            requests: 0,
        };
        state.session_info.insert(number, session.info());
        let slot = SessionSlot {
            number,
            guploader_id,
            session: Arc::new(tokio::sync::Mutex::new(session)),
        };
        state.sessions.insert(upload_id.clone(), slot.clone());
        (upload_id, slot)
    }

    /// The session an `upload_id` names.
    pub(crate) fn session(&self, upload_id: &str) -> Option<SessionSlot> {
        self.state().sessions.get(upload_id).cloned()
    }

    /// Refreshes the summary of a session after a request.
    pub(crate) fn update_session_info(&self, session: &Session) {
        self.state()
            .session_info
            .insert(session.number, session.info());
    }

    /// A fresh, strictly increasing object generation.
    pub(crate) fn next_generation(&self) -> u64 {
        let mut state = self.state();
        let g = crate::time::micros(SystemTime::now()).max(state.last_generation + 1);
        state.last_generation = g;
        g
    }

    /// Stores a finished object, replacing (and removing) an older one of that name.
    pub(crate) fn put_object(&self, object: Arc<Object>) {
        let key = (object.info.bucket.clone(), object.info.name.clone());
        let old = self.state().objects.insert(key, object);
        if let Some(old) = old {
            old.data.remove();
        }
    }

    /// Checks a session's preconditions against the live object of its name. A
    /// finalizing caller holds [`Shared::finalizing`] from here to the store.
    pub(crate) fn check_preconditions(&self, session: &Session) -> Result<(), Refusal> {
        if session.preconditions.is_empty() {
            return Ok(());
        }
        let live = self.object(&session.bucket, &session.name);
        session.preconditions.check(live.as_ref().map(|o| &o.info))
    }

    /// The object `name` in `bucket`.
    pub(crate) fn object(&self, bucket: &str, name: &str) -> Option<Arc<Object>> {
        self.state()
            .objects
            .get(&(bucket.to_owned(), name.to_owned()))
            .cloned()
    }
}

/// Why `name` is not a bucket name Cloud Storage allows: 3 to 63 characters
/// (222 with dots, each dot-separated part at most 63) of lowercase letters,
/// digits, `-`, `_` and `.`, starting and ending with a letter or digit.
pub(crate) fn bucket_name_problem(name: &str) -> Option<&'static str> {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let max = if name.contains('.') { 222 } else { 63 };
    if name.len() < 3 || name.len() > max {
        return Some("a bucket name has 3 to 63 characters (222 with dots)");
    }
    if !name
        .chars()
        .all(|c| alnum(c) || matches!(c, '-' | '_' | '.'))
    {
        return Some("a bucket name has only lowercase letters, digits, '-', '_' and '.'");
    }
    if !name.starts_with(alnum) || !name.ends_with(alnum) {
        return Some("a bucket name starts and ends with a letter or digit");
    }
    if name
        .split('.')
        .any(|part| part.is_empty() || part.len() > 63)
    {
        return Some("each dot-separated part of a bucket name has 1 to 63 characters");
    }
    None
}

/// When a session started now expires; a lifetime past what the clock can
/// hold means never (in practice).
pub(crate) fn expiry(lifetime: Duration) -> SystemTime {
    let now = SystemTime::now();
    now.checked_add(lifetime)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}
