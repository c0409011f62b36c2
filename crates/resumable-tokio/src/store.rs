//! The checkpoint store, used from async code without blocking the runtime.

use std::io;
use std::sync::Arc;

use resumable_core::Checkpoint;
use resumable_local::{CheckpointLock, CheckpointStore, LockError};
use tokio::sync::Mutex;

/// A [`CheckpointStore`] whose calls run on tokio's blocking threads, one at
/// a time and in the order they were made. A call that has started
/// completes even when the upload's future is dropped, so a later call
/// (a resume, [`crate::Uploader::load_checkpoint`]) sees its result.
#[derive(Clone)]
pub(crate) struct SharedStore(Arc<Mutex<Box<dyn CheckpointStore + Send>>>);

impl SharedStore {
    pub(crate) fn new(store: impl CheckpointStore + Send + 'static) -> Self {
        Self(Arc::new(Mutex::new(Box::new(store))))
    }

    pub(crate) async fn load(&self, key: &str) -> io::Result<Option<Checkpoint>> {
        let key = key.to_owned();
        self.with(move |store| store.load(&key)).await
    }

    pub(crate) async fn save(&self, key: &str, checkpoint: Checkpoint) -> io::Result<()> {
        let key = key.to_owned();
        self.with(move |store| store.save(&key, &checkpoint)).await
    }

    pub(crate) async fn remove(&self, key: &str) -> io::Result<()> {
        let key = key.to_owned();
        self.with(move |store| store.remove(&key)).await
    }

    /// Takes the lock of `key` ([`CheckpointStore::lock`]). A lock taken
    /// after its caller's future was dropped is dropped with the result, so
    /// it is released all the same.
    pub(crate) async fn lock(&self, key: &str) -> Result<CheckpointLock, LockError> {
        let key = key.to_owned();
        self.with(move |store| store.lock(&key)).await
    }

    /// Releases `lock` on a blocking thread, after the calls made before it
    /// (releasing a file lock deletes its file). A guard dropped any other
    /// way, with the upload's future, is released where it is dropped.
    pub(crate) async fn release(&self, lock: CheckpointLock) {
        let released = self
            .with(move |_| {
                drop(lock);
                Ok::<(), io::Error>(())
            })
            .await;
        if let Err(error) = released {
            tracing::warn!(%error, "could not release the checkpoint lock");
        }
    }

    /// Runs `op` on a blocking thread, holding the store. The lock is taken
    /// here, before the thread starts, so calls keep their order.
    async fn with<R: Send + 'static, E: From<io::Error> + Send + 'static>(
        &self,
        op: impl FnOnce(&mut dyn CheckpointStore) -> Result<R, E> + Send + 'static,
    ) -> Result<R, E> {
        let mut store = Arc::clone(&self.0).lock_owned().await;
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
