//! `Upload-Limit`: never panics, in either interop version's reading.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable_core::InteropVersion;
use resumable_core::codecs::ietf::limit;

fuzz_target!(|data: &[u8]| {
    for version in [InteropVersion::V6, InteropVersion::V8] {
        let _ = limit::parse(data, version);
    }
});
