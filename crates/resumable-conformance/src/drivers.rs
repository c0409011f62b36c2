//! The workspace's drivers as the catalogues run them, each over its
//! default transport (ureq, hyper) set up as the [`Setup`] asks.

use std::io::{self, Cursor};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use resumable_core::{Checkpoint, Event, Outcome};
use resumable_local::{CheckpointLock, CheckpointStore, LockError, UploadError};

use crate::driver::{Call, Driver, Interrupt, Notes, Setup, Source, Wire};

/// How often an interruption waiting for a held request looks again.
const POLL: Duration = Duration::from_millis(5);

/// A boxed store, as the drivers' `checkpoint_store` takes one.
struct Boxed(Box<dyn CheckpointStore + Send>);

impl CheckpointStore for Boxed {
    fn load(&mut self, key: &str) -> io::Result<Option<Checkpoint>> {
        self.0.load(key)
    }

    fn save(&mut self, key: &str, checkpoint: &Checkpoint) -> io::Result<()> {
        self.0.save(key, checkpoint)
    }

    fn remove(&mut self, key: &str) -> io::Result<()> {
        self.0.remove(key)
    }

    fn lock(&mut self, key: &str) -> Result<CheckpointLock, LockError> {
        self.0.lock(key)
    }
}

/// A driver's default transport under [`Wire::Noting`]: notes each request,
/// then sends it on, to `to` when set.
struct Noting<T> {
    inner: T,
    to: Option<SocketAddr>,
    notes: Notes,
}

impl<T> Noting<T> {
    fn reroute<B>(&self, request: http::Request<B>) -> http::Request<B> {
        let (mut parts, body) = request.into_parts();
        self.notes
            .note(&parts.uri, parts.headers.get(http::header::CONTENT_RANGE));
        if let Some(to) = self.to {
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            parts.uri = format!("http://{to}{path}")
                .parse()
                .unwrap_or_else(|e| panic!("a URI to {to}: {e}"));
            parts.headers.remove(http::header::HOST);
        }
        http::Request::from_parts(parts, body)
    }
}

/// Applies what `setup` says (but its wire) to the uploader `up`, with
/// `on_event` as its progress hook.
macro_rules! configured {
    ($up:expr, $setup:expr, $on_event:expr) => {{
        let up = $up
            .chunking($setup.chunking)
            .retry($setup.retry)
            .verify_resumed_prefix($setup.verify_resumed_prefix)
            .allow_insecure_http($setup.allow_insecure_http)
            .on_event($on_event);
        match $setup.store {
            Some(store) => up.checkpoint_store(Boxed(store)),
            None => up,
        }
    }};
}

/// The persisted offset at which the blocking driver's progress hook stops
/// the upload under way, while [`Driver::interrupted`] has one armed.
type Trip = Arc<Mutex<Option<u64>>>;

/// The blocking driver.
#[derive(Debug)]
pub struct Blocking {
    up: resumable_blocking::Uploader<Box<dyn resumable_blocking::Transport + Send>>,
    stop: resumable_blocking::StopHandle,
    trip: Trip,
}

impl resumable_blocking::Transport for Noting<resumable_blocking::UreqTransport> {
    fn send(
        &mut self,
        request: http::Request<resumable_blocking::RequestBody<'_>>,
    ) -> Result<http::Response<bytes::Bytes>, resumable_core::TransportError> {
        let request = self.reroute(request);
        self.inner.send(request)
    }
}

/// Bytes whose reads reaching past `fail_at` fail with EIO.
struct FailingPast<S> {
    bytes: S,
    fail_at: u64,
}

impl<S> FailingPast<S> {
    fn check(&self, offset: u64, len: usize) -> io::Result<()> {
        if offset + len as u64 > self.fail_at {
            return Err(io::Error::from_raw_os_error(5));
        }
        Ok(())
    }
}

impl resumable_blocking::Source for FailingPast<resumable_blocking::BytesSource> {
    fn len(&self) -> Option<u64> {
        self.bytes.len()
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.check(offset, buf.len())?;
        self.bytes.read_at(offset, buf)
    }
}

fn blocking_source(source: Source) -> Box<dyn resumable_blocking::Source> {
    use resumable_blocking::{BytesSource, ReadSource};
    match source {
        Source::Bytes(bytes) => Box::new(BytesSource::new(bytes)),
        Source::Stream(bytes) => Box::new(ReadSource::new(Cursor::new(bytes))),
        Source::FailingPast { bytes, fail_at } => Box::new(FailingPast {
            bytes: BytesSource::new(bytes),
            fail_at,
        }),
    }
}

