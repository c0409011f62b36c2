//! The request body a transport sends: empty, a small JSON document, or
//! source bytes streamed in frames by the driver.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::mpsc;

/// The body of a request handed to an [`crate::AsyncTransport`].
///
/// It implements [`http_body::Body`]: poll it (or collect it) like any
/// body. A data request's bytes arrive in frames the driver reads from the
/// source while the transport sends them, so no chunk is ever held whole in
/// memory. The body ends with an error ([`BodyError`]) when the driver gives
/// the request up before its end; the transport then abandons the request.
pub struct RequestBody {
    inner: Inner,
    /// Bytes not yet yielded; the `Content-Length` of a fresh body.
    remaining: u64,
}

enum Inner {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Bytes>),
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.inner {
            Inner::Full(_) => "full",
            Inner::Stream(_) => "stream",
        };
        f.debug_struct("RequestBody")
            .field("kind", &kind)
            .field("remaining", &self.remaining)
            .finish()
    }
}

/// The driver gave up a request before its body ended (the source failed,
/// or the upload's future was dropped). Abandon the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body was abandoned before its end")]
pub struct BodyError;

impl RequestBody {
    /// An empty body.
    #[must_use]
    pub fn empty() -> Self {
        Self::full(Bytes::new())
    }

    /// A body of these bytes, yielded as one frame.
    #[must_use]
    pub fn full(bytes: Bytes) -> Self {
        Self {
            remaining: bytes.len() as u64,
            inner: Inner::Full(Some(bytes).filter(|b| !b.is_empty())),
        }
    }

    /// A streamed body of exactly `len` bytes, and the sender that feeds it
    /// (at most `frames` frames wait in between).
    pub(crate) fn channel(len: u64, frames: usize) -> (mpsc::Sender<Bytes>, Self) {
        let (tx, rx) = mpsc::channel(frames.max(1));
        let body = Self {
            inner: Inner::Stream(rx),
            remaining: len,
        };
        (tx, body)
    }

    /// Bytes of the body not yet yielded (all of them, before the first poll).
    #[must_use]
    pub fn len(&self) -> u64 {
        self.remaining
    }

    /// Whether no byte is left to yield.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        match &mut this.inner {
            Inner::Full(bytes) => {
                this.remaining = 0;
                Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b))))
            }
            Inner::Stream(rx) => match rx.poll_recv(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Some(frame)) if frame.len() as u64 <= this.remaining => {
                    this.remaining -= frame.len() as u64;
                    Poll::Ready(Some(Ok(Frame::data(frame))))
                }
                // More bytes than announced, or the driver gave up early.
                Poll::Ready(_) => {
                    this.remaining = 0;
                    Poll::Ready(Some(Err(BodyError)))
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
