//! RFC 3339 timestamps: never panics, and a parsed time formats back to the same instant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable_core::timestamp::{format_rfc3339, parse_rfc3339};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(time) = parse_rfc3339(text) {
        if let Ok(again) = parse_rfc3339(&format_rfc3339(time)) {
            assert_eq!(again, time);
        }
    }
});
