//! Independent tus 1.0 servers as test peers, installed on first use and
//! started on free loopback ports, stopped on drop; and the cases every
//! driver runs against them. A peer that cannot be installed or started
//! fails its test; it never skips.
//!
//! The cases check what only an independent server can: that the core's
//! tus requests are the protocol as another implementation reads it, by
//! reading the stored file back from the server's own storage.
#![allow(unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use resumable_core::{Config, TusCreate};

use resumable_local::FileCheckpointStore;

use crate::driver::{Call, Driver, Interrupt, Source};
use crate::emulator::{data, keeping, uploader};
use crate::peers::{free_port, wait_for_port};

/// `tuspyserver` and what serves it, pinned so a run is repeatable.
const PACKAGES: &[&str] = &["tuspyserver==4.4.3", "uvicorn==0.54.0"];

/// A running tus server; killed on drop.
pub struct TusPeer {
    child: Child,
    /// Its creation endpoint, e.g. `http://127.0.0.1:PORT/files/`.
    pub endpoint: String,
    /// Where it stores uploads, one file per upload id.
    pub files: tempfile::TempDir,
}

impl Drop for TusPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TusPeer {
    /// `tuspyserver` (a FastAPI router) under uvicorn: creation,
    /// termination, expiration; stores each upload as `DIR/<id>`.
    pub fn tuspyserver() -> TusPeer {
        let tmp = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/tmp");
        let venv = resumable_testkit::pypi_venv(tmp, "pypi-tus-peers", PACKAGES);
        let port = free_port();
        let files = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/tuspyserver_app.py");
        let mut child = Command::new(venv.join("bin/python"))
            .arg(script)
            .arg(port.to_string())
            .arg(files.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("tuspyserver starts");
        wait_for_port(port, &mut child, "tuspyserver");
        TusPeer {
            child,
            endpoint: format!("http://127.0.0.1:{port}/files/"),
            files,
        }
    }

    /// How many uploads the server holds.
    pub fn uploads(&self) -> usize {
        self.upload_paths().len()
    }

    fn upload_paths(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.files.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_none_or(|x| x != "info"))
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect()
    }

    /// The bytes of the one upload the server holds, as it stored them
    /// (beside each upload's data it keeps an `<id>.info` sidecar, and its
    /// locks in `.locks`).
    pub fn stored_only(&self) -> Vec<u8> {
        let data = self.upload_paths();
        let [path] = data.as_slice() else {
            panic!("expected one upload in the peer's storage, found {data:?}")
        };
        std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

/// A creation with the file's name and type at the peer's endpoint.
fn creation(peer: &TusPeer, name: &str) -> TusCreate {
    let mut create = TusCreate::new(peer.endpoint.clone());
    create.filename = Some(name.into());
    create.filetype = Some("application/octet-stream".into());
    create
}

/// A file of known length, in 256 KiB PATCHes, arrives whole at an
/// independent tus server: creation (`POST` with `Upload-Length` and
/// `Upload-Metadata`), every `PATCH` at the offset the server reported, and
/// the end at offset == length — read back from the server's own storage.
pub fn tuspyserver_stores_a_file_whole<D: Driver>() {
    let peer = TusPeer::tuspyserver();
    let bytes = data(3 * 1024 * 1024 + 123, 41);
    let config = Config::tus_create(creation(&peer, "whole.bin"), Some(bytes.len() as u64));
    let outcome = uploader::<D>()
        .call(Call::Run {
            config,
            source: Source::Bytes(bytes.clone()),
            key: None,
        })
        .unwrap_or_else(|e| panic!("{}: {e}", D::NAME));
    assert_eq!(outcome.object.size, bytes.len() as u64);
    assert!(peer.stored_only() == bytes, "stored bytes differ");
}

/// A stream of unknown length: created with `Upload-Defer-Length: 1`, its
/// length told with the `PATCH` that reaches its end, stored whole.
pub fn tuspyserver_takes_a_deferred_length<D: Driver>() {
    let peer = TusPeer::tuspyserver();
    let bytes = data(1024 * 1024 + 7, 42);
    let config = Config::tus_create(creation(&peer, "stream.bin"), None);
    let outcome = uploader::<D>()
        .call(Call::Run {
            config,
            source: Source::Stream(bytes.clone()),
            key: None,
        })
        .unwrap_or_else(|e| panic!("{}: {e}", D::NAME));
    assert_eq!(outcome.object.size, bytes.len() as u64);
    assert!(peer.stored_only() == bytes, "stored bytes differ");
}

/// An upload interrupted mid-way resumes from its checkpoint at the offset
/// the server reports (`HEAD`), in the same upload resource: the server
/// ends with one upload holding the whole file.
pub fn tuspyserver_resumes_an_interrupted_upload<D: Driver>() {
    let peer = TusPeer::tuspyserver();
    let state = tempfile::tempdir().unwrap();
    let bytes = data(4 * 1024 * 1024 + 5, 43);
    let run = |bytes: &[u8]| Call::Run {
        config: Config::tus_create(creation(&peer, "resume.bin"), Some(bytes.len() as u64)),
        source: Source::Bytes(bytes.to_vec()),
        key: Some("tus-resume"),
    };
    let mut first = keeping::<D>(FileCheckpointStore::new(state.path()).unwrap());
    first.interrupted(run(&bytes), Interrupt::Persisted(1024 * 1024));
    let checkpoint = first.load_checkpoint("tus-resume").unwrap().expect("kept");
    assert!(checkpoint.persisted >= 1024 * 1024, "{checkpoint:?}");
    drop(first);
    keeping::<D>(FileCheckpointStore::new(state.path()).unwrap())
        .call(run(&bytes))
        .unwrap_or_else(|e| panic!("{}: {e}", D::NAME));
    assert!(peer.stored_only() == bytes, "one upload, stored whole");
}

/// Termination: cancelling an interrupted upload by its key sends `DELETE`,
/// and the server drops the upload.
pub fn tuspyserver_terminates_a_cancelled_upload<D: Driver>() {
    let peer = TusPeer::tuspyserver();
    let state = tempfile::tempdir().unwrap();
    let bytes = data(2 * 1024 * 1024, 44);
    let mut up = keeping::<D>(FileCheckpointStore::new(state.path()).unwrap());
    up.interrupted(
        Call::Run {
            config: Config::tus_create(creation(&peer, "gone.bin"), Some(bytes.len() as u64)),
            source: Source::Bytes(bytes),
            key: Some("tus-cancel"),
        },
        Interrupt::Persisted(256 * 1024),
    );
    assert_eq!(peer.uploads(), 1);
    drop(up);
    let mut up = keeping::<D>(FileCheckpointStore::new(state.path()).unwrap());
    assert!(
        up.cancel("tus-cancel").unwrap(),
        "there was an upload to cancel"
    );
    assert_eq!(peer.uploads(), 0, "the server dropped it");
    assert!(up.load_checkpoint("tus-cancel").unwrap().is_none());
}

/// One `#[test]` per tus peer case for a driver.
#[macro_export]
macro_rules! tus_peers_tests {
    ($driver:ty) => {
        $crate::tests_of!($driver, tus_peers:
            tuspyserver_stores_a_file_whole,
            tuspyserver_takes_a_deferred_length,
            tuspyserver_resumes_an_interrupted_upload,
            tuspyserver_terminates_a_cancelled_upload,
        );
    };
}
