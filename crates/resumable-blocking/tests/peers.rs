//! The blocking driver against independent GCS emulators from PyPI, over
//! real sockets; every upload is verified by downloading the object.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use resumable_conformance::drivers::Blocking;
use resumable_conformance::peers;

use std::sync::{Arc, Mutex};

use peers::{Peer, data as peers_data};
use resumable_blocking::{BytesSource, StopHandle, UploadError, Uploader};
use resumable_core::{Chunking, Config, Event};
use resumable_testkit::MemoryCheckpointStore;

const UNIT: u64 = 256 * 1024;

#[test]
fn gcp_storage_emulator_chunked_upload_with_a_resume() {
    let peer = Peer::gcp_storage_emulator();
    let bytes = peers_data(5 * UNIT as usize + 123, 1);

    // Interrupted after two chunks are persisted …
    let store = MemoryCheckpointStore::default();
    let stop = Arc::new(Mutex::new(None::<StopHandle>));
    let stopper = stop.clone();
    let mut first = Uploader::new()
        .chunking(Chunking::Fixed(UNIT))
        .checkpoint_store(store.clone())
        .on_event(move |e| {
            if matches!(e, Event::Persisted { offset, .. } if *offset >= 2 * UNIT) {
                stopper.lock().unwrap().as_ref().unwrap().stop();
            }
        });
    *stop.lock().unwrap() = Some(first.stop_handle());
    let config = Config::gcs_initiate(peer.initiate("dir/resumed.bin"), Some(bytes.len() as u64));
    let mut source = BytesSource::new(bytes.clone());
    let interrupted = first.run(config.clone(), &mut source, Some("resumed"));
    assert!(
        matches!(interrupted, Err(UploadError::Interrupted)),
        "{interrupted:?}"
    );
    let checkpoint = first
        .load_checkpoint("resumed")
        .unwrap()
        .expect("checkpoint kept");
    assert!(checkpoint.persisted >= 2 * UNIT);

    // … and resumed by a new uploader: a status query, then the rest.
    let mut store = MemoryCheckpointStore::default();
    resumable_blocking::CheckpointStore::save(&mut store, "resumed", &checkpoint).unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let mut second = Uploader::new()
        .chunking(Chunking::Fixed(UNIT))
        .checkpoint_store(store)
        .on_event(move |e| seen.lock().unwrap().push(e.clone()));
    let outcome = second.run(config, &mut source, Some("resumed")).unwrap();
    assert_eq!(outcome.object.size, bytes.len() as u64);
    let first_offset = events.lock().unwrap().iter().find_map(|e| match e {
        Event::Persisted { offset, .. } => Some(*offset),
        _ => None,
    });
    assert!(
        first_offset.unwrap() > 2 * UNIT,
        "the resume went on from the persisted offset"
    );
    assert_eq!(peer.download("dir/resumed.bin"), bytes);
}

#[test]
fn gcp_storage_emulator_single_request_and_boundary_sizes() {
    peers::gcp_storage_emulator_single_request_and_boundary_sizes::<Blocking>();
}

#[test]
fn fake_gcs_server_sequential_chunked_upload() {
    peers::fake_gcs_server_sequential_chunked_upload::<Blocking>();
}
