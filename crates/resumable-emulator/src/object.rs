//! Finished objects: their metadata and the Cloud Storage JSON that describes them.

use serde::Serialize;
use serde_json::{Value, json};

use crate::storage::ObjectData;
use crate::url::encode;
use resumable_sim::wire::{crc32c_base64, md5_base64};

/// A stored object: what Cloud Storage would report about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ObjectInfo {
    /// The bucket.
    pub bucket: String,
    /// The object name (the file API's `gcs_path`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// CRC32C of the content.
    pub crc32c: u32,
    /// MD5 of the content.
    pub md5: [u8; 16],
    /// The content type given when the session was created.
    pub content_type: String,
    /// The generation: microseconds since the epoch at creation, and strictly
    /// greater than any generation the server gave before, so every write of a
    /// name gets a new one (as Cloud Storage's int64 generations).
    pub generation: u64,
    /// The metageneration: 1 for a newly written object (the emulator changes
    /// no metadata after the write).
    pub metageneration: u64,
    /// When the object was created, RFC 3339 with milliseconds.
    pub time_created: String,
}

impl ObjectInfo {
    /// The CRC32C as Cloud Storage writes it: base64 of the big-endian bytes.
    pub fn crc32c_base64(&self) -> String {
        crc32c_base64(self.crc32c)
    }

    /// The MD5 as Cloud Storage writes it: base64.
    pub fn md5_base64(&self) -> String {
        md5_base64(&self.md5)
    }

    /// The `x-goog-hash` response header value: `crc32c=…,md5=…`.
    pub fn goog_hash(&self) -> String {
        format!("crc32c={},md5={}", self.crc32c_base64(), self.md5_base64())
    }
}

/// An object and where its bytes are.
#[derive(Debug)]
pub(crate) struct Object {
    pub(crate) info: ObjectInfo,
    pub(crate) data: ObjectData,
}

/// The `storage#object` resource JSON.
pub(crate) fn object_json(info: &ObjectInfo, base_url: &str) -> Value {
    let (b, n) = (encode(&info.bucket), encode(&info.name));
    json!({
        "kind": "storage#object",
        "id": format!("{}/{}/{}", info.bucket, info.name, info.generation),
        "selfLink": format!("{base_url}/storage/v1/b/{b}/o/{n}"),
        "mediaLink": format!(
            "{base_url}/download/storage/v1/b/{b}/o/{n}?generation={}&alt=media",
            info.generation
        ),
        "name": info.name,
        "bucket": info.bucket,
        "generation": info.generation.to_string(),
        "metageneration": info.metageneration.to_string(),
        "contentType": info.content_type,
        "storageClass": "STANDARD",
        "size": info.size.to_string(),
        "md5Hash": info.md5_base64(),
        "crc32c": info.crc32c_base64(),
        "etag": format!("CL{}EAE=", info.generation),
        "timeCreated": info.time_created,
        "updated": info.time_created,
        "timeStorageClassUpdated": info.time_created,
    })
}
