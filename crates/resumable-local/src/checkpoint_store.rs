//! Durable checkpoints: an upload killed at any point resumes where the
//! server says it stopped.
//!
//! Each checkpoint has an advisory lock: the upload that uses a checkpoint
//! holds it, so that a second upload of the same file (another process, or
//! another thread of this one) is refused instead of sending the same bytes
//! to the same session, or cancelling the session under the first one.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use resumable_core::Checkpoint;
use serde::{Deserialize, Serialize};

use crate::error::by_pid;

/// Where checkpoints are kept, by a key the caller chooses (one per upload).
///
/// The drivers call [`lock`](Self::lock) before they load a key's
/// checkpoint, and hold the lock until the upload (or cancel) returns.
pub trait CheckpointStore {
    /// The checkpoint stored under `key`, if any.
    fn load(&mut self, key: &str) -> io::Result<Option<Checkpoint>>;
    /// Replaces the checkpoint under `key`; durable once it returns.
    fn save(&mut self, key: &str, checkpoint: &Checkpoint) -> io::Result<()>;
    /// Forgets `key`; no error when there is nothing to forget.
    fn remove(&mut self, key: &str) -> io::Result<()>;
    /// Takes the lock of `key`, without waiting for another holder to let
    /// go, for as long as the returned guard lives. While one guard of a key lives, every other `lock` of
    /// that key, through any handle on the same checkpoints (a clone, a
    /// store opened on the same directory, another process), fails with
    /// [`LockError::Busy`]: the caller then leaves that checkpoint alone and
    /// tries again once the other upload has ended.
    ///
    /// A store of your own builds the guard with [`CheckpointLock::new`]
    /// from a guard of its own; a store no one else can reach may hand out
    /// `CheckpointLock::new(())`.
    fn lock(&mut self, key: &str) -> Result<CheckpointLock, LockError>;
}

/// A held checkpoint lock, from [`CheckpointStore::lock`]: dropping it
/// releases the lock.
#[must_use = "the lock is released as soon as this is dropped"]
pub struct CheckpointLock {
    _guard: Box<dyn Send>,
}

impl CheckpointLock {
    /// A lock released when `guard` is dropped; for stores of your own.
    pub fn new(guard: impl Send + 'static) -> Self {
        Self {
            _guard: Box::new(guard),
        }
    }
}

impl std::fmt::Debug for CheckpointLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointLock").finish_non_exhaustive()
    }
}

/// Why [`CheckpointStore::lock`] did not give the lock.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another upload holds the lock: the process `pid`, when the store can
    /// tell (this process's own id when it is another upload of this
    /// process). Leave the checkpoint alone; wait for that upload to end,
    /// or stop it, then try again.
    #[error("another upload{} is using this checkpoint", by_pid(*.pid))]
    Busy {
        /// The process that holds the lock, when known.
        pid: Option<u32>,
    },
    /// The lock could not be taken or checked (the directory is not
    /// writable, …).
    #[error("cannot lock the checkpoint: {0}")]
    Io(#[from] io::Error),
}

/// Who holds a checkpoint's lock, as a store's `holder` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockHolder {
    /// The process that holds the lock, when known.
    pub pid: Option<u32>,
}

