//! Durable checkpoints: an upload killed at any point resumes where the
//! server says it stopped.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use resumable_core::Checkpoint;
use serde::{Deserialize, Serialize};

/// Where checkpoints are kept, by a key the caller chooses (one per upload).
pub trait CheckpointStore {
    /// The checkpoint stored under `key`, if any.
    fn load(&mut self, key: &str) -> io::Result<Option<Checkpoint>>;
    /// Replaces the checkpoint under `key`; durable once it returns.
    fn save(&mut self, key: &str, checkpoint: &Checkpoint) -> io::Result<()>;
    /// Forgets `key`; no error when there is nothing to forget.
    fn remove(&mut self, key: &str) -> io::Result<()>;
}

/// Checkpoints in memory, for tests and short-lived processes. Clones share
/// one map, so a caller can keep a clone and look at what was saved.
#[derive(Debug, Default, Clone)]
pub struct MemoryCheckpointStore {
    map: Arc<Mutex<HashMap<String, Checkpoint>>>,
}

impl MemoryCheckpointStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The checkpoint under `key`, if any.
    pub fn get(&self, key: &str) -> Option<Checkpoint> {
        self.lock().get(key).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Checkpoint>> {
        // A panic elsewhere cannot leave a map of clones half-written.
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl CheckpointStore for MemoryCheckpointStore {
    fn load(&mut self, key: &str) -> io::Result<Option<Checkpoint>> {
        Ok(self.get(key))
    }
    fn save(&mut self, key: &str, checkpoint: &Checkpoint) -> io::Result<()> {
        self.lock().insert(key.to_owned(), checkpoint.clone());
        Ok(())
    }
    fn remove(&mut self, key: &str) -> io::Result<()> {
        self.lock().remove(key);
        Ok(())
    }
}

/// One JSON file per upload in a directory, written atomically (temporary
/// file, fsync, rename) and readable by the owner only, since a checkpoint
/// holds the session URL, a credential.
#[derive(Debug, Clone)]
pub struct FileCheckpointStore {
    dir: PathBuf,
}

/// What a checkpoint file holds: the key, so a listing can say whose it is.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    key: String,
    checkpoint: Checkpoint,
}

impl FileCheckpointStore {
    /// A store in `dir`, created owner-only (on unix) when missing; an
    /// existing directory keeps its permissions.
    pub fn new(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir)?;
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every stored checkpoint with its key; files that cannot be read as
    /// one are left out here and listed by [`unreadable`](Self::unreadable).
    pub fn list(&self) -> io::Result<Vec<(String, Checkpoint)>> {
        let mut out: Vec<_> = self
            .scan()?
            .into_iter()
            .filter_map(|(_, stored)| stored.ok())
            .map(|stored| (stored.key, stored.checkpoint))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The checkpoint files that cannot be read as one (cut short, edited,
    /// not a checkpoint), with why. Nothing removes them: the caller shows
    /// them, and the user removes a file or starts its upload over.
    pub fn unreadable(&self) -> io::Result<Vec<(PathBuf, io::Error)>> {
        let mut out: Vec<_> = self
            .scan()?
            .into_iter()
            .filter_map(|(path, stored)| stored.err().map(|e| (path, e)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn scan(&self) -> io::Result<Vec<(PathBuf, io::Result<Stored>)>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let stored = read(&path);
                out.push((path, stored));
            }
        }
        Ok(out)
    }

    /// The file that holds `key`: a readable slug of the key and its CRC32C,
    /// so different keys never share a file.
    pub fn path_for(&self, key: &str) -> PathBuf {
        let slug: String = key
            .chars()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!(
            "{slug}-{:08x}.json",
            crc32c::crc32c(key.as_bytes())
        ))
    }
}

/// Larger than any checkpoint: a bigger file is not one.
const MAX_CHECKPOINT_FILE: u64 = 1 << 20;

fn read(path: &Path) -> io::Result<Stored> {
    let mut text = Vec::new();
    fs::File::open(path)?
        .take(MAX_CHECKPOINT_FILE + 1)
        .read_to_end(&mut text)?;
    if text.len() as u64 > MAX_CHECKPOINT_FILE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a checkpoint: too large",
        ));
    }
    serde_json::from_slice(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

impl CheckpointStore for FileCheckpointStore {
    fn load(&mut self, key: &str) -> io::Result<Option<Checkpoint>> {
        match read(&self.path_for(key)) {
            Ok(stored) if stored.key == key => Ok(Some(stored.checkpoint)),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn save(&mut self, key: &str, checkpoint: &Checkpoint) -> io::Result<()> {
        let stored = Stored {
            key: key.to_owned(),
            checkpoint: checkpoint.clone(),
        };
        let json = serde_json::to_vec_pretty(&stored).map_err(io::Error::other)?;
        // NamedTempFile is created owner-only (0600) on unix.
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        tmp.write_all(&json)?;
        tmp.as_file().sync_all()?;
        tmp.persist(self.path_for(key)).map_err(|e| e.error)?;
        #[cfg(unix)]
        fs::File::open(&self.dir)?.sync_all()?;
        Ok(())
    }

    fn remove(&mut self, key: &str) -> io::Result<()> {
        match fs::remove_file(self.path_for(key)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use resumable_core::{CHECKPOINT_FORMAT, Flow, RunningCrc32c};

    use super::*;

    fn cp(persisted: u64) -> Checkpoint {
        Checkpoint {
            format: CHECKPOINT_FORMAT,
            flow: Flow::FileApi,
            target: "t".into(),
            session: None,
            total: Some(10),
            persisted,
            crc32c: RunningCrc32c::default(),
            fingerprint: None,
            object: None,
            restarts: 0,
        }
    }

    #[test]
    fn file_store_round_trips_replaces_lists_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = FileCheckpointStore::new(dir.path().join("state")).unwrap();
        let key = "https://api.example|org|/home/me/video 1.mp4";
        assert_eq!(store.load(key).unwrap(), None);
        store.save(key, &cp(1)).unwrap();
        store.save(key, &cp(2)).unwrap();
        assert_eq!(store.load(key).unwrap(), Some(cp(2)));
        store.save("other", &cp(3)).unwrap();
        let keys: Vec<_> = store
            .list()
            .unwrap()
            .into_iter()
            .map(|(k, c)| (k, c.persisted))
            .collect();
        assert_eq!(keys, [(key.to_owned(), 2), ("other".to_owned(), 3)]);
        store.remove(key).unwrap();
        store.remove(key).unwrap();
        assert_eq!(store.load(key).unwrap(), None);
        let leftovers = fs::read_dir(store.dir()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary files left behind");
    }

    #[cfg(unix)]
    #[test]
    fn checkpoint_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut store = FileCheckpointStore::new(dir.path()).unwrap();
        store.save("k", &cp(1)).unwrap();
        let mode = fs::metadata(store.path_for("k"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = FileCheckpointStore::new(dir.path()).unwrap();
        fs::write(store.path_for("k"), b"{not json").unwrap();
        assert_eq!(
            store.load("k").unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        assert!(store.list().unwrap().is_empty());
        let unreadable = store.unreadable().unwrap();
        assert_eq!(unreadable.len(), 1);
        assert_eq!(unreadable[0].0, store.path_for("k"));
        assert!(store.path_for("k").exists(), "kept for the user to see");
        store.save("other", &cp(3)).unwrap();
        assert_eq!(store.list().unwrap().len(), 1);
        assert_eq!(store.unreadable().unwrap().len(), 1);
    }
}
