//! The default transport against a raw socket: statuses come back as they
//! are (a 308 is never followed), response bodies are capped.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "hyper")]

use std::time::Duration;

use resumable_core::{MAX_RESPONSE_BODY, TransportErrorKind};
use resumable_tokio::{AsyncTransport, HyperTransport, RequestBody};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// Serves one connection: reads a request head (and no body), writes `head`
/// and then `body_len` bytes of body.
async fn one_shot(head: String, body_len: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/upload?upload_id=x",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).await.unwrap();
            if n == 0 {
                return;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        conn.write_all(head.as_bytes()).await.unwrap();
        let block = vec![b'x'; 64 * 1024];
        let mut left = body_len;
        while left > 0 {
            let n = left.min(block.len());
            if conn.write_all(&block[..n]).await.is_err() {
                return;
            }
            left -= n;
        }
    });
    url
}

fn put(url: &str) -> http::Request<RequestBody> {
    http::Request::put(url)
        .header("content-length", 0)
        .header("content-range", "bytes */*")
        .body(RequestBody::empty())
        .unwrap()
}

#[tokio::test]
async fn a_308_is_an_answer_not_a_redirect() {
    let url = one_shot(
        "HTTP/1.1 308 Permanent Redirect\r\nrange: bytes=0-9\r\nlocation: http://elsewhere.invalid/\r\ncontent-length: 0\r\n\r\n".into(),
        0,
    )
    .await;
    let mut transport = HyperTransport::new(Duration::from_secs(5)).unwrap();
    let response = transport.send(put(&url)).await.unwrap();
    assert_eq!(response.status(), 308);
    assert_eq!(response.headers()["range"], "bytes=0-9");
}

#[tokio::test]
async fn a_body_past_the_cap_is_refused() {
    let len = MAX_RESPONSE_BODY + 1;
    let url = one_shot(
        format!("HTTP/1.1 200 OK\r\ncontent-length: {len}\r\n\r\n"),
        len,
    )
    .await;
    let mut transport = HyperTransport::new(Duration::from_secs(5)).unwrap();
    let err = transport.send(put(&url)).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::BodyTooLarge, "{err}");

    let url = one_shot(
        format!("HTTP/1.1 200 OK\r\ncontent-length: {MAX_RESPONSE_BODY}\r\n\r\n"),
        MAX_RESPONSE_BODY,
    )
    .await;
    let response = transport.send(put(&url)).await.unwrap();
    assert_eq!(response.body().len(), MAX_RESPONSE_BODY);
}

#[tokio::test]
async fn a_cut_off_answer_and_a_refused_connection_are_classified() {
    let url = one_shot("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n".into(), 10).await;
    let mut transport = HyperTransport::new(Duration::from_secs(5)).unwrap();
    let err = transport.send(put(&url)).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Truncated, "{err:?}");

    // A port nobody listens on.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = transport
        .send(put(&format!("http://{addr}/x")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::ConnectRefused, "{err:?}");
}
