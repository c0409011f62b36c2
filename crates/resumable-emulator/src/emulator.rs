//! Starting and stopping the emulator, and what a test can ask it in-process.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use resumable_sim::ietf::{IetfOptions, Interop, Limits as IetfLimits};
use resumable_sim::tus::{Algorithm, TusOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::control::{Stats, stats};
use crate::error::Error;
use crate::faults::{FaultPlan, FaultSpecError};
use crate::file_record::FileRecord;
use crate::ietf_upload::{IetfStatus, IetfUploadInfo};
use crate::log::RequestRecord;
use crate::object::ObjectInfo;
use crate::server::serve;
use crate::session::SessionInfo;
use crate::shared::{Config, Shared, Slot, bucket_name_problem};
use crate::storage::{ObjectData, Part, Storage, Store};
use crate::tus_upload::{TusStatus, TusUploadInfo};

/// The API key the emulator accepts unless told otherwise.
pub const DEFAULT_API_KEY: &str = "emulator-key";
/// The default bucket unless told otherwise: the file API's sessions write to it.
pub const DEFAULT_BUCKET: &str = "resumable-emulator-uploads";
/// The largest `file_size` accepted unless told otherwise: 5 GB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// The `chunk_size_recommended` returned unless told otherwise: 5 MiB.
pub const DEFAULT_CHUNK_SIZE: u64 = 5 * 1024 * 1024;
/// How long a session lives unless told otherwise: 7 days.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The entry point: `Emulator::builder()`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with the defaults: loopback on an ephemeral port, key
    /// [`DEFAULT_API_KEY`], storage in a temporary directory, no faults.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Settings for an emulator; start it with [`start`](Self::start) (async) or
/// [`start_in_background`](Self::start_in_background) (blocking code).
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    addr: SocketAddr,
    config: Config,
    storage: Storage,
    faults: Vec<String>,
    seed: Option<u64>,
    /// The tus checksum algorithms by name; `None`: every one.
    tus_checksums: Option<Vec<String>>,
    tus_relative_location: bool,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            config: Config {
                api_key: DEFAULT_API_KEY.to_owned(),
                bucket: DEFAULT_BUCKET.to_owned(),
                extra_buckets: Vec::new(),
                max_file_size: DEFAULT_MAX_FILE_SIZE,
                chunk_size_recommended: DEFAULT_CHUNK_SIZE,
                session_lifetime: DEFAULT_SESSION_LIFETIME,
                idle_timeout: Duration::from_secs(60),
                upload_base_url: None,
                tus: TusOptions::default(),
                ietf: IetfOptions::default(),
            },
            storage: Storage::default(),
            faults: Vec::new(),
            seed: None,
            tus_checksums: None,
            tus_relative_location: false,
        }
    }
}

