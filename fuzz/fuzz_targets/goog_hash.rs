//! `X-Goog-Hash`, one or two header lines: never panics, and round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable_core::codecs::goog_hash::GoogHash;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(2, |&b| b == b'\n');
    let values: Vec<http::HeaderValue> = parts
        .by_ref()
        .filter_map(|p| http::HeaderValue::from_bytes(p).ok())
        .collect();
    if let Ok(hash) = GoogHash::parse(&values) {
        if let Some(printed) = hash.to_header_value() {
            assert_eq!(GoogHash::parse([&printed]), Ok(hash));
        }
    }
});
