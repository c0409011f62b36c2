//! `Upload-Expires`: never panics; a date it accepts is written back as an
//! IMF-fixdate that reads as the same instant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable_core::codecs::tus::expires;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = http::HeaderValue::from_bytes(data) else {
        return;
    };
    if let Ok(at) = expires::parse(&value) {
        assert_eq!(expires::parse(&expires::header(at)), Ok(at));
    }
});
