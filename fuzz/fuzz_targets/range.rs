//! The `Range` header of a 308: never panics; what it accepts is `bytes=0-N`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable_core::header::range::parse_persisted;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = http::HeaderValue::from_bytes(data) else {
        return;
    };
    if let Ok(persisted) = parse_persisted(Some(&value)) {
        assert!(persisted > 0);
        let text = std::str::from_utf8(data).expect("accepted values are ASCII");
        assert!(text.trim().starts_with("bytes=0-"));
    }
});
