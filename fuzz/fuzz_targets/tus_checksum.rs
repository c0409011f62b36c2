//! `Upload-Checksum`: never panics; what it accepts is written back into a
//! value that parses to the same algorithm and digest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable_core::codecs::tus::checksum;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = checksum::parse_bytes(data) {
        assert!(!parsed.digest.is_empty());
        let value = checksum::header(&parsed.algorithm, &parsed.digest).expect("writable");
        assert_eq!(checksum::parse(&value), Ok(parsed));
    }
});
