//! The `Range` header of a 308: never panics; what it accepts is
//! `bytes=0-N` (leading zeros allowed, as HTTP's grammar does), read as N+1.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable_core::codecs::range::parse_persisted;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = http::HeaderValue::from_bytes(data) else {
        return;
    };
    if let Ok(persisted) = parse_persisted(Some(&value)) {
        let text = std::str::from_utf8(data).expect("accepted values are ASCII");
        let spec = text
            .trim_matches([' ', '\t'])
            .strip_prefix("bytes=")
            .expect("the unit");
        let (first, last) = spec.split_once('-').expect("one range");
        assert_eq!(first.parse::<u64>(), Ok(0), "starts at 0");
        assert_eq!(last.parse::<u64>().map(|n| n + 1), Ok(persisted));
    }
});
