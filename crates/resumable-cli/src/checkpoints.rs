//! The checkpoint store: where it is, and what its keys say about each
//! pending upload.

use std::io;
use std::path::{Path, PathBuf};

use resumable_blocking::{CheckpointLock, CheckpointStore, FileCheckpointStore, LockError};
use resumable_core::{Checkpoint, Protocol};

use crate::args::StateArgs;
use crate::exit::CliError;

/// The first part of the key of a raw GCS upload's checkpoint.
const GCS_KEY: &str = "gcs";
/// The first part of a tus upload's key.
pub(crate) const TUS_KEY: &str = "tus";
/// The first part of the key of an upload of the IETF draft (`http upload`).
pub(crate) const HTTP_KEY: &str = "http";

/// The checkpoint directory: `--state-dir`, else `$XDG_STATE_HOME/resumable`,
/// else `~/.local/state/resumable` (`%LOCALAPPDATA%\resumable` on Windows).
pub(crate) fn state_dir(args: &StateArgs) -> Result<PathBuf, CliError> {
    if let Some(dir) = &args.state_dir {
        return Ok(dir.clone());
    }
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = if cfg!(windows) {
        env("LOCALAPPDATA")
    } else {
        env("XDG_STATE_HOME").or_else(|| env("HOME").map(|home| home.join(".local").join("state")))
    };
    base.map(|dir| dir.join("resumable")).ok_or_else(|| {
        CliError::Usage("cannot find a home directory for checkpoints: pass --state-dir".into())
    })
}

/// Opens the checkpoint store in `dir`.
pub(crate) fn open_store(dir: &Path) -> Result<FileCheckpointStore, CliError> {
    FileCheckpointStore::new(dir).map_err(|e| {
        CliError::Failed(format!(
            "cannot use the checkpoint directory {}: {e}; pick another with --state-dir",
            dir.display()
        ))
    })
}

/// The store as an uploader sees it while this process holds the lock of
/// `key`: the command takes it first, so that what it does before the
/// upload (dropping a stale checkpoint, forgetting a finished upload,
/// cancelling for `--restart`) is as safe from another run as the upload
/// itself. The uploader's own lock of that key is granted while the
/// command's is held; every other key locks as usual.
#[derive(Debug, Clone)]
pub(crate) struct HeldStore {
    store: FileCheckpointStore,
    key: String,
}

impl HeldStore {
    /// `store`, whose lock of `key` the caller holds for as long as this
    /// lives.
    pub(crate) fn new(store: FileCheckpointStore, key: &str) -> Self {
        Self {
            store,
            key: key.to_owned(),
        }
    }
}

impl CheckpointStore for HeldStore {
    fn load(&mut self, key: &str) -> io::Result<Option<Checkpoint>> {
        self.store.load(key)
    }

    fn save(&mut self, key: &str, checkpoint: &Checkpoint) -> io::Result<()> {
        self.store.save(key, checkpoint)
    }

    fn remove(&mut self, key: &str) -> io::Result<()> {
        self.store.remove(key)
    }

    fn lock(&mut self, key: &str) -> Result<CheckpointLock, LockError> {
        if key == self.key {
            Ok(CheckpointLock::new(()))
        } else {
            self.store.lock(key)
        }
    }
}

/// The key of a raw GCS upload (to a bucket and object) of `path`.
pub(crate) fn gcs_key(endpoint: &str, bucket: &str, object: &str, path: &Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    format!(
        "{GCS_KEY}|{}/b/{bucket}/o/{object}|{}",
        endpoint.trim_end_matches('/'),
        path.display()
    )
}

/// The key of an upload of `path` created at `endpoint` with the protocol
/// whose key word is `protocol` ([`TUS_KEY`], [`HTTP_KEY`]).
pub(crate) fn endpoint_key(protocol: &str, endpoint: &str, path: &Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    format!("{protocol}|{endpoint}|{}", path.display())
}

/// A pending upload, as its checkpoint key and checkpoint tell.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    /// The store's key.
    pub(crate) key: String,
    /// Where it goes: `org_123 at https://api…`, or the GCS object.
    pub(crate) destination: String,
    /// The organization, for file-API uploads.
    pub(crate) org: Option<String>,
    /// The file API's base URL, for file-API uploads.
    pub(crate) api: Option<String>,
    /// The file (canonical when it was written).
    pub(crate) path: PathBuf,
    /// The checkpoint.
    pub(crate) checkpoint: Checkpoint,
}

