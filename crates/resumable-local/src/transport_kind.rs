//! What kind of transport failure an error is, for the parts every
//! transport meets alike: socket and name-resolution errors from std, and
//! (with the `rustls` feature) TLS errors from rustls. A driver's transport
//! maps its client's own error types and asks these for the rest.

use std::error::Error as StdError;
use std::io;

use resumable_core::TransportErrorKind;

/// The kind of a socket or name-resolution error.
///
/// std reports a failed lookup as an `io::Error` whose text carries the
/// resolver's own message (`getaddrinfo`'s `gai_strerror`, Windows'
/// `WSAHOST_NOT_FOUND`); that text is the only place "the name does not
/// exist" can be told apart from "the resolver could not be asked".
pub fn io_kind(error: &io::Error) -> TransportErrorKind {
    use TransportErrorKind as K;
    if let Some(kind) = lookup_kind(error) {
        return kind;
    }
    match error.kind() {
        io::ErrorKind::ConnectionRefused => K::ConnectRefused,
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => K::Timeout,
        io::ErrorKind::UnexpectedEof => K::Truncated,
        io::ErrorKind::InvalidData => K::BadResponse,
        io::ErrorKind::NotFound
        | io::ErrorKind::AddrNotAvailable
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::NetworkDown => K::Connect,
        _ => K::Reset,
    }
}

/// `Some` when `error` is a failed name lookup: whether the name does not
/// exist, or the lookup failed for now.
fn lookup_kind(error: &io::Error) -> Option<TransportErrorKind> {
    // WSAHOST_NOT_FOUND, WSANO_DATA.
    if cfg!(windows) && matches!(error.raw_os_error(), Some(11001 | 11004)) {
        return Some(TransportErrorKind::NoSuchHost);
    }
    let text = error.to_string();
    if !text.contains("failed to lookup address information") {
        return None;
    }
    const NO_SUCH_NAME: [&str; 3] = [
        // glibc and musl: EAI_NONAME, EAI_NODATA.
        "Name or service not known",
        "No address associated with hostname",
        // macOS and the BSDs: EAI_NONAME.
        "nodename nor servname provided",
    ];
    Some(if NO_SUCH_NAME.iter().any(|m| text.contains(m)) {
        TransportErrorKind::NoSuchHost
    } else {
        TransportErrorKind::Dns
    })
}

/// The kind of the first error in `error`'s chain that says what happened:
/// an `io::Error`, or a rustls error with the `rustls` feature. `None` when
/// none does; the caller decides from its own error type.
pub fn chain_kind(error: &(dyn StdError + 'static)) -> Option<TransportErrorKind> {
    let mut current = Some(error);
    while let Some(e) = current {
        #[cfg(feature = "rustls")]
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls_kind(tls));
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            // A TLS error travels inside an `io::Error`: look inside first.
            if let Some(inner) = io.get_ref().and_then(|i| chain_kind(i)) {
                return Some(inner);
            }
            return Some(io_kind(io));
        }
        current = e.source();
    }
    None
}

/// The kind of a rustls error: a certificate the verifier rejected, or a
/// handshake that failed otherwise — most often a peer that does not speak
/// TLS at all, whose plain-text answer rustls reads as a corrupt record.
#[cfg(feature = "rustls")]
pub fn tls_kind(error: &rustls::Error) -> TransportErrorKind {
    match error {
        rustls::Error::InvalidCertificate(_) | rustls::Error::InvalidCertRevocationList(_) => {
            TransportErrorKind::TlsCertificate
        }
        _ => TransportErrorKind::TlsHandshake,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_and_lookup_errors_have_their_kinds() {
        use TransportErrorKind as K;
        let lookup =
            |m: &str| io::Error::other(format!("failed to lookup address information: {m}"));
        assert_eq!(io_kind(&lookup("Name or service not known")), K::NoSuchHost);
        assert_eq!(
            io_kind(&lookup("Temporary failure in name resolution")),
            K::Dns
        );
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(io_kind(&refused), K::ConnectRefused);
        assert_eq!(
            io_kind(&io::Error::from(io::ErrorKind::UnexpectedEof)),
            K::Truncated
        );
        assert_eq!(
            io_kind(&io::Error::from(io::ErrorKind::ConnectionReset)),
            K::Reset
        );
        let wrapped = io::Error::other(refused);
        assert_eq!(chain_kind(&wrapped), Some(K::ConnectRefused));
        assert_eq!(chain_kind(&std::fmt::Error), None);
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn tls_errors_inside_io_errors_have_their_kinds() {
        let bad_cert = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let wrapped = io::Error::new(io::ErrorKind::InvalidData, bad_cert);
        assert_eq!(
            chain_kind(&wrapped),
            Some(TransportErrorKind::TlsCertificate)
        );
        let plain = rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType);
        let wrapped = io::Error::new(io::ErrorKind::InvalidData, plain);
        assert_eq!(chain_kind(&wrapped), Some(TransportErrorKind::TlsHandshake));
    }
}
