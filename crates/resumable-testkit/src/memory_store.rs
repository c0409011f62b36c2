//! A checkpoint store in memory, for the drivers' tests.

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use resumable_local::{Checkpoint, CheckpointLock, CheckpointStore, LockError, LockHolder};

/// Checkpoints in memory, for tests. Clones share
/// one map and one set of locks, so a caller can keep a clone and look at
/// what was saved, and two uploads through clones exclude each other.
#[derive(Debug, Default, Clone)]
pub struct MemoryCheckpointStore {
    map: Arc<Mutex<HashMap<String, Checkpoint>>>,
    locked: Arc<Mutex<HashSet<String>>>,
}

impl MemoryCheckpointStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The checkpoint under `key`, if any.
    pub fn get(&self, key: &str) -> Option<Checkpoint> {
        self.map().get(key).cloned()
    }

    /// Who holds the lock of `key` (this process, through a clone), if
    /// anyone; it takes nothing.
    pub fn holder(&self, key: &str) -> Option<LockHolder> {
        unpoisoned(&self.locked).contains(key).then(|| LockHolder {
            pid: Some(std::process::id()),
        })
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, Checkpoint>> {
        unpoisoned(&self.map)
    }
}

/// A memory store's lock of one key: dropping it frees the key.
struct MemoryLock {
    locked: Arc<Mutex<HashSet<String>>>,
    key: String,
}

impl Drop for MemoryLock {
    fn drop(&mut self) {
        unpoisoned(&self.locked).remove(&self.key);
    }
}

impl CheckpointStore for MemoryCheckpointStore {
    fn load(&mut self, key: &str) -> io::Result<Option<Checkpoint>> {
        Ok(self.get(key))
    }
    fn save(&mut self, key: &str, checkpoint: &Checkpoint) -> io::Result<()> {
        self.map().insert(key.to_owned(), checkpoint.clone());
        Ok(())
    }
    fn remove(&mut self, key: &str) -> io::Result<()> {
        self.map().remove(key);
        Ok(())
    }
    fn lock(&mut self, key: &str) -> Result<CheckpointLock, LockError> {
        if !unpoisoned(&self.locked).insert(key.to_owned()) {
            return Err(LockError::Busy {
                pid: Some(std::process::id()),
            });
        }
        Ok(CheckpointLock::new(MemoryLock {
            locked: Arc::clone(&self.locked),
            key: key.to_owned(),
        }))
    }
}

fn unpoisoned<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave a map or a set of clones half-written.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busy_pid(result: Result<CheckpointLock, LockError>) -> Option<u32> {
        match result {
            Err(LockError::Busy { pid }) => pid,
            other => panic!("expected Busy, got {other:?}"),
        }
    }

    #[test]
    fn memory_locks_are_shared_by_clones_and_released_on_drop() {
        let mut store = MemoryCheckpointStore::new();
        let mut clone = store.clone();
        let me = Some(std::process::id());
        let lock = store.lock("k").unwrap();
        assert_eq!(busy_pid(clone.lock("k")), me);
        assert_eq!(busy_pid(store.lock("k")), me);
        assert_eq!(clone.holder("k"), Some(LockHolder { pid: me }));
        assert!(
            MemoryCheckpointStore::new().lock("k").is_ok(),
            "another store"
        );
        let other = clone.lock("other").unwrap();
        drop(lock);
        assert_eq!(store.holder("k"), None);
        let again = clone.lock("k").unwrap();
        assert_eq!(busy_pid(store.lock("k")), me);
        drop((again, other));
        assert_eq!(store.holder("other"), None);
    }
}
