//! The async transport: how one request reaches the network and its answer
//! comes back. Any HTTP client plugs in by implementing [`AsyncTransport`].

use std::future::Future;

use bytes::Bytes;
use resumable_core::TransportError;

use crate::body::RequestBody;

/// Sends one request and returns its whole response.
///
/// The driver calls [`send`](AsyncTransport::send) once per request, one
/// request at a time, and feeds a data request's body while it awaits the
/// answer. An implementation must:
///
/// - send the method, URI and every header as given (`Content-Length`
///   included, `0` too) and stream the body to its end, polling it as it
///   writes (the driver's stall timeout measures how fast it is polled);
/// - never follow redirects and return every status as a response: a `308`
///   is the protocol's answer, not a redirect;
/// - read the response body whole, but stop past
///   [`resumable_core::MAX_RESPONSE_BODY`] bytes with
///   [`resumable_core::TransportErrorKind::BodyTooLarge`];
/// - report every failure below HTTP as a [`TransportError`] whose kind
///   says what happened (connect, reset, timeout, bad response), which the
///   engine uses to decide how to retry;
/// - when the body fails with [`crate::BodyError`], abandon the request.
///
/// The driver may drop the returned future at any point (a stall timeout,
/// the caller dropping the upload's future); the request is then abandoned.
pub trait AsyncTransport: Send {
    /// Sends `request`; a failure below HTTP is a [`TransportError`].
    fn send(
        &mut self,
        request: http::Request<RequestBody>,
    ) -> impl Future<Output = Result<http::Response<Bytes>, TransportError>> + Send;
}

impl<T: AsyncTransport> AsyncTransport for &mut T {
    fn send(
        &mut self,
        request: http::Request<RequestBody>,
    ) -> impl Future<Output = Result<http::Response<Bytes>, TransportError>> + Send {
        (**self).send(request)
    }
}

impl<T: AsyncTransport> AsyncTransport for Box<T> {
    fn send(
        &mut self,
        request: http::Request<RequestBody>,
    ) -> impl Future<Output = Result<http::Response<Bytes>, TransportError>> + Send {
        (**self).send(request)
    }
}
