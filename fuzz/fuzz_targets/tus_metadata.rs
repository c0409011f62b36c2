//! `Upload-Metadata`: never panics; what it accepts builds back into a value
//! that parses to the same pairs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable_core::codecs::tus::metadata;

fuzz_target!(|data: &[u8]| {
    if let Ok(pairs) = metadata::parse_bytes(data) {
        assert!(!pairs.is_empty(), "a value holds at least one pair");
        let built = metadata::build(pairs.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
            .expect("parsed keys build")
            .expect("at least one pair");
        assert_eq!(metadata::parse(&built), Ok(pairs));
    }
});
