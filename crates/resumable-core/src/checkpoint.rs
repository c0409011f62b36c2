//! What a new process needs to resume an upload where the server stopped.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::checksum::RunningCrc32c;
use crate::config::Fingerprint;
use crate::outcome::ObjectMeta;
use crate::secret::SessionUrl;

/// The format written into every checkpoint; another one is refused.
pub const CHECKPOINT_FORMAT: u32 = 1;

/// A serializable snapshot of an upload, handed out by
/// [`crate::Action::Checkpoint`] whenever the persisted offset advances or the
/// flow moves on. Store it durably; resume with [`crate::Upload::resume`].
///
/// It holds the session URL, a credential: store it where only the user can
/// read it. It never holds the API key. `Debug` redacts the session URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Always [`CHECKPOINT_FORMAT`].
    pub format: u32,
    /// Which flow wrote it.
    pub flow: Flow,
    /// The destination it was written for (API, organization, name and
    /// type; or bucket and object; or a hash of the session URL). A
    /// checkpoint is only resumed against the same destination.
    pub target: String,
    /// The session in use, if one was issued.
    pub session: Option<SessionRecord>,
    /// The source's size, when known.
    pub total: Option<u64>,
    /// Bytes the server has persisted.
    pub persisted: u64,
    /// The running CRC32C of the source.
    pub crc32c: RunningCrc32c,
    /// The source's identity when the checkpoint was written.
    pub fingerprint: Option<Fingerprint>,
    /// The finished object, once uploaded but not yet registered.
    pub object: Option<ObjectMeta>,
    /// Session restarts so far.
    pub restarts: u32,
}

/// Which flow a checkpoint belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// The file API: session, upload, register.
    FileApi,
    /// A raw GCS upload.
    Gcs,
}

/// An upload session, as a checkpoint keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The session URL.
    pub upload_url: SessionUrl,
    /// The object's path, in the file-API flow.
    pub gcs_path: Option<String>,
    /// The File's id, in the file-API flow.
    pub file_id: Option<String>,
    /// When the session expires, when known.
    pub expires_at: Option<SystemTime>,
    /// The chunk size in use.
    pub chunk_size: u64,
}
