//! What a finished upload hands back: the stored object and the registered File.

use serde::{Deserialize, Serialize};

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
    /// Its SHA-256, from the `Repr-Digest` an IETF draft server sends once
    /// the upload is complete (the draft's §10.1, RFC 9530 §3). Boxed: a
    /// checkpoint holds this struct, and is handed out with every chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Box<[u8; 32]>>,
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
    /// The source's SHA-256, for an upload of the IETF draft whose every
    /// byte was hashed (by this process, or by an earlier one whose
    /// checkpoint kept the hash): the `Repr-Digest` it sent (RFC 9530 §2).
    /// `None` for the other protocols.
    pub sha256: Option<[u8; 32]>,
    /// How many times the session was replaced.
    pub restarts: u32,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn file_keeps_unknown_fields() {
        let f: File =
            serde_json::from_str(r#"{"id":"file_1","filename":"a.bin","file_size":3}"#).unwrap();
        assert_eq!(f.id, "file_1");
        assert_eq!(f.fields["file_size"], 3);
        assert!(serde_json::from_str::<File>(r#"{"filename":"a"}"#).is_err());
    }
}
