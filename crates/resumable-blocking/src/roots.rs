//! The roots the default transport trusts: the webpki roots (the system's
//! with the `native-roots` feature), and any of one's own added to them.

use std::sync::Arc;

use resumable_local::TransportSetupError;
use ureq::tls::{Certificate, PemItem, RootCerts};

/// The certificates in `pem`: one or more `-----BEGIN CERTIFICATE-----`
/// blocks (other blocks, such as keys, are passed over). Fails on text that
/// is not PEM, and on PEM that holds no certificate.
pub(crate) fn pem_certificates(
    pem: &[u8],
) -> Result<Vec<Certificate<'static>>, TransportSetupError> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(e) => {
                return Err(TransportSetupError::new(
                    "not a PEM certificate file",
                    Some(Box::new(e)),
                ));
            }
        }
    }
    if certs.is_empty() {
        return Err(TransportSetupError::new(
            "no certificate in the PEM text (no -----BEGIN CERTIFICATE----- block)",
            None,
        ));
    }
    Ok(certs)
}

/// The roots to trust: the base set, and `extra` besides.
pub(crate) fn root_certs(extra: &[Certificate<'static>]) -> RootCerts {
    #[cfg(not(feature = "native-roots"))]
    if extra.is_empty() {
        return RootCerts::WebPki;
    }
    let mut all = base();
    all.extend(extra.iter().cloned());
    RootCerts::Specific(Arc::new(all))
}

/// The Mozilla roots of `webpki-root-certs`: the same on every machine.
fn webpki() -> Vec<Certificate<'static>> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect()
}

/// The webpki roots.
#[cfg(not(feature = "native-roots"))]
fn base() -> Vec<Certificate<'static>> {
    webpki()
}

/// The operating system's trusted roots (`SSL_CERT_FILE` and `SSL_CERT_DIR`
/// first, when set); the webpki roots, with a warning, when it has none
/// (e.g. a container without a CA bundle), so that a missing bundle fails
/// only the hosts it would have vouched for.
#[cfg(feature = "native-roots")]
fn base() -> Vec<Certificate<'static>> {
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        let detail = found
            .errors
            .first()
            .map_or_else(|| "none found".to_owned(), ToString::to_string);
        tracing::warn!(%detail, "no usable system root certificate: using the webpki roots");
        return webpki();
    }
    found
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQm9ndXMgYnV0IHdlbGwtZm9ybWVkMAoGCCqGSM49BAMC\n-----END CERTIFICATE-----\n";

    #[test]
    fn pem_text_gives_its_certificates_or_a_clear_error() {
        let two = format!("{PEM}{PEM}");
        assert_eq!(pem_certificates(two.as_bytes()).unwrap().len(), 2);
        let none = pem_certificates(b"hello").unwrap_err();
        assert!(none.to_string().contains("no certificate"), "{none}");
        let key_only = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(pem_certificates(key_only).is_err());
    }

    #[test]
    fn extra_roots_join_the_base_set() {
        let extra = pem_certificates(PEM.as_bytes()).unwrap();
        match root_certs(&extra) {
            RootCerts::Specific(all) => {
                assert!(all.len() > 1);
                assert_eq!(all.last().unwrap().der(), extra[0].der());
            }
            other => panic!("{other:?}"),
        }
    }
}
