//! A run whose first request cannot reach any server ends at once, without
//! a retry, naming what failed and where, with the fix that failure calls
//! for: a name that does not exist, a port nothing listens on, https to a
//! plain-http port, and a certificate no public root vouches for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::sync::Arc;

use resumable_emulator::{Emulator, Storage};
use serde_json::Value;

/// Runs `resumable upload --json` of a small file against `api_url`;
/// returns the stdout records and stderr.
fn upload_to(api_url: &str) -> (Vec<Value>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.bin");
    std::fs::write(&file, [7u8; 1000]).unwrap();
    let out = support::resumable("test-key", &dir.path().join("state"))
        .current_dir(dir.path())
        .args([
            "upload",
            "--org",
            "org_1",
            "--api-url",
            api_url,
            "--json",
            "f.bin",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let records = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (records, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The run failed with `phrase` and `host` in its error and `kind` as its
/// kind, and never retried.
fn assert_failed_at_once(api_url: &str, kind: &str, phrase: &str, host: &str, fix: &str) {
    let (records, stderr) = upload_to(api_url);
    assert!(
        !records.iter().any(|r| r["type"] == "retrying"),
        "{api_url}: retried: {records:?}"
    );
    let result = records
        .iter()
        .find(|r| r["type"] == "result")
        .expect("a result record");
    assert_eq!(result["status"], "failed", "{result}");
    assert_eq!(result["kind"], kind, "{result}");
    let error = result["error"].as_str().unwrap();
    for needle in [phrase, host, fix] {
        assert!(
            error.contains(needle),
            "{api_url}: {needle:?} not in {error:?}"
        );
    }
    assert!(stderr.contains(phrase), "{stderr}");
}

/// A port that was free a moment ago.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn a_name_that_does_not_exist() {
    // `.invalid` never resolves (RFC 6761).
    assert_failed_at_once(
        "https://files.resumable.invalid",
        "network",
        "no such host",
        "files.resumable.invalid",
        "check the host name",
    );
}

#[test]
fn a_port_nothing_listens_on() {
    let port = closed_port();
    assert_failed_at_once(
        &format!("http://127.0.0.1:{port}"),
        "network",
        "connection refused",
        &format!("127.0.0.1:{port}"),
        "check the URL's port",
    );
}

#[test]
fn https_to_a_plain_http_port() {
    let emu = Emulator::builder()
        .api_key("test-key")
        .storage(Storage::Memory)
        .start_in_background()
        .unwrap();
    let port = emu.addr().port();
    assert_failed_at_once(
        &format!("https://127.0.0.1:{port}"),
        "tls",
        "TLS handshake",
        &format!("127.0.0.1:{port}"),
        "is it http://",
    );
    assert!(emu.request_log().is_empty(), "no HTTP request reached it");
}

#[test]
fn a_self_signed_certificate() {
    let port = self_signed_server();
    assert_failed_at_once(
        &format!("https://localhost:{port}"),
        "tls",
        "TLS certificate",
        &format!("localhost:{port}"),
        "self-signed",
    );
}

/// A TLS server with a self-signed certificate for `localhost`, on a
/// thread: it completes handshakes its clients accept, and answers nothing.
fn self_signed_server() -> u16 {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = rustls::pki_types::CertificateDer::from(cert.cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    let config = support::tls_server_config(vec![der], key);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let Ok(conn) = rustls::ServerConnection::new(Arc::clone(&config)) else {
                continue;
            };
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            // The client aborts the handshake; whatever this reads ends it.
            let mut buf = [0u8; 512];
            let _ = tls.read(&mut buf);
            let _ = tls.flush();
        }
    });
    port
}