impl Driver for Blocking {
    const NAME: &'static str = "blocking";
    // ureq reads past them.
    const INTERIMS: bool = false;

    fn build(setup: Setup) -> Self {
        use resumable_blocking::{Transport, Uploader, UreqTransport};
        let transport: Box<dyn Transport + Send> = match setup.wire {
            Wire::Default => Box::new(UreqTransport::default()),
            Wire::Timeouts { connect, stall } => Box::new(UreqTransport::new(connect, stall)),
            Wire::Noting { to, notes } => Box::new(Noting {
                inner: UreqTransport::default(),
                to,
                notes,
            }),
        };
        let up = Uploader::with_transport(transport);
        let (stop, trip) = (up.stop_handle(), Trip::default());
        let mut on_event = setup.on_event;
        let (stopper, tripped) = (stop.clone(), Arc::clone(&trip));
        let hook = move |event: &Event| {
            if let Some(f) = on_event.as_mut() {
                f(event);
            }
            let at = *tripped.lock().unwrap_or_else(PoisonError::into_inner);
            if let (Event::Persisted { offset, .. }, Some(at)) = (event, at)
                && *offset >= at
            {
                stopper.stop();
            }
        };
        let up = configured!(up, setup, hook);
        Self { up, stop, trip }
    }

    fn call(&mut self, call: Call<'_>) -> Result<Outcome, UploadError> {
        let up = &mut self.up;
        match call {
            Call::File { api, path } => up.upload_file(api, path),
            Call::Gcs { init, source } => up.upload_gcs(init, &mut *blocking_source(source)),
            Call::Session { url, source } => {
                up.upload_to_session(url, &mut *blocking_source(source))
            }
            Call::Run {
                config,
                source,
                key,
            } => up.run(config, &mut *blocking_source(source), key),
        }
    }

    fn interrupted(&mut self, call: Call<'_>, when: Interrupt<'_>) {
        let result = match when {
            Interrupt::Persisted(at) => {
                *self.trip.lock().unwrap_or_else(PoisonError::into_inner) = Some(at);
                let result = self.call(call);
                *self.trip.lock().unwrap_or_else(PoisonError::into_inner) = None;
                result
            }
            Interrupt::Held(_) | Interrupt::When(_) => {
                let ready = || match when {
                    Interrupt::Held(emu) => emu.stats().held > 0,
                    Interrupt::When(ready) => ready(),
                    Interrupt::Persisted(_) => true,
                };
                let done = AtomicBool::new(false);
                let stop = self.stop.clone();
                std::thread::scope(|scope| {
                    scope.spawn(|| {
                        while !done.load(Ordering::SeqCst) {
                            if ready() {
                                stop.stop();
                                return;
                            }
                            std::thread::sleep(POLL);
                        }
                    });
                    let result = self.call(call);
                    done.store(true, Ordering::SeqCst);
                    result
                })
            }
        };
        assert!(
            matches!(result, Err(UploadError::Interrupted)),
            "blocking: the upload was not interrupted: {result:?}"
        );
    }

    fn load_checkpoint(&mut self, key: &str) -> Result<Option<Checkpoint>, UploadError> {
        self.up.load_checkpoint(key)
    }

    fn cancel(&mut self, key: &str) -> Result<bool, UploadError> {
        self.up.cancel(key)
    }
}

/// The async driver. Every `Tokio` in the process runs its calls on one
/// shared multi-thread runtime (two workers), so the soak's concurrent
/// uploads share a runtime as an application's would, and connection tasks
/// go on closing what the client gave up while a catalogue checks the
/// server.
#[derive(Debug)]
pub struct Tokio {
    up: TokioUploader,
    /// The latest offset an event said was persisted.
    persisted: tokio::sync::watch::Sender<u64>,
}

/// The async uploader over the transport its [`Wire`] asked for: the stall
/// timeout of [`Wire::Timeouts`] is the uploader's, not the transport's.
#[derive(Debug)]
enum TokioUploader {
    Hyper(resumable_tokio::Uploader<resumable_tokio::HyperTransport>),
    Noting(resumable_tokio::Uploader<Noting<resumable_tokio::HyperTransport>>),
}

/// `$body`, with `$up` the uploader of `$tokio` whatever its transport.
macro_rules! with_uploader {
    ($tokio:expr, $up:ident => $body:expr) => {
        match &mut $tokio.up {
            TokioUploader::Hyper($up) => $body,
            TokioUploader::Noting($up) => $body,
        }
    };
}

