//! The draft's problem types (RFC 9457 problem details, §7 of the draft):
//! an error answer's `application/problem+json` body, read into what the
//! engine can act on.

use http::{HeaderMap, header};

/// The problem types' common prefix (the IANA registry of HTTP problem types).
const PREFIX: &str = "https://iana.org/assignments/http-problem-types#";

/// A problem the upload resource reported in a problem document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadProblem {
    /// `mismatching-upload-offset` (§7.1): the request's `Upload-Offset`
    /// was not the resource's; the members say both, when sent.
    MismatchingOffset {
        /// `expected-offset`: the resource's offset.
        expected: Option<u64>,
        /// `provided-offset`: the request's.
        provided: Option<u64>,
    },
    /// `inconsistent-upload-length` (§7.2): the request's length indicators
    /// disagree with each other or with an earlier request's.
    InconsistentLength,
    /// `completed-upload` (interop version 6): the upload is complete and
    /// takes no more bytes.
    CompletedUpload,
}

impl std::fmt::Display for UploadProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MismatchingOffset { expected, provided } => write!(
                f,
                "mismatching upload offset (expected {expected:?}, provided {provided:?})"
            ),
            Self::InconsistentLength => f.write_str("inconsistent upload length"),
            Self::CompletedUpload => f.write_str("the upload is already completed"),
        }
    }
}

/// Whether `value` names the problem+json media type (any case, with or
/// without parameters).
fn is_problem_json(value: &[u8]) -> bool {
    let essence = value.split(|&b| b == b';').next().unwrap_or_default();
    super::super::trim_ows(essence).eq_ignore_ascii_case(b"application/problem+json")
}

/// Reads a problem document: `None` unless the body is
/// `application/problem+json` with a `type` this draft defines. A member of
/// the wrong type is taken as absent.
pub fn parse(content_type: Option<&[u8]>, body: &[u8]) -> Option<UploadProblem> {
    if !content_type.is_some_and(is_problem_json) {
        return None;
    }
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    let kind = doc.get("type")?.as_str()?.strip_prefix(PREFIX)?;
    let member = |name: &str| doc.get(name).and_then(serde_json::Value::as_u64);
    match kind {
        "mismatching-upload-offset" => Some(UploadProblem::MismatchingOffset {
            expected: member("expected-offset"),
            provided: member("provided-offset"),
        }),
        "inconsistent-upload-length" => Some(UploadProblem::InconsistentLength),
        "completed-upload" => Some(UploadProblem::CompletedUpload),
        _ => None,
    }
}

/// The problem an answer reports, if any.
pub(crate) fn from_answer(headers: &HeaderMap, body: &[u8]) -> Option<UploadProblem> {
    parse(
        headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: Option<&[u8]> = Some(b"application/problem+json");

    /// §7.1's example, its line wrapping (RFC 8792) undone.
    #[test]
    fn the_drafts_mismatching_offset_example() {
        let body = br#"{
  "type":"https://iana.org/assignments/http-problem-types#mismatching-upload-offset",
  "title": "offset from request does not match offset of resource",
  "expected-offset": 12500000,
  "provided-offset": 25000000
}"#;
        assert_eq!(
            parse(JSON, body),
            Some(UploadProblem::MismatchingOffset {
                expected: Some(12_500_000),
                provided: Some(25_000_000)
            })
        );
    }

    #[test]
    fn the_other_problem_types() {
        let body = br#"{"type":"https://iana.org/assignments/http-problem-types#inconsistent-upload-length",
            "title": "inconsistent length values for upload"}"#;
        assert_eq!(parse(JSON, body), Some(UploadProblem::InconsistentLength));
        let body = br#"{"type":"https://iana.org/assignments/http-problem-types#completed-upload"}"#;
        assert_eq!(
            parse(Some(b"Application/Problem+JSON; charset=utf-8"), body),
            Some(UploadProblem::CompletedUpload)
        );
    }

    #[test]
    fn anything_else_is_no_problem_of_ours() {
        let ok = br#"{"type":"https://iana.org/assignments/http-problem-types#completed-upload"}"#;
        assert_eq!(parse(None, ok), None);
        assert_eq!(parse(Some(b"application/json"), ok), None);
        for body in [
            &b""[..],
            b"{",
            b"[]",
            b"null",
            b"\xff",
            br#"{"type":7}"#,
            br#"{"type":"about:blank"}"#,
            br#"{"type":"https://iana.org/assignments/http-problem-types#other"}"#,
        ] {
            assert_eq!(parse(JSON, body), None, "{body:?}");
        }
        let odd = br#"{"type":"https://iana.org/assignments/http-problem-types#mismatching-upload-offset",
            "expected-offset": -1, "provided-offset": "5"}"#;
        assert_eq!(
            parse(JSON, odd),
            Some(UploadProblem::MismatchingOffset {
                expected: None,
                provided: None
            })
        );
    }
}
