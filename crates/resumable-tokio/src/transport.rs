//! The async transport: how one request reaches the network and its answer
//! comes back. Any HTTP client plugs in by implementing [`AsyncTransport`].

use std::future::Future;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use resumable_core::TransportError;
use tokio::sync::mpsc;

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
/// - when the body fails with [`crate::BodyError`], abandon the request;
/// - where the client can surface interim (`1xx`) responses, take the
///   request's [`InterimResponses`] extension and hand each one to it as
///   it arrives, before the final response ([`HyperTransport`] does). A
///   transport that cannot leaves it: the upload then learns nothing
///   mid-request, so the IETF draft's optimistic creation is not
///   resumable until its answer arrives (use the careful strategy there).
///
/// [`HyperTransport`]: crate::HyperTransport
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

/// Where a transport hands the interim (`1xx`) responses to a request: an
/// extension of every request the driver sends. Take it out with
/// `request.extensions_mut().remove::<InterimResponses>()` and call
/// [`InterimResponses::arrived`] for each, in the order they arrive.
#[derive(Debug, Clone)]
pub struct InterimResponses(mpsc::UnboundedSender<(StatusCode, HeaderMap)>);

impl InterimResponses {
    /// A sender for the driver, and the receiver it reads.
    pub(crate) fn channel() -> (Self, mpsc::UnboundedReceiver<(StatusCode, HeaderMap)>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self(tx), rx)
    }

    /// An interim response to the request arrived. Once the request is
    /// over, the driver no longer listens: the call does nothing.
    pub fn arrived(&self, status: StatusCode, headers: HeaderMap) {
        let _ = self.0.send((status, headers));
    }
}
