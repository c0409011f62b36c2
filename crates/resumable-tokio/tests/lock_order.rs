//! A dropped upload lets go of its checkpoint's lock only once the save it
//! had under way has ended: another upload that takes the key then never
//! finds the dropped one's late save bringing a cancelled session back.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "hyper")]

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use resumable_core::{Checkpoint, Chunking, RetryPolicy, Secret};
use resumable_emulator::{Emulator, Storage};
use resumable_testkit::MemoryCheckpointStore;
use resumable_tokio::{
    CheckpointLock, CheckpointStore, FileApiTarget, LockError, UploadError, Uploader,
    checkpoint_key,
};

/// A store whose saves after the first are slow; counts the saves started.
struct SlowSaves {
    inner: MemoryCheckpointStore,
    started: Arc<AtomicU32>,
}

impl CheckpointStore for SlowSaves {
    fn load(&mut self, key: &str) -> io::Result<Option<Checkpoint>> {
        self.inner.load(key)
    }
    fn save(&mut self, key: &str, checkpoint: &Checkpoint) -> io::Result<()> {
        if self.started.fetch_add(1, Ordering::SeqCst) >= 1 {
            std::thread::sleep(Duration::from_millis(800));
        }
        self.inner.save(key, checkpoint)
    }
    fn remove(&mut self, key: &str) -> io::Result<()> {
        self.inner.remove(key)
    }
    fn lock(&mut self, key: &str) -> Result<CheckpointLock, LockError> {
        self.inner.lock(key)
    }
}

#[tokio::test]
async fn a_dropped_upload_holds_its_lock_until_its_save_under_way_ends() {
    let emu = Emulator::builder()
        .storage(Storage::Memory)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    std::fs::write(&path, vec![7u8; 4 * 256 * 1024]).unwrap();
    let target = FileApiTarget {
        api_base: emu.base_url().into(),
        organization: "org_1".into(),
        api_key: Secret::new(emu.api_key()),
        mime_type: None,
        filename: None,
    };
    let key = checkpoint_key(&target, &path);
    let memory = MemoryCheckpointStore::new();
    let started = Arc::new(AtomicU32::new(0));
    let retry = RetryPolicy {
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    let mut first = Uploader::new()
        .chunking(Chunking::Fixed(256 * 1024))
        .retry(retry)
        .checkpoint_store(SlowSaves {
            inner: memory.clone(),
            started: Arc::clone(&started),
        });
    {
        let upload = first.upload_file(&target, &path);
        tokio::pin!(upload);
        loop {
            tokio::select! {
                result = &mut upload => panic!("finished: {result:?}"),
                () = tokio::time::sleep(Duration::from_millis(2)) => {
                    if started.load(Ordering::SeqCst) >= 2 { break; }
                }
            }
        }
    } // Dropped while its second save sleeps on a blocking thread.
    assert!(memory.holder(&key).is_some(), "held while the save runs");
    let mut second = Uploader::new()
        .retry(retry)
        .checkpoint_store(memory.clone());
    assert!(matches!(
        second.cancel(&key).await,
        Err(UploadError::Busy { .. })
    ));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(memory.holder(&key).is_none(), "released once it ended");
    assert!(second.cancel(&key).await.unwrap(), "then cancelled");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(memory.get(&key), None, "and nothing comes back");
}
