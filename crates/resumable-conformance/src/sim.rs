//! The tokio driver over `resumable-sim`'s in-memory server instead of a
//! socket: a [`SimTransport`] hands each request the driver sends to one
//! shared [`Server`], with the fault scripted for its number, and notes what
//! went over the wire (each request's `Content-Range`, how its body was
//! framed, the answer). The server is the project's independent model of
//! the protocol, so a test over it also learns every rule the client broke
//! ([`SimTransport::violations`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt as _;
use resumable_core::{Chunking, MAX_RESPONSE_BODY, TransportError, TransportErrorKind};
use resumable_sim::{Reply, Server};
use resumable_tokio::{AsyncTransport, RequestBody, Uploader};

pub use resumable_sim::gcs::Standing;
pub use resumable_sim::{Fault, UNIT};

/// What a [`SimTransport`] does wrong with one request, on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimFault {
    /// The server model plays this fault.
    Server(Fault),
    /// Never read the body and never answer, as a connection that hangs:
    /// only the driver's stall timeout (or dropping the upload) ends it.
    Stall,
}

impl From<Fault> for SimFault {
    fn from(fault: Fault) -> Self {
        Self::Server(fault)
    }
}

/// One request as the transport saw it, and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The request's method.
    pub method: Method,
    /// The URI it named.
    pub uri: String,
    /// Its `Content-Range`, if it had one.
    pub content_range: Option<String>,
    /// The fault scripted for it.
    pub fault: Option<SimFault>,
    /// How many data frames its body came in.
    pub frames: usize,
    /// The largest of those frames, in bytes.
    pub largest_frame: usize,
    /// Its body's length, in bytes.
    pub body_len: usize,
    /// The answer; `None` while the request is in flight, when it stalled
    /// and when the connection reset.
    pub answer: Option<Answer>,
}

/// A response a [`SimTransport`] handed back.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
}

#[derive(Debug, Default)]
struct Wire {
    /// By request number, from 1.
    faults: HashMap<usize, SimFault>,
    exchanges: Vec<Exchange>,
}

/// A [`resumable_tokio::AsyncTransport`] that answers from one shared
/// in-memory [`Server`]. Clones share the server, the script and the notes,
/// so a test keeps one clone to look at while an uploader sends through
/// another.
#[derive(Debug, Clone)]
pub struct SimTransport {
    server: Arc<Mutex<Server>>,
    wire: Arc<Mutex<Wire>>,
}

impl Default for SimTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl SimTransport {
    /// A transport to a server with no sessions, scripted to behave.
    pub fn new() -> Self {
        Self {
            server: Arc::new(Mutex::new(Server::new())),
            wire: Arc::default(),
        }
    }

    /// Scripts `fault` for the `n`th request sent through any clone
    /// (counting from 1, every method).
    pub fn fault(self, n: usize, fault: impl Into<SimFault>) -> Self {
        self.wire().faults.insert(n, fault.into());
        self
    }

    /// A tokio uploader over this transport with the catalogues' settings:
    /// [`UNIT`] chunks and quick retries.
    pub fn uploader(&self) -> Uploader<Self> {
        Uploader::with_transport(self.clone())
            .chunking(Chunking::Fixed(UNIT))
            .retry(crate::emulator::fast_retries())
    }

    /// Opens a raw GCS session on the server that promises `total` bytes
    /// (or none); returns its URL.
    pub fn open_session(&self, total: Option<u64>) -> String {
        self.server().open_session(total)
    }

    /// Opens a raw GCS session as [`open_session`](Self::open_session) does,
    /// at a URL of the caller's choosing: another scheme or host, or an
    /// `upload_id` of its own.
    pub fn open_session_at(&self, url: &str, total: Option<u64>) {
        let mut server = self.server();
        let opened = server.open_session(total);
        if let Some(session) = server.sessions.remove(&opened) {
            server.sessions.insert(url.to_owned(), session);
        }
    }

