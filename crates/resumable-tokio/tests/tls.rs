//! The default transport over TLS: HTTP/2 when the server offers it by
//! ALPN, HTTP/1.1 otherwise, a streamed body either way; and a TLS
//! handshake that never ends is bounded by the connect timeout.

#![cfg(feature = "hyper")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use resumable_core::crc32c_base64;
use resumable_core::{Chunking, SessionUrl, TransportErrorKind};
use resumable_tokio::rustls::{self, pki_types::CertificateDer};
use resumable_tokio::{AsyncTransport, BytesSource, HyperTransport, RequestBody, Uploader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// What the server saw: each request's HTTP version and body length.
type Seen = Arc<Mutex<Vec<(http::Version, usize)>>>;

/// A one-object GCS session over TLS for `localhost`, speaking the ALPN
/// protocols given; returns its URL, the client config trusting it, and
/// what it saw.
async fn server(alpn: &[&[u8]]) -> (String, rustls::ClientConfig, Seen) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_der = CertificateDer::from(cert.cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server_config = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key)
        .unwrap();
    server_config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der).unwrap();
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = TlsAcceptor::from(Arc::new(server_config));
    let seen = Seen::default();
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let tls = acceptor.accept(tcp).await.unwrap();
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            let log = Arc::clone(&log);
            let service = service_fn(move |req: hyper::Request<Incoming>| {
                let log = Arc::clone(&log);
                async move {
                    let version = req.version();
                    let body = req.into_body().collect().await?.to_bytes();
                    log.lock().unwrap().push((version, body.len()));
                    let response = if body.is_empty() {
                        hyper::Response::builder()
                            .status(308)
                            .body(Full::new(Bytes::new()))
                    } else {
                        let crc = crc32c_base64(crc32c::crc32c(&body));
                        let json = format!(r#"{{"size":"{}","crc32c":"{crc}"}}"#, body.len());
                        hyper::Response::builder()
                            .status(200)
                            .body(Full::new(Bytes::from(json)))
                    };
                    Ok::<_, hyper::Error>(response.unwrap())
                }
            });
            let io = TokioIo::new(tls);
            tokio::spawn(async move {
                if h2 {
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(io, service)
                        .await;
                } else {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                }
            });
        }
    });
    let url = format!("https://localhost:{port}/upload/storage/v1/b/b/o?upload_id=x");
    (url, client_config, seen)
}

async fn upload_over(alpn: &[&[u8]]) -> Vec<(http::Version, usize)> {
    let (url, tls, seen) = server(alpn).await;
    let transport = HyperTransport::with_tls_config(tls, Duration::from_secs(10));
    let source: Bytes = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let outcome = Uploader::with_transport(transport)
        .chunking(Chunking::SingleRequest)
        .upload_to_session(SessionUrl::new(url), &mut BytesSource::new(source.clone()))
        .await
        .unwrap();
    assert_eq!(outcome.crc32c, Some(crc32c::crc32c(&source)));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.last().unwrap().1, source.len());
    seen
}

#[tokio::test]
async fn http2_is_negotiated_when_offered() {
    let seen = upload_over(&[b"h2", b"http/1.1"]).await;
    assert!(
        seen.iter().all(|(v, _)| *v == http::Version::HTTP_2),
        "{seen:?}"
    );
}

#[tokio::test]
async fn http1_is_used_when_the_server_offers_only_that() {
    let seen = upload_over(&[b"http/1.1"]).await;
    assert!(
        seen.iter().all(|(v, _)| *v == http::Version::HTTP_11),
        "{seen:?}"
    );
}

#[tokio::test]
async fn an_unknown_certificate_is_a_certificate_failure() {
    let (url, _trusting, _) = server(&[b"h2"]).await;
    // The default transport trusts the public roots only.
    let mut transport = HyperTransport::new(Duration::from_secs(10)).unwrap();
    let request = http::Request::put(url)
        .header("content-length", 0)
        .body(RequestBody::empty())
        .unwrap();
    let err = transport.send(request).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::TlsCertificate, "{err:?}");
}

#[tokio::test]
async fn https_to_a_plain_http_port_is_a_handshake_failure() {
    // A plain HTTP/1.1 server: its answer to a ClientHello is not TLS.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            let mut buf = [0u8; 1024];
            let _ = tcp.read(&mut buf).await;
            let _ = tcp
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let mut transport = HyperTransport::new(Duration::from_secs(10)).unwrap();
    let request = http::Request::put(format!("https://localhost:{port}/x"))
        .header("content-length", 0)
        .body(RequestBody::empty())
        .unwrap();
    let err = transport.send(request).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::TlsHandshake, "{err:?}");
}

#[tokio::test]
async fn a_handshake_that_never_ends_is_bounded_by_the_connect_timeout() {
    // Accepts TCP, then never says a word.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let mut transport = HyperTransport::new(Duration::from_millis(200)).unwrap();
    let request = http::Request::put(format!("https://localhost:{port}/x"))
        .header("content-length", 0)
        .body(RequestBody::empty())
        .unwrap();
    let err = transport.send(request).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::ConnectTimeout, "{err:?}");
    assert!(
        format!("{err:?}").contains("connecting took longer"),
        "{err:?}"
    );
}
