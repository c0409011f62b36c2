//! `Location` resolved against a creation endpoint: never panics; what it
//! gives is an absolute http(s) URL that parses as a request URI.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable_core::codecs::tus::location;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the endpoint, so bases with and without a path,
    // a query and a port are all exercised.
    let (pick, reference) = data.split_first().unwrap_or((&0, &[]));
    let base = [
        "https://tus.example/files/",
        "https://tus.example/files?x=1",
        "http://127.0.0.1:1080",
        "https://h.example/a/b/c/d;p?q",
    ][usize::from(*pick) % 4];
    if let Ok(url) = location::resolve(base, reference) {
        let uri: http::Uri = url.parse().expect("a request URI");
        assert!(matches!(uri.scheme_str(), Some("http" | "https")));
        assert!(uri.host().is_some_and(|h| !h.is_empty()));
        assert!(!url.contains('#'), "no fragment is sent");
    }
});
