//! The default HTTPS transport: ureq 3 with rustls.

use std::time::Duration;

use bytes::Bytes;
use resumable_core::{MAX_RESPONSE_BODY, TransportError, TransportErrorKind};
use resumable_local::transport_kind;

use crate::transport::{RequestBody, Transport};

/// A ureq agent configured for the protocol: no redirects followed, every
/// status returned, connect and stall timeouts, pooled keep-alive
/// connections, rustls with the webpki roots.
#[derive(Debug, Clone)]
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl UreqTransport {
    /// A transport that gives up connecting after `connect_timeout` and
    /// fails a request when no byte moves for `stall_timeout`.
    pub fn new(connect_timeout: Duration, stall_timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_connect(Some(connect_timeout))
            .timeout_per_read(Some(stall_timeout))
            .timeout_per_write(Some(stall_timeout))
            .user_agent(concat!("resumable/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
        }
    }
}

impl Default for UreqTransport {
    fn default() -> Self {
        Self::new(Duration::from_secs(30), Duration::from_secs(60))
    }
}

impl Transport for UreqTransport {
    fn send(
        &mut self,
        request: http::Request<RequestBody<'_>>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let (parts, mut body) = request.into_parts();
        let response = if body.is_empty() {
            self.agent
                .run(http::Request::from_parts(parts, ureq::SendBody::none()))
        } else {
            self.agent.run(http::Request::from_parts(
                parts,
                ureq::SendBody::from_reader(&mut body),
            ))
        }
        .map_err(classify)?;
        let (parts, mut body) = response.into_parts();
        let bytes = body
            .with_config()
            .limit(MAX_RESPONSE_BODY as u64)
            .read_to_vec()
            .map_err(classify)?;
        Ok(http::Response::from_parts(parts, Bytes::from(bytes)))
    }
}

/// The kind of a ureq failure: ureq's own variants first, socket, lookup
/// and TLS errors as every transport reads them (`transport_kind`).
fn classify(error: ureq::Error) -> TransportError {
    use TransportErrorKind as K;
    let kind = match &error {
        ureq::Error::Io(e) => transport_kind::chain_kind(e).unwrap_or(K::Reset),
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => K::ConnectTimeout,
        ureq::Error::Timeout(_) | ureq::Error::BodyStalled => K::Timeout,
        // The lookup answered, with no address of a wanted family.
        ureq::Error::HostNotFound => K::NoSuchHost,
        ureq::Error::Rustls(e) => transport_kind::tls_kind(e),
        ureq::Error::Tls(_) => K::TlsHandshake,
        ureq::Error::ConnectionFailed | ureq::Error::ConnectProxyFailed(_) => K::Connect,
        ureq::Error::BodyExceedsLimit(_) => K::BodyTooLarge,
        ureq::Error::Protocol(_) | ureq::Error::LargeResponseHeader(..) => K::BadResponse,
        _ => K::Other,
    };
    TransportError::new(kind, error)
}
