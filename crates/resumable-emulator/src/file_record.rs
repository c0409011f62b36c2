//! What the file API keeps of a registered file: held by the shared state,
//! returned by the API.

use serde::{Deserialize, Serialize};

/// A registered file, as the file API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileRecord {
    /// The file id (the `file_id` that `upload-url` issued for its `gcs_path`).
    pub id: String,
    /// The file name.
    pub filename: String,
    /// Where the object is stored.
    pub gcs_path: String,
    /// Size in bytes.
    pub file_size: u64,
    /// The content type.
    pub mime_type: String,
    /// The organization it belongs to.
    pub organization_id: String,
    /// When it was registered, RFC 3339.
    pub created_at: String,
    /// The object's CRC32C, base64 as Cloud Storage writes it.
    pub crc32c: String,
    /// The object's MD5, base64.
    pub md5_hash: String,
}
