//! `Upload-Expires`: when an unfinished tus upload stops being resumable, as
//! an HTTP date (RFC 9110 §5.6.7). [`parse`] reads it, [`ExpiresError`] says
//! what was wrong.
//!
//! The date is read by [`httpdate::parse_http_date`], which takes the
//! IMF-fixdate form servers must send (`Wed, 25 Jun 2014 16:00:00 GMT`) and
//! the obsolete RFC 850 and asctime forms recipients must accept. Optional
//! whitespace around the value is ignored.

use std::time::SystemTime;

use http::HeaderValue;

use crate::protocol::trim_ows;

/// Why an `Upload-Expires` value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExpiresError {
    /// The value is empty (or only whitespace).
    #[error("empty Upload-Expires")]
    Empty,
    /// The value is not an HTTP date.
    #[error("Upload-Expires is not an HTTP date")]
    NotADate,
}

/// The instant an `Upload-Expires` value names.
pub fn parse(value: &HeaderValue) -> Result<SystemTime, ExpiresError> {
    let text = trim_ows(value.as_bytes());
    if text.is_empty() {
        return Err(ExpiresError::Empty);
    }
    let text = std::str::from_utf8(text).map_err(|_| ExpiresError::NotADate)?;
    httpdate::parse_http_date(text).map_err(|_| ExpiresError::NotADate)
}

/// The `Upload-Expires` value for `at`, in IMF-fixdate form (seconds only).
pub fn header(at: SystemTime) -> HeaderValue {
    // An IMF-fixdate is ASCII: always a valid header value.
    HeaderValue::from_str(&httpdate::fmt_http_date(at))
        .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn parse_str(s: &[u8]) -> Result<SystemTime, ExpiresError> {
        parse(&HeaderValue::from_bytes(s).unwrap())
    }

    #[test]
    fn the_spec_example_and_the_obsolete_forms() {
        // The tus spec's example, 2014-06-25T16:00:00Z.
        let at = UNIX_EPOCH + Duration::from_secs(1_403_712_000);
        assert_eq!(parse_str(b"Wed, 25 Jun 2014 16:00:00 GMT"), Ok(at));
        assert_eq!(parse_str(b" Wed, 25 Jun 2014 16:00:00 GMT\t"), Ok(at));
        assert_eq!(parse_str(b"Wednesday, 25-Jun-14 16:00:00 GMT"), Ok(at));
        assert_eq!(parse_str(b"Wed Jun 25 16:00:00 2014"), Ok(at));
        assert_eq!(parse(&header(at)), Ok(at));
    }

    #[test]
    fn hostile_values_are_refused() {
        assert_eq!(parse_str(b""), Err(ExpiresError::Empty));
        for bad in [
            &b"tomorrow"[..],
            b"1403712000",
            b"Wed, 25 Jun 2014 16:00:00 CET",
            b"Wed, 32 Jun 2014 16:00:00 GMT",
            b"Wed, 25 Jun 2014 25:00:00 GMT",
            b"Wed, 25 Jun 2014 16:00:00 GMT, Thu, 26 Jun 2014 16:00:00 GMT",
            b"\xff\xfe",
        ] {
            assert_eq!(parse_str(bad), Err(ExpiresError::NotADate), "{bad:?}");
        }
    }
}
