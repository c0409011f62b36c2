//! The TLS setup: rustls with the `ring` provider, the webpki roots (or the
//! system's with the `native-roots` feature), ALPN for HTTP/2 and HTTP/1.1.

use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};

use resumable_local::TransportSetupError;

/// A client config on the `ring` provider, named explicitly so that no
/// process-wide default provider is needed (and none is disturbed).
pub(crate) fn client_config() -> Result<ClientConfig, TransportSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportSetupError::new("no TLS protocol version", Some(Box::new(e))))?
        .with_root_certificates(roots()?)
        .with_no_client_auth();
    Ok(config)
}

/// The Mozilla roots bundled by `webpki-roots`: the same on every machine.
fn webpki() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The webpki roots.
#[cfg(not(feature = "native-roots"))]
fn roots() -> Result<RootCertStore, TransportSetupError> {
    Ok(webpki())
}

/// The operating system's trusted roots; the webpki roots, with a warning,
/// when the system has none (e.g. a container without a CA bundle), so
/// that a missing bundle fails only the hosts it would have vouched for.
#[cfg(feature = "native-roots")]
fn roots() -> Result<RootCertStore, TransportSetupError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let detail = found
            .errors
            .first()
            .map_or_else(|| "none found".to_owned(), ToString::to_string);
        tracing::warn!(%detail, "no usable system root certificate: using the webpki roots");
        return Ok(webpki());
    }
    Ok(roots)
}
