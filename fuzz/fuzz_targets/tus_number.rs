//! tus byte counts (`Upload-Offset`, `Upload-Length`, `Tus-Max-Size`): never
//! panics; what it accepts is plain decimal digits with optional whitespace
//! around, read as exactly that number.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable_core::codecs::tus::number;

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = number::parse_bytes(data) {
        let text = std::str::from_utf8(data).expect("accepted values are ASCII");
        let digits = text.trim_matches([' ', '\t']);
        assert!(digits.bytes().all(|b| b.is_ascii_digit()), "digits only");
        assert_eq!(digits.parse::<u64>(), Ok(n));
        assert_eq!(number::parse(&number::header(n)), Ok(n));
    }
});
