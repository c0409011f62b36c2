//! Response bodies, the JSON error shape, and how a handler ends a request.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use hyper::body::{Frame, Incoming, SizeHint};
use serde_json::Value;
use tokio::sync::mpsc;

pub(crate) use resumable_sim::Refusal;

/// A response body: all at once, streamed from a channel (object downloads), or
/// padded to a huge size by a `bloat=` fault.
#[derive(Debug)]
pub(crate) enum Body {
    Full(Option<Bytes>),
    Stream {
        rx: mpsc::Receiver<io::Result<Bytes>>,
        remaining: u64,
    },
    Bloat(Bloat),
    /// These bytes, then an error, so the connection closes before the
    /// `Content-Length` the headers promise (a `cut-close=` fault).
    CutClose(CutClose),
}

/// The body of a `cut-close=` answer.
#[derive(Debug)]
pub(crate) struct CutClose {
    head: Option<Bytes>,
    /// A pause before the error, so the bytes before it reach the client:
    /// the connection flushes while the body is pending, and aborting it
    /// drops what is still buffered.
    pause: Pin<Box<tokio::time::Sleep>>,
}

impl CutClose {
    pub(crate) fn new(head: Bytes) -> Self {
        CutClose {
            head: Some(head).filter(|h| !h.is_empty()),
            pause: Box::pin(tokio::time::sleep(Duration::from_millis(50))),
        }
    }
}

/// What happened to the bodies of `bloat=` faults, over the emulator's life.
#[derive(Debug, Default)]
pub(crate) struct BloatMeter {
    /// Bloated bodies started.
    pub(crate) bodies: AtomicU64,
    /// Their bytes handed to the connection.
    pub(crate) sent: AtomicU64,
    /// Bodies dropped before their end: the client closed the connection.
    pub(crate) cut_off: AtomicU64,
}

/// The real body, then spaces up to the bloated size; JSON stays valid.
#[derive(Debug)]
pub(crate) struct Bloat {
    head: Option<Bytes>,
    pad: u64,
    meter: Arc<BloatMeter>,
}

/// Spaces, handed out in frames of this size.
static PAD: [u8; 64 * 1024] = [b' '; 64 * 1024];

impl Bloat {
    /// `head` padded with spaces to `size` bytes (or `head` alone, if longer).
    pub(crate) fn new(head: Option<Bytes>, size: u64, meter: Arc<BloatMeter>) -> Self {
        let head = head.filter(|h| !h.is_empty());
        let pad = size.saturating_sub(head.as_ref().map_or(0, |h| h.len() as u64));
        meter.bodies.fetch_add(1, Ordering::Relaxed);
        Bloat { head, pad, meter }
    }

    fn remaining(&self) -> u64 {
        self.head.as_ref().map_or(0, |h| h.len() as u64) + self.pad
    }

    fn next(&mut self) -> Option<Bytes> {
        let frame = match self.head.take() {
            Some(head) => head,
            None if self.pad > 0 => {
                let n = usize::try_from(self.pad)
                    .unwrap_or(PAD.len())
                    .min(PAD.len());
                self.pad -= n as u64;
                Bytes::from_static(&PAD[..n])
            }
            None => return None,
        };
        self.meter
            .sent
            .fetch_add(frame.len() as u64, Ordering::Relaxed);
        Some(frame)
    }
}

impl Drop for Bloat {
    fn drop(&mut self) {
        if self.remaining() > 0 {
            self.meter.cut_off.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Body {
    pub(crate) fn empty() -> Self {
        Body::Full(None)
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            Body::Full(b) => Poll::Ready(
                b.take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
            Body::Stream { rx, remaining } => match rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(b))) => {
                    *remaining = remaining.saturating_sub(b.len() as u64);
                    Poll::Ready(Some(Ok(Frame::data(b))))
                }
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
            Body::Bloat(b) => Poll::Ready(b.next().map(|b| Ok(Frame::data(b)))),
            Body::CutClose(cut) => {
                if let Some(head) = cut.head.take() {
                    return Poll::Ready(Some(Ok(Frame::data(head))));
                }
                match cut.pause.as_mut().poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(()) => Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "a cut-close fault ends the body early",
                    )))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(b) => b.as_ref().is_none_or(Bytes::is_empty),
            Body::Stream { remaining, .. } => *remaining == 0,
            Body::Bloat(b) => b.remaining() == 0,
            Body::CutClose(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Stream { remaining, .. } => SizeHint::with_exact(*remaining),
            Body::Bloat(b) => SizeHint::with_exact(b.remaining()),
            // The headers' Content-Length names the whole body.
            Body::CutClose(_) => SizeHint::default(),
        }
    }
}

/// How a handler ends a request.
#[derive(Debug)]
pub(crate) enum Reply {
    /// Send this response.
    Respond(Response<Body>),
    /// Reset the connection without answering.
    Reset,
}

impl From<Response<Body>> for Reply {
    fn from(r: Response<Body>) -> Self {
        Reply::Respond(r)
    }
}

/// A response with a JSON body.
pub(crate) fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let body = Bytes::from(value.to_string());
    let mut r = Response::new(Body::Full(Some(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// The one error shape of every endpoint:
/// `{"error": {"code": 400, "reason": "invalid_argument", "message": "…"}}`.
pub(crate) fn error_response(
    status: StatusCode,
    reason: &'static str,
    message: &str,
) -> Response<Body> {
    json_response(
        status,
        &Refusal::new(status.as_u16(), reason, message).json(),
    )
}

/// The JSON error answer of a refusal (`405` with its `Allow`).
pub(crate) fn refusal_response(refusal: &Refusal) -> Response<Body> {
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = error_response(status, refusal.reason, &refusal.message);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        r.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static(resumable_sim::gcs::ALLOW),
        );
    }
    r
}

/// A response with no body.
pub(crate) fn empty_response(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

/// Reads and discards the rest of a request body in the background, so an early
/// answer reaches a client that writes its whole body before reading.
pub(crate) fn drain(mut body: Incoming, idle: Duration) {
    if hyper::body::Body::is_end_stream(&body) {
        return;
    }
    tokio::spawn(async move {
        while let Ok(Some(Ok(_))) = tokio::time::timeout(idle, body.frame()).await {}
    });
}

/// Why a small body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SmallBody {
    TooLarge,
    Broken,
}

/// Reads a small whole request body (JSON).
pub(crate) async fn read_small(
    mut body: Incoming,
    limit: usize,
    idle: Duration,
) -> Result<Vec<u8>, SmallBody> {
    let mut out = Vec::new();
    loop {
        match tokio::time::timeout(idle, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if out.len() + data.len() > limit {
                        drain(body, idle);
                        return Err(SmallBody::TooLarge);
                    }
                    out.extend_from_slice(&data);
                }
            }
            Ok(None) => return Ok(out),
            Ok(Some(Err(_))) | Err(_) => return Err(SmallBody::Broken),
        }
    }
}
