//! Which URLs may be used in clear text.
//!
//! The API key and the session URL are credentials, so requests go over
//! `https`, except to a loopback host (a local emulator or proxy), unless the
//! caller explicitly allows plain `http`.

use std::net::IpAddr;

/// Whether `uri` may be used: `https`, or `http` to a loopback host, or any
/// `http` when `allow_insecure_http` is set. Anything else is refused.
#[must_use]
pub fn is_allowed(uri: &http::Uri, allow_insecure_http: bool) -> bool {
    match uri.scheme_str() {
        Some("https") => true,
        Some("http") => allow_insecure_http || uri.host().is_some_and(is_loopback_host),
        _ => false,
    }
}

/// Whether `host` (as in a URI, IPv6 in brackets or not) is this machine:
/// `localhost`, `*.localhost`, 127.0.0.0/8 or `::1`.
#[must_use]
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let lower = host.to_ascii_lowercase();
    if lower == "localhost" || lower.ends_with(".localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(url: &str, insecure: bool) -> bool {
        is_allowed(&url.parse().unwrap(), insecure)
    }

    #[test]
    fn https_everywhere_http_only_on_loopback() {
        assert!(allowed("https://api.example/x", false));
        assert!(allowed("http://127.0.0.1:8080/x", false));
        assert!(allowed("http://127.9.9.9/x", false));
        assert!(allowed("http://[::1]:80/x", false));
        assert!(allowed("http://LOCALHOST/x", false));
        assert!(allowed("http://emu.localhost/x", false));
        assert!(!allowed("http://api.example/x", false));
        assert!(!allowed("http://10.0.0.1/x", false));
        assert!(!allowed("http://localhost.example/x", false));
        assert!(allowed("http://api.example/x", true));
        assert!(!allowed("ftp://api.example/x", true));
        assert!(!allowed("/relative", true));
    }
}
