//! The async driver against the emulator, over real sockets: the catalogue
//! `resumable_conformance::emulator` run through this driver, and what only
//! an async driver has: its futures are `Send`, and dropping one is how an
//! upload stops, after which the same uploader goes on.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "hyper")]

use std::time::Duration;

use resumable_conformance::drivers::Tokio;
use resumable_conformance::emulator::{UNIT, api, data, emulator, fast_retries, write_file};
use resumable_core::{Chunking, Secret};
use resumable_emulator::EmulatorHandle;
use resumable_tokio::{FileApiTarget, FileCheckpointStore, Uploader, checkpoint_key};

resumable_conformance::emulator_tests!(Tokio);

#[test]
fn upload_futures_can_be_spawned() {
    fn assert_send<T: Send>(_: &T) {}
    let mut up = Uploader::new();
    let api = FileApiTarget::new("https://api.example", "org", Secret::new("k"));
    let future = up.upload_file(&api, "/nonexistent");
    assert_send(&future);
}

/// Returns once the emulator holds a request (a `stall=` fault).
async fn until_held(emu: &EmulatorHandle) {
    let wait = async {
        while emu.stats().held == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("a request is held");
}

#[tokio::test]
async fn a_dropped_upload_lets_go_of_its_lock_at_once_and_its_uploader_cancels_it() {
    let emu = emulator("chunk#2 stall=3s");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("checkpoints");
    let path = write_file(dir.path(), "dropped.bin", &data(4 * UNIT, 14));
    let target = api(&emu);
    let key = checkpoint_key(&target, &path);
    let mut up = Uploader::new()
        .chunking(Chunking::Fixed(UNIT))
        .retry(fast_retries())
        .checkpoint_store(FileCheckpointStore::new(&state).unwrap());
    tokio::select! {
        result = up.upload_file(&target, &path) => panic!("finished: {result:?}"),
        () = until_held(&emu) => {}
    }
    let store = FileCheckpointStore::new(&state).unwrap();
    assert_eq!(
        store.holder(&key).unwrap(),
        None,
        "released with the future"
    );
    assert!(
        up.cancel(&key).await.unwrap(),
        "the dropped upload is cancelled"
    );
    assert_eq!(emu.registrations(), 0);
    assert!(store.list().unwrap().is_empty());
}
