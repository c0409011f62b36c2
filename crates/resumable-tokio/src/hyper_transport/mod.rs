//! The default transport: hyper 1 and hyper-util's pooled client over
//! rustls, HTTP/2 where the server offers it (ALPN), HTTP/1.1 otherwise.

mod connect;
mod tls;

use std::error::Error as StdError;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use resumable_core::{MAX_RESPONSE_BODY, TransportError, TransportErrorKind};

use crate::body::RequestBody;
use crate::transport::{AsyncTransport, InterimResponses};
use connect::TimeoutConnector;
use resumable_local::{TransportSetupError, transport_kind};

type Connector = TimeoutConnector<HttpsConnector<HttpConnector>>;

/// hyper's pooled client, set up for the protocol: rustls (`ring`) with
/// the webpki roots (the system's with the `native-roots` feature), HTTP/2
/// by ALPN or HTTP/1.1, kept-alive connections reused across chunks, no
/// redirect ever followed (every status comes back as a response), response
/// bodies read up to [`MAX_RESPONSE_BODY`], and a timeout on opening a
/// connection.
///
/// [`crate::Uploader::new`] builds one; build it yourself, and pass it to
/// [`crate::Uploader::with_transport`], to trust another certificate
/// authority or to share one connection pool between uploaders (clones
/// share the pool).
#[derive(Debug, Clone)]
pub struct HyperTransport {
    client: Client<Connector, RequestBody>,
}

impl HyperTransport {
    /// A transport whose connections give up opening (resolve, TCP, TLS)
    /// after `connect_timeout`.
    ///
    /// Fails only when TLS cannot be set up: the `ring` provider offers no
    /// protocol version rustls accepts. (A system without root certificates,
    /// with `native-roots`, falls back to the webpki roots with a warning.)
    pub fn new(connect_timeout: Duration) -> Result<Self, TransportSetupError> {
        Ok(Self::with_tls_config(
            tls::client_config()?,
            connect_timeout,
        ))
    }

    /// A transport with a TLS configuration of your own, e.g. trusting a
    /// private certificate authority. Its ALPN protocols are replaced with
    /// `h2` and `http/1.1`.
    #[must_use]
    pub fn with_tls_config(tls: rustls::ClientConfig, connect_timeout: Duration) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let connector = TimeoutConnector {
            inner: https,
            timeout: connect_timeout,
        };
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .build(connector);
        Self { client }
    }
}

impl AsyncTransport for HyperTransport {
    fn send(
        &mut self,
        mut request: http::Request<RequestBody>,
    ) -> impl Future<Output = Result<http::Response<Bytes>, TransportError>> + Send {
        if let Some(interim) = request.extensions_mut().remove::<InterimResponses>() {
            // HTTP/1 only: hyper tells no interim response of HTTP/2.
            hyper::ext::on_informational(&mut request, move |response| {
                interim.arrived(response.status(), response.headers().clone());
            });
        }
        let responding = self.client.request(request);
        async move {
            let response = responding.await.map_err(|e| {
                let kind = classify(&e, e.is_connect());
                TransportError::new(kind, e)
            })?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_RESPONSE_BODY)
                .collect()
                .await
                .map_err(|e| {
                    let kind = if e.is::<LengthLimitError>() {
                        TransportErrorKind::BodyTooLarge
                    } else {
                        classify(&*e, false)
                    };
                    TransportError::new(kind, e)
                })?
                .to_bytes();
            Ok(http::Response::from_parts(parts, body))
        }
    }
}

/// What kind of failure an error (or any error in its chain) was; while
/// `connecting`, what is not told apart otherwise is a failed connect.
fn classify(error: &(dyn StdError + 'static), connecting: bool) -> TransportErrorKind {
    use TransportErrorKind as K;
    if let Some(kind) = transport_kind::chain_kind(error) {
        return match kind {
            K::Timeout if connecting => K::ConnectTimeout,
            K::Reset | K::Other if connecting => K::Connect,
            kind => kind,
        };
    }
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_timeout() {
                return K::Timeout;
            }
            if h.is_parse() || h.is_parse_status() {
                return K::BadResponse;
            }
            if h.is_incomplete_message() || h.is_canceled() || h.is_closed() {
                // Look deeper for an io error, else it was a closed connection.
                if h.source().is_none() {
                    return K::Reset;
                }
            }
        }
        current = e.source();
    }
    if connecting { K::Connect } else { K::Other }
}
