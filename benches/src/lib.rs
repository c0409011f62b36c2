//! Shared pieces of the benchmarks: a counting allocator, the core driven
//! against the `resumable-sim` server or replaying its answers ([`sim`]), a
//! slow, distant link on loopback ([`link`]),
//! and the answers of a plan too large for the sim to hold.
#![allow(unsafe_code)]

pub mod link;
pub mod sim;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use resumable_core::{Chunking, Config, SessionUrl};

/// The chunk size the core benches plan: 8 MiB.
pub const CHUNK: u64 = 8 << 20;

/// The core benches' upload: `total` bytes to the session at `url`, in
/// [`CHUNK`]s. The benches send bytes they never hash, so no checksum is
/// asked for ahead or required.
pub fn session_config(url: &str, total: u64) -> Config {
    let mut config = Config::gcs_session(SessionUrl::new(url), Some(total));
    config.chunking = Chunking::Fixed(CHUNK);
    config.require_crc32c = false;
    config.checksum_ahead_limit = 0;
    config
}

/// Asks the file API at `api` for a fresh upload session for a file `name`
/// of `size` bytes, as organization `org` with `key`, and gives back its
/// `upload_url`. Panics when there is none: a bench cannot go on without it.
pub fn session_url(api: &str, key: &str, org: &str, name: &str, size: u64) -> String {
    let url = format!("{api}/v1/organizations/{org}/files/upload-url");
    let body = serde_json::json!({
        "filename": name,
        "file_size": size,
        "mime_type": "application/octet-stream",
    });
    let mut response = ureq::post(&url)
        .header("x-api-key", key)
        .header("content-type", "application/json")
        .send(body.to_string())
        .unwrap_or_else(|e| panic!("session: {e}"));
    let session: serde_json::Value =
        serde_json::from_slice(&response.body_mut().read_to_vec().unwrap_or_default())
            .unwrap_or_default();
    session["upload_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no upload_url in {session}"))
        .to_owned()
}

/// The system allocator, counting allocations. Install it in a bench with
/// `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
#[derive(Debug)]
pub struct CountingAlloc;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is the only addition.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations made so far by a program using [`CountingAlloc`].
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// A `308` saying the first `persisted` bytes are stored, its `Range` as the
/// sim writes it: for a plan the sim cannot serve, since its sessions keep
/// every byte they are sent.
pub fn persisted_308(persisted: u64) -> http::Response<Bytes> {
    let mut r = http::Response::builder().status(308);
    if let Some(range) = resumable_sim::wire::persisted_range(persisted) {
        r = r.header("range", range);
    }
    r.body(Bytes::new()).unwrap_or_default()
}

/// The final object of `size` bytes, without a checksum (the plan it ends
/// sends no data), for a plan the sim cannot serve.
pub fn final_object(size: u64) -> http::Response<Bytes> {
    http::Response::builder()
        .status(200)
        .body(Bytes::from(format!(r#"{{"size":"{size}"}}"#)))
        .unwrap_or_default()
}

/// The whole number in the environment variable `name`, or `default` when it
/// is unset or not a number: how the benches take their sizes and run counts.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
