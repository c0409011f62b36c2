//! The IETF draft's Item fields (`Upload-Offset`, `Upload-Length`,
//! `Upload-Complete`): never panic; an accepted count is written back as
//! the same count.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable_core::codecs::ietf::fields;

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = fields::parse_count(data) {
        assert_eq!(fields::parse_count(n.to_string().as_bytes()), Ok(n));
    }
    let _ = fields::parse_boolean(data);
});