impl Pending {
    /// Reads a key written by `resumable_local::checkpoint_key`
    /// (`api|org|path`), [`gcs_key`] (`gcs|object URL|path`) or
    /// [`endpoint_key`] (`tus|endpoint|path`, `http|endpoint|path`).
    pub(crate) fn new(key: String, checkpoint: Checkpoint) -> Self {
        let mut parts = key.splitn(3, '|');
        let (first, second, path) = (parts.next(), parts.next(), parts.next());
        let (destination, org, api, path) = match (first, second, path) {
            (Some(GCS_KEY), Some(object), Some(path)) => (object.to_owned(), None, None, path),
            (Some(TUS_KEY), Some(endpoint), Some(path)) => {
                (format!("tus at {endpoint}"), None, None, path)
            }
            (Some(HTTP_KEY), Some(endpoint), Some(path)) => {
                let interop = match checkpoint.protocol {
                    Protocol::Ietf { interop } => format!(" (interop {})", interop.number()),
                    _ => String::new(),
                };
                (
                    format!("http upload at {endpoint}{interop}"),
                    None,
                    None,
                    path,
                )
            }
            (Some(api), Some(org), Some(path)) => (
                format!("{org} at {api}"),
                Some(org.to_owned()),
                Some(api.to_owned()),
                path,
            ),
            _ => (String::from("unknown"), None, None, key.as_str()),
        };
        Self {
            destination,
            org,
            api,
            path: PathBuf::from(path),
            key: key.clone(),
            checkpoint,
        }
    }

    /// Whether this is an upload of `file` (compared as canonical paths).
    pub(crate) fn is_of(&self, file: &Path) -> bool {
        let canonical = std::fs::canonicalize(file)
            .ok()
            .or_else(|| std::path::absolute(file).ok());
        canonical.is_some_and(|c| c == self.path)
    }
}

/// Every pending upload in `store`.
pub(crate) fn pending(store: &FileCheckpointStore) -> Result<Vec<Pending>, CliError> {
    let list = store.list().map_err(|e| {
        CliError::Failed(format!(
            "cannot read the checkpoints in {}: {e}",
            store.dir().display()
        ))
    })?;
    Ok(list
        .into_iter()
        .map(|(key, checkpoint)| Pending::new(key, checkpoint))
        .collect())
}

#[cfg(test)]
mod tests {
    use std::time::{Instant, SystemTime};

    use resumable_core::{Config, SessionUrl, Upload};

    use super::*;

    fn cp() -> Checkpoint {
        let url = SessionUrl::new("https://up.example/u?upload_id=SECRET");
        let config = Config::gcs_session(url, Some(10));
        let up = Upload::new(config, Instant::now(), SystemTime::now());
        up.unwrap().checkpoint()
    }

    #[test]
    fn keys_tell_destination_and_path() {
        let p = Pending::new("https://api.example|org_1|/home/me/a|b.bin".into(), cp());
        assert_eq!(p.destination, "org_1 at https://api.example");
        assert_eq!(p.org.as_deref(), Some("org_1"));
        assert_eq!(p.path, PathBuf::from("/home/me/a|b.bin"));
        let key = gcs_key(
            "https://storage.example/",
            "bk",
            "x/y",
            Path::new("/nonexistent/f"),
        );
        let p = Pending::new(key, cp());
        assert_eq!(p.destination, "https://storage.example/b/bk/o/x/y");
        assert_eq!(p.org, None);
        assert_eq!(p.path, PathBuf::from("/nonexistent/f"));
        assert!(p.is_of(Path::new("/nonexistent/f")));
    }

    #[test]
    fn an_http_upload_is_named_with_its_interop_version() {
        let url = SessionUrl::new("https://up.example/files/SECRET");
        let config = Config::ietf_upload(url, resumable_core::InteropVersion::V6, Some(10));
        let up = Upload::new(config, Instant::now(), SystemTime::now());
        let key = endpoint_key(
            HTTP_KEY,
            "https://up.example/files/",
            Path::new("/nonexistent/f"),
        );
        let p = Pending::new(key, up.unwrap().checkpoint());
        assert_eq!(
            p.destination,
            "http upload at https://up.example/files/ (interop 6)"
        );
        assert_eq!(p.path, PathBuf::from("/nonexistent/f"));
        let key = endpoint_key(TUS_KEY, "https://tus.example/", Path::new("/nonexistent/f"));
        assert_eq!(
            Pending::new(key, cp()).destination,
            "tus at https://tus.example/"
        );
    }

    #[test]
    fn the_state_dir_option_wins() {
        let args = StateArgs {
            state_dir: Some("/tmp/x".into()),
        };
        assert_eq!(state_dir(&args).unwrap(), PathBuf::from("/tmp/x"));
    }
}
