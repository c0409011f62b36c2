//! The draft's problem documents and RFC 9530's digest fields
//! (`Want-*-Digest`, and the SHA-256 a `Repr-Digest` carries): never panic
//! on any body or value; a digest read is the one written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable_core::codecs::ietf::{digest, problem};

fuzz_target!(|data: &[u8]| {
    let _ = problem::parse(Some(b"application/problem+json"), data);
    let _ = digest::wants_sha256(data);
    if let Some(sha256) = digest::sha256_of_field(data) {
        let written = digest::sha256_header(&sha256).expect("a digest writes");
        assert_eq!(digest::sha256_of_field(written.as_bytes()), Some(sha256));
    }
});