impl EmulatorBuilder {
    /// The address to listen on (default `127.0.0.1:0`, an ephemeral port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The `X-API-Key` the file API accepts.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.config.api_key = key.into();
        self
    }

    /// The default bucket (default [`DEFAULT_BUCKET`]): the file API's
    /// sessions (`upload_url`, `gcs_path`) write to it, and
    /// [`EmulatorHandle::object`] reads it. Other buckets are created by the
    /// first initiate that names them, or from the start by
    /// [`add_bucket`](Self::add_bucket).
    pub fn bucket(mut self, bucket: impl Into<String>) -> Self {
        self.config.bucket = bucket.into();
        self
    }

    /// Another bucket that exists from the start (any number; the default
    /// one stays the file API's). A bucket named by an initiate is created
    /// then anyway; this one is listed from the start.
    pub fn add_bucket(mut self, bucket: impl Into<String>) -> Self {
        self.config.extra_buckets.push(bucket.into());
        self
    }

    /// Where uploaded bytes go.
    pub fn storage(mut self, storage: Storage) -> Self {
        self.storage = storage;
        self
    }

    /// How long a session lives (its `expires_at`; 410 after).
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.session_lifetime = lifetime;
        self
    }

    /// The largest `file_size` the file API accepts (413 above).
    pub fn max_file_size(mut self, bytes: u64) -> Self {
        self.config.max_file_size = bytes;
        self
    }

    /// The `chunk_size_recommended` that `upload-url` returns (need not be a multiple of
    /// 256 KiB: clients must round it).
    pub fn chunk_size_recommended(mut self, bytes: u64) -> Self {
        self.config.chunk_size_recommended = bytes;
        self
    }

    /// How long a request body may go without a byte before it counts as cut off.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// The base of the session URLs that `upload-url` and initiate hand out
    /// (default: [`EmulatorHandle::base_url`]), with `{port}` replaced by the
    /// port listened on, e.g. `http://uploads.example:{port}`. For testing how
    /// a client treats a session on another host than its API; the emulator
    /// still serves the session on its own address.
    pub fn upload_base_url(mut self, url: impl Into<String>) -> Self {
        self.config.upload_base_url = Some(url.into());
        self
    }

    /// Adds fault rules (see the [crate docs](crate#fault-spec)); parsed at start.
    pub fn faults(mut self, spec: impl Into<String>) -> Self {
        self.faults.push(spec.into());
        self
    }

    /// Seeds every random choice: ids and fault probabilities. Unseeded, a random seed
    /// is drawn and [`EmulatorHandle::seed`] tells it.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The checksum algorithms the tus endpoint announces in
    /// `Tus-Checksum-Algorithm` and checks (default `sha1`, `md5`, `crc32`,
    /// in that order); none at all: no checksum extension, so a client
    /// sends no `Upload-Checksum` and a `PATCH` cut off keeps what arrived.
    /// Checked at start: a name other than those three is
    /// [`Error::UnknownTusChecksum`].
    pub fn tus_checksum_algorithms<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Self {
        self.tus_checksums = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Whether a tus creation answers with a relative `Location`
    /// (`/tus/files/{id}`, to be resolved against the endpoint) rather than
    /// an absolute one (the default), as some servers do.
    pub fn tus_relative_location(mut self, relative: bool) -> Self {
        self.tus_relative_location = relative;
        self
    }

    /// The interop versions of the IETF draft the `/ietf/files/` endpoint
    /// speaks (default: 6 and 8); a request naming another is refused.
    pub fn ietf_versions(mut self, versions: impl IntoIterator<Item = Interop>) -> Self {
        self.config.ietf.versions = versions.into_iter().collect();
        self
    }

    /// The limits the IETF draft endpoint announces in `Upload-Limit` and
    /// enforces (default: `max-size` the max file size).
    pub fn ietf_limits(mut self, limits: IetfLimits) -> Self {
        self.config.ietf.limits = limits;
        self
    }

    /// Whether the IETF draft endpoint sends the `104 (Upload Resumption
    /// Supported)` announcing a creation's upload resource (default: yes).
    pub fn ietf_interim(mut self, send: bool) -> Self {
        self.config.ietf.interim = send;
        self
    }

    /// Send a progress `104` with `Upload-Offset` each time this many more
    /// bytes of a body are stored (default: none).
    pub fn ietf_progress_every(mut self, bytes: Option<u64>) -> Self {
        self.config.ietf.progress_every = bytes.filter(|b| *b > 0);
        self
    }

    /// Announce `Want-Content-Digest: sha-256=10` on the IETF draft
    /// endpoint's answers (default: no).
    pub fn ietf_want_content_digest(mut self, want: bool) -> Self {
        self.config.ietf.want_content_digest = want;
        self
    }

    /// What the tus endpoint supports, from the settings.
    fn tus_options(&self) -> Result<TusOptions, Error> {
        let mut options = TusOptions {
            max_size: Some(self.config.max_file_size),
            lifetime: Some(self.config.session_lifetime),
            relative_location: self.tus_relative_location,
            ..TusOptions::default()
        };
        if let Some(names) = &self.tus_checksums {
            options.checksum_algorithms = names
                .iter()
                .map(|n| match Algorithm::from_name(n) {
                    Some(a) => Ok(a.name()),
                    None => Err(Error::UnknownTusChecksum(n.clone())),
                })
                .collect::<Result<_, _>>()?;
            if options.checksum_algorithms.is_empty() {
                options.extensions.retain(|e| *e != "checksum");
            }
        }
        Ok(options)
    }

    fn prepare(&self, local: SocketAddr) -> Result<Arc<Shared>, Error> {
        let mut plan = FaultPlan::default();
        for spec in &self.faults {
            plan.extend(spec.parse()?);
        }
        for bucket in std::iter::once(&self.config.bucket).chain(&self.config.extra_buckets) {
            if let Some(problem) = bucket_name_problem(bucket) {
                return Err(Error::BadBucket(bucket.clone(), problem));
            }
        }
        let store = Store::open(&self.storage).map_err(Error::Storage)?;
        let host = match local.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let base_url = format!("http://{}", SocketAddr::new(host, local.port()));
        let seed = self.seed.unwrap_or_else(rand::random);
        let mut config = self.config.clone();
        config.tus = self.tus_options()?;
        config.ietf.lifetime = Some(self.config.session_lifetime);
        if config.ietf.limits.max_size.is_none() {
            config.ietf.limits.max_size = Some(self.config.max_file_size);
        }
        config.upload_base_url = config.upload_base_url.map(|url| {
            url.replace("{port}", &local.port().to_string())
                .trim_end_matches('/')
                .to_owned()
        });
        let shared = Shared::new(config, base_url, store, seed);
        shared.state().faults.add(plan);
        Ok(Arc::new(shared))
    }

    fn bind_std(&self) -> Result<std::net::TcpListener, Error> {
        let bind = |source| Error::Bind {
            addr: self.addr,
            source,
        };
        let listener = std::net::TcpListener::bind(self.addr).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        Ok(listener)
    }

    /// Starts the server on the current tokio runtime.
    ///
    /// # Errors
    /// When the address cannot be bound, the storage not prepared, or a fault spec
    /// does not parse.
    pub async fn start(self) -> Result<EmulatorHandle, Error> {
        let std_listener = self.bind_std()?;
        let bind = |source| Error::Bind {
            addr: self.addr,
            source,
        };
        let local = std_listener.local_addr().map_err(bind)?;
        let listener = TcpListener::from_std(std_listener).map_err(bind)?;
        let shared = self.prepare(local)?;
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, Arc::clone(&shared), stop_rx));
        Ok(EmulatorHandle {
            shared,
            addr: local,
            stop,
            task: Some(task),
            runtime: None,
        })
    }

    /// Starts the server on a runtime of its own (two worker threads), for blocking
    /// code: tests of a blocking client, a command-line tool. Needs no runtime of the
    /// caller's, and may be called from inside one too.
    ///
    /// # Errors
    /// As [`start`](Self::start), and when the runtime cannot be built.
    pub fn start_in_background(self) -> Result<EmulatorHandle, Error> {
        let std_listener = self.bind_std()?;
        let local = std_listener.local_addr().map_err(|source| Error::Bind {
            addr: self.addr,
            source,
        })?;
        let shared = self.prepare(local)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("resumable-emulator")
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let (stop, stop_rx) = watch::channel(false);
        let serve_shared = Arc::clone(&shared);
        let task = runtime.spawn(async move {
            match TcpListener::from_std(std_listener) {
                Ok(listener) => serve(listener, serve_shared, stop_rx).await,
                Err(e) => tracing::error!(error = %e, "cannot register the listener"),
            }
        });
        Ok(EmulatorHandle {
            shared,
            addr: local,
            stop,
            task: Some(task),
            runtime: Some(runtime),
        })
    }
}