/// `$body`, with `$source` the async source `$from` asks for.
macro_rules! with_source {
    ($from:expr, $source:ident => $body:expr) => {
        match $from {
            Source::Bytes(bytes) => {
                let $source = &mut resumable_tokio::BytesSource::new(bytes);
                $body
            }
            Source::Stream(bytes) => {
                let $source = &mut resumable_tokio::ReadSource::new(Cursor::new(bytes));
                $body
            }
            Source::FailingPast { bytes, fail_at } => {
                let $source = &mut FailingPast {
                    bytes: resumable_tokio::BytesSource::new(bytes),
                    fail_at,
                };
                $body
            }
        }
    };
}

impl resumable_tokio::AsyncTransport for Noting<resumable_tokio::HyperTransport> {
    fn send(
        &mut self,
        request: http::Request<resumable_tokio::RequestBody>,
    ) -> impl Future<Output = Result<http::Response<bytes::Bytes>, resumable_core::TransportError>> + Send
    {
        let request = self.reroute(request);
        self.inner.send(request)
    }
}

impl resumable_tokio::AsyncSource for FailingPast<resumable_tokio::BytesSource> {
    fn len(&self) -> Option<u64> {
        self.bytes.len()
    }

    async fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.check(offset, buf.len())?;
        self.bytes.read_at(offset, buf).await
    }
}

/// The runtime every [`Tokio`] driver runs on.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("a tokio runtime for the tests: {e}"))
    })
}

impl Tokio {
    async fn call_async(&mut self, call: Call<'_>) -> Result<Outcome, UploadError> {
        with_uploader!(self, up => match call {
            Call::File { api, path } => up.upload_file(api, path).await,
            Call::Gcs { init, source } => {
                with_source!(source, source => up.upload_gcs(init, source).await)
            }
            Call::Session { url, source } => {
                with_source!(source, source => up.upload_to_session(url, source).await)
            }
            Call::Run { config, source, key } => {
                with_source!(source, source => up.run(config, source, key).await)
            }
        })
    }
}

impl Driver for Tokio {
    const NAME: &'static str = "tokio";
    const INTERIMS: bool = true;

    fn build(setup: Setup) -> Self {
        use resumable_tokio::{HyperTransport, Uploader};
        let (persisted, _) = tokio::sync::watch::channel(0);
        let mut on_event = setup.on_event;
        let sender = persisted.clone();
        let hook = move |event: &Event| {
            if let Some(f) = on_event.as_mut() {
                f(event);
            }
            if let Event::Persisted { offset, .. } = event {
                sender.send_replace(*offset);
            }
        };
        let up = match setup.wire {
            Wire::Default => TokioUploader::Hyper(configured!(Uploader::new(), setup, hook)),
            Wire::Timeouts { connect, stall } => TokioUploader::Hyper(configured!(
                Uploader::new().timeouts(connect, stall),
                setup,
                hook
            )),
            Wire::Noting { to, notes } => {
                let inner = HyperTransport::new(Duration::from_secs(30))
                    .unwrap_or_else(|e| panic!("the hyper transport: {e}"));
                let transport = Noting { inner, to, notes };
                TokioUploader::Noting(configured!(
                    Uploader::with_transport(transport),
                    setup,
                    hook
                ))
            }
        };
        Self { up, persisted }
    }

    fn call(&mut self, call: Call<'_>) -> Result<Outcome, UploadError> {
        runtime().block_on(self.call_async(call))
    }

    fn interrupted(&mut self, call: Call<'_>, when: Interrupt<'_>) {
        self.persisted.send_replace(0);
        let mut persisted = self.persisted.subscribe();
        let until = async move {
            match when {
                Interrupt::Persisted(at) => {
                    let _ = persisted.wait_for(|offset| *offset >= at).await;
                }
                Interrupt::Held(emu) => {
                    while emu.stats().held == 0 {
                        tokio::time::sleep(POLL).await;
                    }
                }
                Interrupt::When(ready) => {
                    while !ready() {
                        tokio::time::sleep(POLL).await;
                    }
                }
            }
        };
        runtime().block_on(async {
            tokio::select! {
                result = self.call_async(call) => {
                    panic!("tokio: the upload ended before it was dropped: {result:?}")
                }
                () = until => {}
            }
        });
    }

    fn load_checkpoint(&mut self, key: &str) -> Result<Option<Checkpoint>, UploadError> {
        with_uploader!(self, up => runtime().block_on(up.load_checkpoint(key)))
    }

    fn cancel(&mut self, key: &str) -> Result<bool, UploadError> {
        with_uploader!(self, up => runtime().block_on(up.cancel(key)))
    }
}
