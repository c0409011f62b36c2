//! What the models' unit tests share: a fixed clock, requests and headers
//! built from pairs, answers read back.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response};

use crate::Reply;

/// A fixed "now".
pub(crate) fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// A bodiless request with these headers.
pub(crate) fn request(method: Method, url: &str, headers: &[(&str, &str)]) -> http::Request<()> {
    let mut b = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).unwrap()
}

/// A header map of these pairs, repeated names as repeated lines.
pub(crate) fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

/// The response of a reply that is not a reset.
pub(crate) fn response(reply: Reply) -> Response<Bytes> {
    match reply {
        Reply::Response(r) => r,
        Reply::Reset => panic!("reset"),
    }
}

/// Header `name` of `r`, as text.
pub(crate) fn header(r: &Response<Bytes>, name: &str) -> String {
    r.headers()[name].to_str().unwrap().to_owned()
}
