//! Trust: a server whose certificate comes from a CA of one's own is
//! refused by default, and trusted with `--ca-cert FILE` or `SSL_CERT_FILE`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use resumable_emulator::EmulatorHandle;
use serde_json::Value;

const KEY: &str = "test-key";

/// A CA of the test's own, and a TLS server for `localhost` with a
/// certificate it signed, which forwards every connection to `backend` in
/// plain text. Returns the CA's PEM and the server's port.
fn tls_front(backend: u16) -> (String, u16) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "resumable test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let chain = vec![
        rustls::pki_types::CertificateDer::from(leaf.der().to_vec()),
        rustls::pki_types::CertificateDer::from(ca.der().to_vec()),
    ];
    let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap();
    let config = support::tls_server_config(chain, key);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            std::thread::spawn(move || forward(tcp, config, backend));
        }
    });
    (ca.pem(), port)
}

/// Carries bytes both ways between a TLS client on `tcp` and `backend`,
/// polling each side in turn, until either closes.
fn forward(tcp: TcpStream, config: Arc<rustls::ServerConfig>, backend: u16) {
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let Ok(mut plain) = TcpStream::connect(("127.0.0.1", backend)) else {
        return;
    };
    let poll = Some(Duration::from_millis(2));
    tcp.set_read_timeout(poll).unwrap();
    plain.set_read_timeout(poll).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut buf = vec![0u8; 64 << 10];
    let quiet =
        |e: &std::io::Error| matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
    loop {
        match tls.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if plain.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e) if quiet(&e) => {}
            Err(_) => return,
        }
        match plain.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if tls.write_all(&buf[..n]).and_then(|()| tls.flush()).is_err() {
                    return;
                }
            }
            Err(e) if quiet(&e) => {}
            Err(_) => return,
        }
    }
}

/// `resumable upload --json` of a small file to the file API at `api_url`,
/// with `extra` options and `env` set.
fn upload(dir: &Path, api_url: &str, extra: &[&str], env: &[(&str, &Path)]) -> Output {
    std::fs::write(dir.join("f.bin"), [5u8; 3000]).unwrap();
    let mut cmd = support::resumable(KEY, &dir.join("state"));
    cmd.current_dir(dir)
        .env_remove("SSL_CERT_FILE")
        .args(["upload", "f.bin", "--json", "--restart", "--org", "org_1"])
        .args(["--api-url", api_url])
        .args(extra);
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().unwrap()
}

fn result(out: &Output) -> Value {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["type"] == "result")
        .expect("a result")
}

fn emulator() -> EmulatorHandle {
    support::emulator(KEY, "")
}

#[test]
fn a_private_ca_is_refused_until_trusted_with_ca_cert_or_ssl_cert_file() {
    let emu = emulator();
    let (ca_pem, port) = tls_front(emu.addr().port());
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();
    let api_url = format!("https://localhost:{port}");

    let out = upload(dir.path(), &api_url, &[], &[]);
    assert_eq!(out.status.code(), Some(1));
    let refused = result(&out);
    assert_eq!(refused["kind"], "tls", "{refused}");
    let error = refused["error"].as_str().unwrap();
    assert!(
        error.contains("TLS certificate") && error.contains("pass --ca-cert FILE"),
        "{error}"
    );
    assert!(
        emu.request_log().is_empty(),
        "nothing got past the handshake"
    );

    let out = upload(
        dir.path(),
        &api_url,
        &["--ca-cert", ca_file.to_str().unwrap()],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(result(&out)["status"], "done");

    let out = upload(dir.path(), &api_url, &[], &[("SSL_CERT_FILE", &ca_file)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(emu.registrations(), 2);
}

#[test]
fn a_certificate_file_that_is_not_pem_is_a_usage_error() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let out = upload(
        dir.path(),
        emu.base_url(),
        &["--ca-cert", junk.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("junk.pem (--ca-cert) cannot be used")
            && stderr.contains("BEGIN CERTIFICATE"),
        "{stderr}"
    );
    let missing = dir.path().join("missing.pem");
    let out = upload(
        dir.path(),
        emu.base_url(),
        &[],
        &[("SSL_CERT_FILE", &missing)],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing.pem (SSL_CERT_FILE)"), "{stderr}");
    assert!(emu.request_log().is_empty());
}
