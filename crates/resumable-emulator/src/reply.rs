//! Response bodies, the JSON error shape, and how a handler ends a request.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use hyper::body::{Frame, Incoming, SizeHint};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// A response body: all at once, or streamed from a channel (object downloads).
#[derive(Debug)]
pub(crate) enum Body {
    Full(Option<Bytes>),
    Stream {
        rx: mpsc::Receiver<io::Result<Bytes>>,
        remaining: u64,
    },
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
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(b) => b.as_ref().is_none_or(Bytes::is_empty),
            Body::Stream { remaining, .. } => *remaining == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Stream { remaining, .. } => SizeHint::with_exact(*remaining),
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
pub(crate) fn error_response(status: StatusCode, reason: &str, message: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"error": {"code": status.as_u16(), "reason": reason, "message": message}}),
    )
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
