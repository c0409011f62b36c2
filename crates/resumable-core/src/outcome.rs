//! What a finished upload hands back: the stored object and the registered File.

use serde::{Deserialize, Serialize};

use crate::error::ProtocolError;
use crate::header::goog_hash::{self, GoogHash};

/// The stored object, as the upload host described it in its final answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// The object's name, when the server sent it.
    pub name: Option<String>,
    /// The bucket, when the server sent it.
    pub bucket: Option<String>,
    /// Its size in bytes.
    pub size: u64,
    /// Its CRC32C, from the JSON `crc32c` or the `x-goog-hash` header.
    pub crc32c: Option<u32>,
    /// Its MD5, from the JSON `md5Hash` or the `x-goog-hash` header.
    pub md5: Option<[u8; 16]>,
    /// Its content type, when the server sent it.
    pub content_type: Option<String>,
    /// Its generation, when the server sent it.
    pub generation: Option<String>,
}

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

impl ObjectMeta {
    /// Reads the object JSON of a final answer; hashes missing from the JSON
    /// are taken from the response's `x-goog-hash` header.
    pub fn parse(body: &[u8], headers: &http::HeaderMap) -> Result<Self, ProtocolError> {
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
        let header = GoogHash::parse(headers.get_all(crate::header::names::X_GOOG_HASH))?;
        let crc32c = match raw.crc32c {
            Some(b64) => Some(goog_hash::decode_crc32c(&b64)?),
            None => header.crc32c,
        };
        let md5 = match raw.md5_hash {
            Some(b64) => Some(goog_hash::decode_md5(&b64)?),
            None => header.md5,
        };
        Ok(Self {
            name: raw.name,
            bucket: raw.bucket,
            size,
            crc32c,
            md5,
            content_type: raw.content_type,
            generation: raw.generation.map(StringOrNumber::into_string),
        })
    }
}

/// A File as the application API registered it. `id` is always there; the
/// other fields are kept as the server sent them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct File {
    /// The File's id.
    pub id: String,
    /// Every other field of the File object.
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// A finished upload.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Outcome {
    /// The stored object, verified against the source.
    pub object: ObjectMeta,
    /// The registered File, in the file-API flow.
    pub file: Option<File>,
    /// The source's CRC32C, when every byte was fed to the checksum.
    pub crc32c: Option<u32>,
    /// How many times the session was replaced.
    pub restarts: u32,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_gcs_object_json() {
        let body = br#"{"kind":"storage#object","name":"a/b","bucket":"bk","size":"11",
            "crc32c":"yZRlqg==","md5Hash":"XrY7u+Ae7tCTyyK7j1rNww==","contentType":"text/plain","generation":"17"}"#;
        let o = ObjectMeta::parse(body, &http::HeaderMap::new()).unwrap();
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
        let o = ObjectMeta::parse(br#"{"size":11}"#, &h).unwrap();
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
                ObjectMeta::parse(body, &h).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn file_keeps_unknown_fields() {
        let f: File =
            serde_json::from_str(r#"{"id":"file_1","filename":"a.bin","file_size":3}"#).unwrap();
        assert_eq!(f.id, "file_1");
        assert_eq!(f.fields["file_size"], 3);
        assert!(serde_json::from_str::<File>(r#"{"filename":"a"}"#).is_err());
    }
}
