//! The blocking transport: how a request reaches the network.

use std::fmt;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use resumable_core::{Body, TransportError, Upload};

use crate::source::Source;

/// Sends one request and returns the whole response.
///
/// An implementation must send every header as given (`Content-Length`
/// included), stream the body by reading [`RequestBody`] to its end, never
/// follow redirects, return every status as a response (a `308` is an
/// answer), and stop reading a response body past
/// [`resumable_core::MAX_RESPONSE_BODY`] bytes with
/// [`resumable_core::TransportErrorKind::BodyTooLarge`].
pub trait Transport {
    /// Sends `request`; a failure below HTTP is a [`TransportError`].
    fn send(
        &mut self,
        request: http::Request<RequestBody<'_>>,
    ) -> Result<http::Response<Bytes>, TransportError>;
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn send(
        &mut self,
        request: http::Request<RequestBody<'_>>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        (**self).send(request)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send(
        &mut self,
        request: http::Request<RequestBody<'_>>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        (**self).send(request)
    }
}

/// The body of a request, read by the transport. Source bytes are read on
/// demand into the transport's buffer and fed to the upload's checksum as
/// they go; nothing else is copied.
pub struct RequestBody<'a> {
    inner: Inner<'a>,
    len: u64,
}

enum Inner<'a> {
    Empty,
    Json(io::Cursor<Bytes>),
    Source {
        source: &'a mut dyn Source,
        upload: &'a mut Upload,
        pos: u64,
        end: u64,
        error: &'a mut Option<io::Error>,
        stop: &'a AtomicBool,
    },
}

impl fmt::Debug for RequestBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl<'a> RequestBody<'a> {
    /// The body for `body`, reading source bytes from `source` and feeding
    /// them to `upload`'s checksum. A source failure is kept in `error`, so
    /// the driver can tell it from a network failure; once `stop` is set the
    /// body fails, so a stop does not wait for the request to finish.
    pub(crate) fn new(
        body: &Body,
        source: &'a mut dyn Source,
        upload: &'a mut Upload,
        error: &'a mut Option<io::Error>,
        stop: &'a AtomicBool,
    ) -> Self {
        let len = body.len();
        let inner = match body {
            Body::Json(json) => Inner::Json(io::Cursor::new(json.clone())),
            Body::Source(range) => Inner::Source {
                source,
                upload,
                pos: range.start,
                end: range.end,
                error,
                stop,
            },
            _ => Inner::Empty,
        };
        Self { inner, len }
    }

    /// The body's length in bytes, as the `Content-Length` header says.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Read for RequestBody<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Empty => Ok(0),
            Inner::Json(cursor) => cursor.read(buf),
            Inner::Source {
                source,
                upload,
                pos,
                end,
                error,
                stop,
            } => {
                if stop.load(Ordering::SeqCst) {
                    return Err(io::Error::new(io::ErrorKind::Interrupted, "upload stopped"));
                }
                let want = usize::try_from(*end - *pos)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                if want == 0 {
                    return Ok(0);
                }
                let chunk = &mut buf[..want];
                let failed = match source.read_at(*pos, chunk) {
                    Ok(0) => io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the source ended early (did it shrink?)",
                    ),
                    Ok(n) => {
                        upload.feed_checksum(*pos, &chunk[..n]);
                        *pos += n as u64;
                        return Ok(n);
                    }
                    Err(e) => e,
                };
                // The driver reports the error itself (OS code and all); the
                // transport only needs to abandon the request.
                let kind = failed.kind();
                **error = Some(failed);
                Err(io::Error::new(kind, "reading the source failed"))
            }
        }
    }
}
