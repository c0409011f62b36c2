//! Which iteration of the draft an upload speaks: its interop version,
//! sent as `Upload-Draft-Interop-Version` on every request (the draft's
//! appendix "Draft Version Identification").

use serde::{Deserialize, Serialize};

/// An interop version of draft-ietf-httpbis-resumable-upload.
///
/// Versions are not compatible with each other: a server that speaks
/// another sends no `104`, and a `104` carrying another version is
/// ignored. A checkpoint keeps the version, so a resumed upload speaks the
/// one its upload was created with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
#[non_exhaustive]
pub enum InteropVersion {
    /// Interop version 6 (draft -05), what tus-js-client's `ietf-draft-05`
    /// mode, tusd and Apple's SwiftNIO server speak. Its `Upload-Limit`
    /// names the lifetime `expires`, and its problem types are
    /// `mismatching-upload-offset` and `completed-upload`.
    V6,
    /// Interop version 8, the latest this crate knows (the draft's text of
    /// July 2026). `Upload-Limit` names the lifetime `max-age`; the
    /// problem types are `mismatching-upload-offset` and
    /// `inconsistent-upload-length`.
    #[default]
    V8,
}

impl InteropVersion {
    /// The newest version this crate speaks, the default.
    pub const LATEST: Self = Self::V8;

    /// The number sent in `Upload-Draft-Interop-Version`.
    #[must_use]
    pub fn number(self) -> u8 {
        match self {
            Self::V6 => 6,
            Self::V8 => 8,
        }
    }

    /// [`number`](Self::number) as the header value, made without
    /// allocating: every request carries it.
    pub(crate) fn header_value(self) -> http::HeaderValue {
        http::HeaderValue::from_static(match self {
            Self::V6 => "6",
            Self::V8 => "8",
        })
    }

    /// The `Upload-Limit` key of the upload resource's remaining lifetime.
    pub(crate) fn lifetime_key(self) -> &'static str {
        match self {
            Self::V6 => "expires",
            Self::V8 => "max-age",
        }
    }
}

impl From<InteropVersion> for u8 {
    fn from(v: InteropVersion) -> Self {
        v.number()
    }
}

impl TryFrom<u8> for InteropVersion {
    type Error = String;

    fn try_from(n: u8) -> Result<Self, Self::Error> {
        match n {
            6 => Ok(Self::V6),
            8 => Ok(Self::V8),
            other => Err(format!(
                "interop version {other} is not one this release speaks"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_value_is_the_number() {
        for v in [InteropVersion::V6, InteropVersion::V8] {
            assert_eq!(v.header_value(), v.number().to_string().as_str());
        }
    }
}
