//! The draft's problem documents and RFC 9530's `Want-*-Digest`: never
//! panic on any body or value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable_core::codecs::ietf::{digest, problem};

fuzz_target!(|data: &[u8]| {
    let _ = problem::parse(Some(b"application/problem+json"), data);
    let _ = digest::wants_sha256(data);
});
