//! The object JSON of a finished GCS upload (`storage#object`), read into
//! an [`ObjectMeta`]: hashes missing from the JSON are taken from the
//! answer's `X-Goog-Hash` header.

use serde::Deserialize;

use super::X_GOOG_HASH;
use super::goog_hash::{self, GoogHash};
use crate::error::ProtocolError;
use crate::outcome::ObjectMeta;

#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrNumber {
    String(String),
    Number(u64),
}

impl StringOrNumber {
    fn into_string(self) -> String {
        match self {
            Self::String(s) => s,
            Self::Number(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawObject {
    name: Option<String>,
    bucket: Option<String>,
    size: Option<StringOrNumber>,
    crc32c: Option<String>,
    md5_hash: Option<String>,
    content_type: Option<String>,
    generation: Option<StringOrNumber>,
}

/// Reads the object JSON of a final answer; hashes missing from the JSON
/// are taken from the response's `x-goog-hash` header.
pub fn parse(body: &[u8], headers: &http::HeaderMap) -> Result<ObjectMeta, ProtocolError> {
    let raw: RawObject =
        serde_json::from_slice(body).map_err(|e| ProtocolError::json("final object", &e))?;
    let size = raw
        .size
        .ok_or(ProtocolError::Json {
            what: "final object",
            detail: "no size".into(),
        })?
        .into_string();
    let size = size.parse::<u64>().map_err(|_| ProtocolError::Json {
        what: "final object",
        detail: "size is not a byte count".into(),
    })?;
    let header = GoogHash::parse(headers.get_all(X_GOOG_HASH))?;
    let crc32c = match raw.crc32c {
        Some(b64) => Some(goog_hash::decode_crc32c(&b64)?),
        None => header.crc32c,
    };
    let md5 = match raw.md5_hash {
        Some(b64) => Some(goog_hash::decode_md5(&b64)?),
        None => header.md5,
    };
    Ok(ObjectMeta {
        name: raw.name,
        bucket: raw.bucket,
        size,
        crc32c,
        md5,
        content_type: raw.content_type,
        generation: raw.generation.map(StringOrNumber::into_string),
        sha256: None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_gcs_object_json() {
        let body = br#"{"kind":"storage#object","name":"a/b","bucket":"bk","size":"11",
            "crc32c":"yZRlqg==","md5Hash":"XrY7u+Ae7tCTyyK7j1rNww==","contentType":"text/plain","generation":"17"}"#;
        let o = parse(body, &http::HeaderMap::new()).unwrap();
        assert_eq!(o.size, 11);
        assert_eq!(o.crc32c, Some(0xc994_65aa));
        assert_eq!(o.md5.map(|m| m[0]), Some(0x5e));
        assert_eq!(o.generation.as_deref(), Some("17"));
    }

    #[test]
    fn takes_hashes_from_the_header_and_numeric_size() {
        let mut h = http::HeaderMap::new();
        h.insert(
            "x-goog-hash",
            http::HeaderValue::from_static("crc32c=yZRlqg=="),
        );
        let o = parse(br#"{"size":11}"#, &h).unwrap();
        assert_eq!((o.size, o.crc32c), (11, Some(0xc994_65aa)));
    }

    #[test]
    fn rejects_bad_objects() {
        let h = http::HeaderMap::new();
        for body in [
            &b""[..],
            b"[]",
            b"{}",
            br#"{"size":"-1"}"#,
            br#"{"size":"x"}"#,
            br#"{"size":true}"#,
            br#"{"size":"1","crc32c":"%%"}"#,
            br#"{"size":"1","md5Hash":"AAAA"}"#,
        ] {
            assert!(
                parse(body, &h).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
