//! `Content-Range`: never panics, and what it accepts prints back to an equal value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable_core::codecs::content_range::ContentRange;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = ContentRange::parse(data) {
        let printed = parsed.to_header_value();
        assert_eq!(ContentRange::parse(printed.as_bytes()), Ok(parsed));
    }
});
