//! The checkpoint store, used from async code without blocking the runtime.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex as StdMutex, PoisonError};

use resumable_core::Checkpoint;
use resumable_local::{CheckpointLock, CheckpointStore, LockError};
use tokio::sync::Mutex;

/// A [`CheckpointStore`] whose calls run on tokio's blocking threads, one at
/// a time and in the order they were made. A call that has started
/// completes even when the upload's future is dropped, so a later call
/// (a resume, [`crate::Uploader::load_checkpoint`]) sees its result.
#[derive(Clone)]
pub(crate) struct SharedStore {
    store: Arc<Mutex<Box<dyn CheckpointStore + Send>>>,
    /// The locks of the keys held now, shared with every call on the key
    /// under way: a lock lives until its holder lets go and the last such
    /// call has ended, so a save still running after the upload's future was
    /// dropped ends before another upload can take the key.
    held: Arc<StdMutex<HashMap<String, SharedLock>>>,
}

type SharedLock = Arc<StdMutex<CheckpointLock>>;

/// A key's lock, held by an upload: dropping it lets go (see
/// [`SharedStore::held`]).
pub(crate) struct HeldLock {
    held: Arc<StdMutex<HashMap<String, SharedLock>>>,
    key: String,
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        held_locks(&self.held).remove(&self.key);
    }
}

fn held_locks(
    held: &StdMutex<HashMap<String, SharedLock>>,
) -> std::sync::MutexGuard<'_, HashMap<String, SharedLock>> {
    // A panic elsewhere cannot leave the map half-written.
    held.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SharedStore {
    pub(crate) fn new(store: impl CheckpointStore + Send + 'static) -> Self {
        Self {
            store: Arc::new(Mutex::new(Box::new(store))),
            held: Arc::default(),
        }
    }

    pub(crate) async fn load(&self, key: &str) -> io::Result<Option<Checkpoint>> {
        let key = key.to_owned();
        self.with(move |store| store.load(&key)).await
    }

    pub(crate) async fn save(&self, key: &str, checkpoint: Checkpoint) -> io::Result<()> {
        let keep = self.lock_of(key);
        let key = key.to_owned();
        self.with(move |store| {
            let saved = store.save(&key, &checkpoint);
            drop(keep);
            saved
        })
        .await
    }

    pub(crate) async fn remove(&self, key: &str) -> io::Result<()> {
        let keep = self.lock_of(key);
        let key = key.to_owned();
        self.with(move |store| {
            let removed = store.remove(&key);
            drop(keep);
            removed
        })
        .await
    }

    /// Takes the lock of `key` ([`CheckpointStore::lock`]). A lock taken
    /// after its caller's future was dropped is dropped with the result, so
    /// it is released all the same.
    pub(crate) async fn lock(&self, key: &str) -> Result<HeldLock, LockError> {
        let owned = key.to_owned();
        let lock = self.with(move |store| store.lock(&owned)).await?;
        held_locks(&self.held).insert(key.to_owned(), Arc::new(StdMutex::new(lock)));
        Ok(HeldLock {
            held: Arc::clone(&self.held),
            key: key.to_owned(),
        })
    }

    /// Releases `lock` on a blocking thread, after the calls made before it
    /// (releasing a file lock deletes its file). A lock dropped any other
    /// way, with the upload's future, is released once no call on its key
    /// is under way.
    pub(crate) async fn release(&self, lock: HeldLock) {
        let last = held_locks(&self.held).remove(&lock.key);
        drop(lock);
        let released = self
            .with(move |_| {
                drop(last);
                Ok::<(), io::Error>(())
            })
            .await;
        if let Err(error) = released {
            tracing::warn!(%error, "could not release the checkpoint lock");
        }
    }

    /// The lock of `key` while it is held, for a call to keep alive.
    fn lock_of(&self, key: &str) -> Option<SharedLock> {
        held_locks(&self.held).get(key).cloned()
    }

    /// Runs `op` on a blocking thread, holding the store. The lock is taken
    /// here, before the thread starts, so calls keep their order.
    async fn with<R: Send + 'static, E: From<io::Error> + Send + 'static>(
        &self,
        op: impl FnOnce(&mut dyn CheckpointStore) -> Result<R, E> + Send + 'static,
    ) -> Result<R, E> {
        let mut store = Arc::clone(&self.store).lock_owned().await;
        off_runtime(move || op(store.as_mut())).await
    }
}

/// Runs blocking file-system work on tokio's blocking threads.
pub(crate) async fn off_runtime<R: Send + 'static, E: From<io::Error> + Send + 'static>(
    work: impl FnOnce() -> Result<R, E> + Send + 'static,
) -> Result<R, E> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(join) => Err(io::Error::other(format!("a blocking task failed: {join}")).into()),
    }
}
