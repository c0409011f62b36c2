//! The https rule the driver applies (`resumable_core::url_policy`), on the
//! URLs that try to pass for loopback or https without being either.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use resumable_core::url_policy::is_allowed;

fn allowed(url: &str) -> bool {
    is_allowed(&url.parse().unwrap(), false)
}

#[test]
fn the_scheme_is_case_blind_and_userinfo_never_names_the_host() {
    assert!(allowed("HTTPS://storage.example/upload?upload_id=x"));
    assert!(allowed("http://user:pw@127.0.0.1/x"));
    for url in [
        "http://127.0.0.1@evil.example/x",
        "http://127.0.0.1.evil.example/x",
        "http://[::2]/x",
    ] {
        assert!(!allowed(url), "{url}");
        assert!(
            is_allowed(&url.parse().unwrap(), true),
            "{url} when allowed"
        );
    }
}
