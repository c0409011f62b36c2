//! The checkpoint stores this crate hands out (`resumable-local`'s):
//! what the driver relies on beyond that crate's own tests. Atomic
//! replacement, an owner-only directory, keys that never escape the
//! directory or share a file, and in-memory clones sharing one map.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::time::{Instant, SystemTime};

use resumable_core::{Checkpoint, Config, SessionUrl, Upload};
use resumable_testkit::MemoryCheckpointStore;
use resumable_tokio::{CheckpointStore, FileCheckpointStore};

fn checkpoint(persisted: u64) -> Checkpoint {
    let url = SessionUrl::new("https://up.example/u?upload_id=SECRET");
    let config = Config::gcs_session(url, Some(10_000_000));
    let up = Upload::new(config, Instant::now(), SystemTime::now());
    Checkpoint {
        persisted,
        ..up.unwrap().checkpoint()
    }
}

#[test]
fn a_save_replaces_the_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FileCheckpointStore::new(dir.path()).unwrap();
    store.save("k", &checkpoint(1)).unwrap();
    let path = store.path_for("k");
    let before = fs::metadata(&path).unwrap();
    store.save("k", &checkpoint(2)).unwrap();
    // A rename puts a new file in place: a reader holding the old one never
    // sees it change under it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        assert_ne!(before.ino(), fs::metadata(&path).unwrap().ino());
    }
    let _ = before;
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"key\": \"k\""), "{text}");
    assert_eq!(store.load("k").unwrap().unwrap().persisted, 2);
}

#[cfg(unix)]
#[test]
fn the_directory_is_the_owner_s_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = FileCheckpointStore::new(dir.path().join("nested/state")).unwrap();
    let mode = fs::metadata(store.dir()).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "dir mode {mode:o}");
}

#[test]
fn a_file_holding_another_key_is_not_this_key_s() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FileCheckpointStore::new(dir.path()).unwrap();
    // As after a clash of file names.
    store.save("a", &checkpoint(1)).unwrap();
    fs::copy(store.path_for("a"), store.path_for("b")).unwrap();
    assert_eq!(store.load("b").unwrap(), None);
}

#[test]
fn file_names_are_safe_for_any_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FileCheckpointStore::new(dir.path()).unwrap();
    let keys = [
        "../../etc/passwd",
        "..",
        "C:\\x\\y",
        "\u{e9}t\u{e9} \u{1f600}",
        &"x".repeat(1000),
    ];
    for key in keys {
        let path = store.path_for(key);
        assert_eq!(path.parent(), Some(dir.path()), "{key}");
        store.save(key, &checkpoint(7)).unwrap();
        assert_eq!(store.load(key).unwrap().unwrap().persisted, 7);
    }
}

#[test]
fn memory_store_clones_share_their_checkpoints() {
    let store = MemoryCheckpointStore::new();
    let mut handed_out = store.clone();
    handed_out.save("k", &checkpoint(5)).unwrap();
    assert_eq!(store.get("k").unwrap().persisted, 5);
    handed_out.remove("k").unwrap();
    assert_eq!(store.get("k"), None);
}
