//! The default HTTPS transport: ureq 3 with rustls.

use std::time::Duration;

use bytes::Bytes;
use resumable_core::{MAX_RESPONSE_BODY, TransportError, TransportErrorKind};
use resumable_local::{TransportSetupError, transport_kind};
use ureq::tls::Certificate;

use crate::roots;

use crate::transport::{RequestBody, Transport};

/// A ureq agent configured for the protocol: no redirects followed, every
/// status returned, connect and stall timeouts, pooled keep-alive
/// connections, rustls trusting the webpki roots (the system's with the
/// `native-roots` feature) and any added with
/// [`UreqTransportBuilder::add_pem_roots`].
#[derive(Debug, Clone)]
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl UreqTransport {
    /// A transport that gives up connecting after `connect_timeout` and
    /// fails a request when no byte moves for `stall_timeout`, trusting
    /// the default roots.
    pub fn new(connect_timeout: Duration, stall_timeout: Duration) -> Self {
        Self::with_roots(connect_timeout, stall_timeout, &[])
    }

    /// A builder, to set the timeouts and add roots of one's own.
    pub fn builder() -> UreqTransportBuilder {
        UreqTransportBuilder::default()
    }

    fn with_roots(
        connect_timeout: Duration,
        stall_timeout: Duration,
        extra_roots: &[Certificate<'static>],
    ) -> Self {
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(roots::root_certs(extra_roots))
            .build();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_connect(Some(connect_timeout))
            .timeout_per_read(Some(stall_timeout))
            .timeout_per_write(Some(stall_timeout))
            .tls_config(tls)
            .user_agent(concat!("resumable/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
        }
    }
}

impl Default for UreqTransport {
    fn default() -> Self {
        Self::builder().build()
    }
}

/// Sets up a [`UreqTransport`]: its timeouts (30 s to connect, 60 s with
/// no byte moving, by default) and roots to trust besides the default ones
/// (a private CA, a self-signed server). Finish with
/// [`build`](Self::build).
#[derive(Debug, Clone)]
pub struct UreqTransportBuilder {
    connect_timeout: Duration,
    stall_timeout: Duration,
    extra_roots: Vec<Certificate<'static>>,
}

impl Default for UreqTransportBuilder {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(30),
            stall_timeout: Duration::from_secs(60),
            extra_roots: Vec::new(),
        }
    }
}

impl UreqTransportBuilder {
    /// How long connecting may take.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a request may go without a byte moving either way.
    #[must_use]
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// Trusts the certificates in `pem` (one or more `-----BEGIN
    /// CERTIFICATE-----` blocks, e.g. a CA file) besides the default roots.
    ///
    /// # Errors
    /// When `pem` is not PEM, or holds no certificate; nothing is added.
    pub fn add_pem_roots(mut self, pem: &[u8]) -> Result<Self, TransportSetupError> {
        self.extra_roots.extend(roots::pem_certificates(pem)?);
        Ok(self)
    }

    /// The transport.
    pub fn build(self) -> UreqTransport {
        UreqTransport::with_roots(self.connect_timeout, self.stall_timeout, &self.extra_roots)
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
