//! What the CLI's test binaries share.
#![allow(clippy::unwrap_used)]

#[cfg(target_os = "linux")]
pub(crate) mod crash;

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The `resumable` binary with a clean environment: `key` as its API key,
/// `state` as its checkpoint directory, and nothing of the caller's
/// organization, API URL or log filter.
pub(crate) fn resumable(key: &str, state: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_resumable"));
    cmd.env_remove("FREDDY_ORG")
        .env_remove("FREDDY_API_URL")
        .env_remove("RUST_LOG")
        .env("FREDDY_API_KEY", key)
        .env("RESUMABLE_STATE_DIR", state);
    cmd
}

/// A file of `len` bytes named `name` in `dir`, and its bytes.
#[allow(dead_code)] // not every test binary writes one this way
pub(crate) fn sample_file(dir: &Path, name: &str, len: usize) -> (std::path::PathBuf, Vec<u8>) {
    let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

/// An emulator on loopback taking `key`, storing in memory, with `faults`
/// and a fixed seed.
#[allow(dead_code)] // not every test binary starts one this way
pub(crate) fn emulator(key: &str, faults: &str) -> resumable_emulator::EmulatorHandle {
    resumable_emulator::Emulator::builder()
        .api_key(key)
        .storage(resumable_emulator::Storage::Memory)
        .faults(faults)
        .seed(3)
        .start_in_background()
        .expect("emulator starts")
}

/// A rustls server config (the `ring` provider) presenting `chain`, whose
/// first certificate `key` is the key of.
#[allow(dead_code)] // not every test binary serves TLS
pub(crate) fn tls_server_config(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> std::sync::Arc<rustls::ServerConfig> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    std::sync::Arc::new(config)
}

/// Polls `ready` until it holds; `child` (with its stderr file) ending
/// first fails the test.
#[allow(dead_code)] // not every test binary waits
pub(crate) fn wait_for(
    what: &str,
    mut child: Option<(&mut Child, &Path)>,
    mut ready: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ready() {
        if let Some((child, stderr)) = child.as_mut()
            && let Some(status) = child.try_wait().unwrap()
        {
            let stderr = std::fs::read_to_string(stderr).unwrap_or_default();
            panic!("the upload ended ({status}) before {what}: {stderr}");
        }
        assert!(Instant::now() < deadline, "never saw {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}
