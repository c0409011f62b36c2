//! The async driver against independent GCS emulators from PyPI, over real
//! sockets; every upload is verified by downloading the object. A peer that
//! cannot be installed or started fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "hyper")]

use resumable_conformance::drivers::Tokio;
use resumable_conformance::peers;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use peers::{Peer, data as peers_data};
use resumable_core::{Chunking, Config, Event, TransportError};
use resumable_testkit::MemoryCheckpointStore;
use resumable_tokio::{
    AsyncTransport, BytesSource, CheckpointStore, HyperTransport, RequestBody, Uploader,
};
use tokio::sync::mpsc;

const UNIT: u64 = 256 * 1024;

/// The default transport, noting each request's `Content-Range`.
struct Recording {
    inner: HyperTransport,
    ranges: Arc<Mutex<Vec<String>>>,
}

impl AsyncTransport for Recording {
    async fn send(
        &mut self,
        request: http::Request<RequestBody>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        if let Some(range) = request.headers().get(http::header::CONTENT_RANGE) {
            let range = range.to_str().unwrap_or_default().to_owned();
            self.ranges.lock().unwrap().push(range);
        }
        self.inner.send(request).await
    }
}

#[tokio::test]
async fn gcp_storage_emulator_chunked_upload_with_a_resume() {
    let peer = Peer::gcp_storage_emulator();
    let bytes = peers_data(5 * UNIT as usize + 123, 1);
    let config = Config::gcs_initiate(peer.initiate("dir/resumed.bin"), Some(bytes.len() as u64));
    let mut source = BytesSource::new(bytes.clone());

    // Dropped once two chunks are persisted …
    let store = MemoryCheckpointStore::default();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut first = Uploader::new()
        .chunking(Chunking::Fixed(UNIT))
        .checkpoint_store(store.clone())
        .on_event(move |e| {
            if let Event::Persisted { offset, .. } = e {
                let _ = tx.send(*offset);
            }
        });
    tokio::select! {
        result = first.run(config.clone(), &mut source, Some("resumed")) => {
            panic!("finished before it was dropped: {result:?}");
        }
        () = async {
            while rx.recv().await.is_some_and(|offset| offset < 2 * UNIT) {}
        } => {}
    }
    let checkpoint = first
        .load_checkpoint("resumed")
        .await
        .unwrap()
        .expect("checkpoint kept");
    assert!(checkpoint.persisted >= 2 * UNIT);

    // … and resumed by a new uploader: a status query, then the rest.
    let mut store = MemoryCheckpointStore::default();
    store.save("resumed", &checkpoint).unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let transport = Recording {
        inner: HyperTransport::new(std::time::Duration::from_secs(30)).unwrap(),
        ranges: ranges.clone(),
    };
    let mut second = Uploader::with_transport(transport)
        .chunking(Chunking::Fixed(UNIT))
        .checkpoint_store(store.clone())
        .on_event(move |e| seen.lock().unwrap().push(e.clone()));
    let outcome = second
        .run(config, &mut source, Some("resumed"))
        .await
        .unwrap();
    assert_eq!(outcome.object.size, bytes.len() as u64);
    let ranges = ranges.lock().unwrap();
    assert_eq!(
        ranges[0],
        format!("bytes */{}", bytes.len()),
        "the resume starts with a status query: {ranges:?}"
    );
    assert!(
        ranges[1].starts_with(&format!("bytes {}-", checkpoint.persisted)),
        "then goes on from the persisted offset: {ranges:?}"
    );
    let first_offset = events.lock().unwrap().iter().find_map(|e| match e {
        Event::Persisted { offset, .. } => Some(*offset),
        _ => None,
    });
    assert!(first_offset.unwrap() > checkpoint.persisted);
    assert_eq!(store.get("resumed"), None, "removed once done");
    assert_eq!(peer.download("dir/resumed.bin"), bytes);
}

#[test]
fn gcp_storage_emulator_single_request_and_boundary_sizes() {
    peers::gcp_storage_emulator_single_request_and_boundary_sizes::<Tokio>();
}

#[test]
fn fake_gcs_server_sequential_chunked_upload() {
    peers::fake_gcs_server_sequential_chunked_upload::<Tokio>();
}