/// One JSON file per upload in a directory, written atomically (temporary
/// file, fsync, rename) and readable by the owner only, since a checkpoint
/// holds the session URL, a credential.
///
/// The lock of a key is an advisory lock (`flock` on unix, `LockFileEx` on
/// Windows) on a file beside its checkpoint,
/// [`lock_path_for`](Self::lock_path_for), holding the holder's pid. The
/// operating system releases it when its process dies, however it dies, so
/// a lock file left by a killed run blocks no one. Locks conflict between processes and
/// between two locks of one process (each opens the file anew). On unix the
/// holder deletes the lock file when it lets go; on Windows, where a locked
/// file cannot be read by others, the pid is unknown to them and lock files
/// stay.
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

    /// The lock file of `key`: [`path_for`](Self::path_for) ending in
    /// `.lock` instead of `.json`, so listings leave it out.
    pub fn lock_path_for(&self, key: &str) -> PathBuf {
        self.path_for(key).with_extension("lock")
    }

    /// Who holds the lock of `key`, if anyone, without taking it: for a
    /// listing that shows uploads running now. `None` when the lock is free
    /// (or was never taken).
    pub fn holder(&self, key: &str) -> io::Result<Option<LockHolder>> {
        let file = match fs::File::open(self.lock_path_for(key)) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        // Shared, and held for an instant: an exclusive lock taken meanwhile
        // waits a little for it (see `lock`).
        match file.try_lock_shared() {
            Ok(()) => Ok(None),
            Err(fs::TryLockError::WouldBlock) => Ok(Some(LockHolder {
                pid: read_pid(&file),
            })),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
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

/// How many times `lock` finds the lock taken before it says busy, and how
/// long it waits between: long enough to outlast a `holder` look, short
/// enough to go unnoticed.
const BUSY_TRIES: u32 = 5;
const BUSY_PAUSE: Duration = Duration::from_millis(10);
/// How many times `lock` opens the lock file anew after the file it locked
/// was deleted by a holder letting go (unix), before it gives up as busy.
const REOPENS: u32 = 20;

/// A file store's lock of one key: the locked file, open.
struct FileLock {
    /// Closed once `drop` has run: closing it releases the lock.
    _file: fs::File,
    #[cfg(unix)]
    path: PathBuf,
}

// Unix only: a holder deletes its lock file before it closes it, while it
// still holds the lock, and a taker checks after locking that the path still
// names the file it locked (see `still_named`), opening it anew otherwise.
// Without that check, a taker that opened the file before the delete and
// locked it after the close would hold a lock on a file no one else can
// reach. On Windows the file stays: there is no cheap check of the same.
#[cfg(unix)]
impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Opens (or creates, owner-only) a lock file.
fn open_lock_file(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Whether `path` still names the open `file` (the same device and inode).
#[cfg(unix)]
fn still_named(file: &fs::File, path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let open = file.metadata()?;
    match fs::metadata(path) {
        Ok(named) => Ok(named.dev() == open.dev() && named.ino() == open.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Lock files are never deleted here, so the path names the file it opened.
#[cfg(not(unix))]
fn still_named(_file: &fs::File, _path: &Path) -> io::Result<bool> {
    Ok(true)
}

/// The pid a lock file holds, when it can be read (not while the holder is
/// writing it, nor on Windows, where the lock keeps others from reading).
fn read_pid(file: &fs::File) -> Option<u32> {
    let mut text = String::new();
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
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

    fn lock(&mut self, key: &str) -> Result<CheckpointLock, LockError> {
        let path = self.lock_path_for(key);
        let (mut busy, mut reopened) = (0, 0);
        loop {
            let mut file = open_lock_file(&path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    busy += 1;
                    if busy >= BUSY_TRIES {
                        return Err(LockError::Busy {
                            pid: read_pid(&file),
                        });
                    }
                    std::thread::sleep(BUSY_PAUSE);
                    continue;
                }
                Err(fs::TryLockError::Error(e)) => return Err(LockError::Io(e)),
            }
            if !still_named(&file, &path)? {
                reopened += 1;
                if reopened >= REOPENS {
                    return Err(LockError::Busy { pid: None });
                }
                continue;
            }
            file.set_len(0)?;
            writeln!(file, "{}", std::process::id())?;
            return Ok(CheckpointLock::new(FileLock {
                _file: file,
                #[cfg(unix)]
                path,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Instant, SystemTime};

    use resumable_core::{Config, SessionUrl, Upload};

    use super::*;

    fn cp(persisted: u64) -> Checkpoint {
        let url = SessionUrl::new("https://up.example/u?upload_id=SECRET");
        let config = Config::gcs_session(url, Some(10));
        let up = Upload::new(config, Instant::now(), SystemTime::now());
        Checkpoint {
            persisted,
            ..up.unwrap().checkpoint()
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

    fn busy_pid(result: Result<CheckpointLock, LockError>) -> Option<u32> {
        match result {
            Err(LockError::Busy { pid }) => pid,
            other => panic!("not busy: {other:?}"),
        }
    }

    #[test]
    fn a_file_lock_excludes_every_other_open_until_it_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = FileCheckpointStore::new(dir.path()).unwrap();
        // Another open of the same directory, as another upload would make.
        let mut second = FileCheckpointStore::new(dir.path()).unwrap();
        let me = Some(std::process::id());
        assert_eq!(second.holder("k").unwrap(), None);

        let lock = first.lock("k").unwrap();
        assert_eq!(busy_pid(second.lock("k")), me, "named by its pid");
        assert_eq!(busy_pid(first.lock("k")), me, "the same store opens anew");
        let mut clone = first.clone();
        let other_thread = std::thread::spawn(move || busy_pid(clone.lock("k")));
        assert_eq!(other_thread.join().unwrap(), me);
        assert_eq!(second.holder("k").unwrap(), Some(LockHolder { pid: me }));
        let other_key = second.lock("other key").unwrap();

        drop(lock);
        assert_eq!(second.holder("k").unwrap(), None);
        let again = second.lock("k").unwrap();
        assert_eq!(busy_pid(first.lock("k")), me);
        drop((again, other_key));
        drop(first.lock("k").unwrap());
    }

    #[test]
    fn a_lock_file_is_owner_only_out_of_listings_and_gone_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = FileCheckpointStore::new(dir.path()).unwrap();
        store.save("k", &cp(1)).unwrap();
        let lock = store.lock("k").unwrap();
        let path = store.lock_path_for("k");
        assert_eq!(path.extension().unwrap(), "lock");
        assert_eq!(path.file_stem(), store.path_for("k").file_stem());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "mode {mode:o}");
            assert_eq!(
                fs::read_to_string(&path).unwrap().trim(),
                std::process::id().to_string()
            );
        }
        assert_eq!(store.list().unwrap().len(), 1);
        assert!(store.unreadable().unwrap().is_empty());
        drop(lock);
        #[cfg(unix)]
        assert!(!path.exists(), "removed on release");
        assert_eq!(
            store.load("k").unwrap(),
            Some(cp(1)),
            "the checkpoint stays"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_lock_file_left_by_a_dead_process_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = FileCheckpointStore::new(dir.path()).unwrap();
        // What a run killed while it held the lock leaves: the file with its
        // pid, and no lock (the system released it with the process).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        fs::write(store.lock_path_for("k"), format!("{dead}\n")).unwrap();
        assert_eq!(store.holder("k").unwrap(), None);
        let lock = store.lock("k").unwrap();
        assert_eq!(
            store.holder("k").unwrap(),
            Some(LockHolder {
                pid: Some(std::process::id())
            })
        );
        drop(lock);
    }
}
