//! The `OPTIONS` headers (`Tus-Version`, `Tus-Extension`,
//! `Tus-Checksum-Algorithm`, `Tus-Max-Size`): never panic; an accepted list
//! holds only non-empty tokens, and an accepted answer names a version.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable_core::codecs::tus::discovery::{self, Capabilities};

fuzz_target!(|data: &[u8]| {
    if let Some(items) = discovery::parse_list(data) {
        assert!(
            items
                .iter()
                .all(|i| !i.is_empty() && !i.contains([',', ' ', '\t']))
        );
    }
    // The input split into the four headers at its first three `\n`s.
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let mut headers = http::HeaderMap::new();
    for name in [
        discovery::TUS_VERSION,
        discovery::TUS_EXTENSION,
        discovery::TUS_CHECKSUM_ALGORITHM,
        discovery::TUS_MAX_SIZE,
    ] {
        if let Some(value) = parts
            .next()
            .and_then(|p| http::HeaderValue::from_bytes(p).ok())
        {
            headers.insert(name, value);
        }
    }
    if let Ok(caps) = Capabilities::parse(&headers) {
        assert!(!caps.versions.is_empty());
        assert!(
            caps.checksum_algorithms
                .iter()
                .all(|a| *a == a.to_ascii_lowercase())
        );
    }
});