/// A running emulator. Dropping it stops the server; [`shutdown`](Self::shutdown)
/// waits for that.
#[derive(Debug)]
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT`: the base of the file API, the upload endpoint and the
    /// control endpoints.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The default bucket: the file API's sessions write to it.
    pub fn bucket(&self) -> &str {
        &self.shared.config.bucket
    }

    /// Every bucket, sorted: the configured ones and those created since by
    /// an initiate.
    pub fn buckets(&self) -> Vec<String> {
        self.shared.state().buckets.iter().cloned().collect()
    }

    /// The API key the file API accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.config.api_key
    }

    /// The seed of every random choice (given, or drawn at start).
    pub fn seed(&self) -> u64 {
        self.shared.seed
    }

    /// The storage directory, for the disk backends.
    pub fn storage_dir(&self) -> Option<&std::path::Path> {
        self.shared.store.dir()
    }

    /// Every logged request, in arrival order (as `GET /_emulator/requests`).
    pub fn request_log(&self) -> Vec<RequestRecord> {
        let mut log: Vec<_> = self.shared.state().log.iter().cloned().collect();
        log.sort_by_key(|r| r.seq);
        log
    }

    /// Empties the request log.
    pub fn clear_request_log(&self) {
        self.shared.state().log.clear();
    }

    /// Adds fault rules (see the [crate docs](crate#fault-spec)); their counters start now.
    ///
    /// # Errors
    /// When the spec does not parse; then no rule is added.
    pub fn add_faults(&self, spec: &str) -> Result<(), FaultSpecError> {
        let plan: FaultPlan = spec.parse()?;
        self.shared.state().faults.add(plan);
        Ok(())
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.state().faults.clear();
    }

    /// The fault rules in force.
    pub fn faults(&self) -> FaultPlan {
        self.shared.state().faults.plan()
    }

    /// The object at `gcs_path` in the default bucket.
    pub fn object(&self, gcs_path: &str) -> Option<ObjectInfo> {
        self.object_in(&self.shared.config.bucket, gcs_path)
    }

    /// The object `name` in `bucket`.
    pub fn object_in(&self, bucket: &str, name: &str) -> Option<ObjectInfo> {
        self.shared.object(bucket, name).map(|o| o.info.clone())
    }

    /// The bytes of the object at `gcs_path` in the default bucket.
    ///
    /// # Errors
    /// When there is no such object, the storage is the sink, or reading fails.
    pub fn object_bytes(&self, gcs_path: &str) -> Result<Vec<u8>, Error> {
        self.object_bytes_in(&self.shared.config.bucket, gcs_path)
    }

    /// The bytes of the object `name` in `bucket`.
    ///
    /// # Errors
    /// As [`object_bytes`](Self::object_bytes).
    pub fn object_bytes_in(&self, bucket: &str, gcs_path: &str) -> Result<Vec<u8>, Error> {
        let object = self
            .shared
            .object(bucket, gcs_path)
            .ok_or_else(|| Error::NoObject(gcs_path.to_owned()))?;
        match &object.data {
            ObjectData::Memory(b) => Ok(b.to_vec()),
            ObjectData::Sink => Err(Error::NotStored),
            ObjectData::Disk(path) => std::fs::read(path).map_err(|source| Error::Read {
                name: gcs_path.to_owned(),
                source,
            }),
        }
    }

    /// Every object name in the default bucket, sorted.
    pub fn object_names(&self) -> Vec<String> {
        let bucket = &self.shared.config.bucket;
        let mut names: Vec<String> = self
            .shared
            .state()
            .objects
            .keys()
            .filter(|(b, _)| b == bucket)
            .map(|(_, n)| n.clone())
            .collect();
        names.sort();
        names
    }

    /// Every registered file, by `gcs_path`.
    pub fn files(&self) -> Vec<FileRecord> {
        self.shared.state().files.values().cloned().collect()
    }

    /// Files created by register (a repeated register of one `gcs_path` counts once).
    pub fn registrations(&self) -> u64 {
        self.shared.state().registrations
    }

    /// Sessions created, by `upload-url` or initiate.
    pub fn sessions_created(&self) -> u64 {
        self.shared.state().sessions_created
    }

    /// Every session, in creation order.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.shared.state().session_info.values().cloned().collect()
    }

    /// The URL of every session, in creation order, as `upload-url` and
    /// initiate issued it. Each holds its session's credential (`upload_id`):
    /// for tests that check a client keeps them secret. No control endpoint
    /// shows them.
    pub fn session_urls(&self) -> Vec<String> {
        let state = self.shared.state();
        let mut urls: Vec<(u64, String)> = state
            .sessions
            .iter()
            .filter_map(|(upload_id, slot)| {
                let info = state.session_info.get(&slot.number)?;
                let url = self.shared.session_url(&info.bucket, &info.name, upload_id);
                Some((slot.number, url))
            })
            .collect();
        urls.sort();
        urls.into_iter().map(|(_, url)| url).collect()
    }

    /// The tus 1.0 creation endpoint, `{base_url}/tus/files/` (see the
    /// [crate docs](crate#tus-10)).
    pub fn tus_endpoint(&self) -> String {
        self.shared.tus_endpoint()
    }

    /// Every tus upload, in creation order.
    pub fn tus_uploads(&self) -> Vec<TusUploadInfo> {
        self.shared.state().tus_info.values().cloned().collect()
    }

    /// The bytes of the complete tus upload at `url` (its creation's
    /// `Location`).
    ///
    /// # Errors
    /// When there is no such upload, it is not complete (or expired or
    /// terminated), a request on it is in flight, the storage is the sink,
    /// or reading fails.
    pub fn tus_upload_bytes(&self, url: &str) -> Result<Vec<u8>, Error> {
        let id = url.rsplit('/').next().unwrap_or_default();
        let slot = self
            .shared
            .tus_upload(id)
            .filter(|_| self.shared.tus_url(id) == url);
        complete_bytes(slot, url, Error::NoTusUpload, Error::TusBusy, |upload| {
            let info = upload.info();
            if info.state != TusStatus::Complete {
                return Err(Error::TusIncomplete {
                    url: url.to_owned(),
                    offset: info.offset,
                    length: info.length,
                    state: info.state.word(),
                });
            }
            Ok(&upload.part)
        })
    }

    /// The IETF draft's creation resource, `{base_url}/ietf/files/` (see
    /// the [crate docs](crate#resumable-uploads-for-http-ietf-draft)).
    pub fn ietf_endpoint(&self) -> String {
        self.shared.ietf_endpoint()
    }

    /// Every IETF draft upload, in creation order.
    pub fn ietf_uploads(&self) -> Vec<IetfUploadInfo> {
        self.shared.state().ietf_info.values().cloned().collect()
    }

    /// The bytes of the complete IETF draft upload at `url` (its
    /// creation's `Location`).
    ///
    /// # Errors
    /// When there is no such upload, it is not complete (or expired,
    /// cancelled, or failed its `Repr-Digest`), a request on it is in
    /// flight, the storage is the sink, or reading fails.
    pub fn ietf_upload_bytes(&self, url: &str) -> Result<Vec<u8>, Error> {
        let id = url.rsplit('/').next().unwrap_or_default();
        let slot = self
            .shared
            .ietf_upload(id)
            .filter(|_| self.shared.ietf_url(id) == url);
        complete_bytes(slot, url, Error::NoIetfUpload, Error::IetfBusy, |upload| {
            let info = upload.info();
            if info.state != IetfStatus::Complete {
                return Err(Error::IetfIncomplete {
                    url: url.to_owned(),
                    offset: info.offset,
                    state: info.state.word(),
                });
            }
            Ok(&upload.part)
        })
    }

    /// Counters and per-session figures (as `GET /_emulator/stats`).
    pub fn stats(&self) -> Stats {
        stats(&self.shared)
    }

    /// Stops accepting, drops every connection, and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The stored bytes of the upload in `slot` at `url`, once `complete`
/// hands out its part: `missing` without an upload, `busy` while a request
/// on it is in flight.
fn complete_bytes<R>(
    slot: Option<Slot<R>>,
    url: &str,
    missing: fn(String) -> Error,
    busy: fn(String) -> Error,
    complete: impl FnOnce(&R) -> Result<&Part, Error>,
) -> Result<Vec<u8>, Error> {
    let slot = slot.ok_or_else(|| missing(url.to_owned()))?;
    let upload = slot.upload.try_lock().map_err(|_| busy(url.to_owned()))?;
    match complete(&upload)?.read() {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(Error::NotStored),
        Err(source) => Err(Error::Read {
            name: url.to_owned(),
            source,
        }),
    }
}