    /// The server, to look at or change between requests.
    pub fn server(&self) -> MutexGuard<'_, Server> {
        self.server.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every request sent so far, in order, the one in flight included.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.wire().exchanges.clone()
    }

    /// How many requests were sent so far, the one in flight included.
    pub fn requests(&self) -> usize {
        self.wire().exchanges.len()
    }

    /// The `Content-Range` of every request that had one, in order.
    pub fn ranges(&self) -> Vec<String> {
        let wire = self.wire();
        let ranges = wire.exchanges.iter();
        ranges.filter_map(|e| e.content_range.clone()).collect()
    }

    /// The object the session at `url` was finalized as; `None` until then.
    pub fn object(&self, url: &str) -> Option<Vec<u8>> {
        let server = self.server();
        let session = server.sessions.get(url)?;
        if session.standing != Standing::Complete {
            return None;
        }
        server.objects.get(&session.gcs_path).cloned()
    }

    /// Where the session at `url` stands; `None` for no such session.
    pub fn standing(&self, url: &str) -> Option<Standing> {
        self.server().sessions.get(url).map(|s| s.standing)
    }

    /// Every protocol rule the server saw the client break, in order.
    pub fn violations(&self) -> Vec<String> {
        self.server().violations.0.clone()
    }

    fn wire(&self) -> MutexGuard<'_, Wire> {
        self.wire.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes `f` of the `n`th exchange (counting from 0).
    fn note(&self, n: usize, f: impl FnOnce(&mut Exchange)) {
        if let Some(exchange) = self.wire().exchanges.get_mut(n) {
            f(exchange);
        }
    }

    async fn exchange(
        self,
        request: http::Request<RequestBody>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let (parts, mut body) = request.into_parts();
        let (n, fault) = {
            let mut wire = self.wire();
            let n = wire.exchanges.len();
            let fault = wire.faults.get(&(n + 1)).copied();
            wire.exchanges.push(Exchange {
                method: parts.method.clone(),
                uri: parts.uri.to_string(),
                content_range: (parts.headers.get(http::header::CONTENT_RANGE))
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
                fault,
                frames: 0,
                largest_frame: 0,
                body_len: 0,
                answer: None,
            });
            (n, fault)
        };
        let fault = match fault {
            Some(SimFault::Stall) => return std::future::pending().await,
            Some(SimFault::Server(fault)) => fault,
            None => Fault::None,
        };
        let mut data = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| TransportError::new(TransportErrorKind::Reset, e))?;
            if let Ok(bytes) = frame.into_data() {
                data.extend_from_slice(&bytes);
                self.note(n, |e| {
                    e.frames += 1;
                    e.largest_frame = e.largest_frame.max(bytes.len());
                    e.body_len = data.len();
                });
            }
        }
        let request = http::Request::from_parts(parts, ());
        // The wall clock only decides when a session expires. The driver
        // reads `SystemTime::now()` for its own wall clock too, so the two
        // agree; tokio's paused clock moves `Instant`s, never the wall time,
        // and no session opened here expires within a test.
        let reply = self
            .server()
            .serve(&request, &data, fault, SystemTime::now());
        let Reply::Response(response) = reply else {
            return Err(TransportError::new(
                TransportErrorKind::Reset,
                "the simulated server reset the connection",
            ));
        };
        self.note(n, |e| {
            e.answer = Some(Answer {
                status: response.status(),
                headers: response.headers().clone(),
            });
        });
        if response.body().len() > MAX_RESPONSE_BODY {
            return Err(TransportError::new(
                TransportErrorKind::BodyTooLarge,
                "the simulated server's answer is larger than a response may be",
            ));
        }
        Ok(response)
    }
}

impl AsyncTransport for SimTransport {
    fn send(
        &mut self,
        request: http::Request<RequestBody>,
    ) -> impl Future<Output = Result<http::Response<Bytes>, TransportError>> + Send {
        self.clone().exchange(request)
    }
}
