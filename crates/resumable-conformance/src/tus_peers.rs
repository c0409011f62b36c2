//! Independent tus 1.0 servers as test peers, installed on first use and
//! started on free loopback ports, stopped on drop; and the cases every
//! driver runs against each of them. A peer that cannot be installed or
//! started fails its test; it never skips.
//!
//! The servers: `tuspyserver` (PyPI, under uvicorn), `@tus/server` with
//! `@tus/file-store` (npm, on the machine's Node.js) and `tus-server`
//! (crates.io, every extension on: the one that checks `Upload-Checksum`).
//! The npm and crates.io ones are kept in the user's cache directory
//! ([`resumable_testkit::cache_dir`]) across clones.
//!
//! The cases check what only an independent server can: that the core's
//! tus requests are the protocol as another implementation reads it, by
//! reading the stored file back from the server's own storage.
#![allow(unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use resumable_core::{ChecksumAlgorithm, Config, TusCreate};

use resumable_local::FileCheckpointStore;

use crate::driver::{Call, Driver, Interrupt, Source};
use crate::emulator::{data, keeping, uploader};
use crate::peers::{free_port, wait_for_port};

/// `tuspyserver` and what serves it, pinned so a run is repeatable.
const PYPI_PACKAGES: &[&str] = &["tuspyserver==4.4.3", "uvicorn==0.54.0"];
/// `@tus/server` and its file store, pinned.
const NPM_PACKAGES: &[&str] = &["@tus/server@2.4.5", "@tus/file-store@2.1.1"];
/// `tus-server` from crates.io, pinned.
const TUS_SERVER_VERSION: &str = "0.1.0";

/// A tus server to run the cases against.
pub trait Peer {
    /// Starts one, with empty storage.
    fn start() -> TusPeer;
    /// The checksum algorithm the engine agrees with it, if any.
    const CHECKSUM: Option<ChecksumAlgorithm>;
}

/// `tuspyserver` (a FastAPI router) under uvicorn: creation,
/// creation-with-upload, defer-length, termination, expiration.
pub struct TusPy;

impl Peer for TusPy {
    const CHECKSUM: Option<ChecksumAlgorithm> = None;

    fn start() -> TusPeer {
        let tmp = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/tmp");
        let venv = resumable_testkit::pypi_venv(tmp, "pypi-tus-peers", PYPI_PACKAGES);
        TusPeer::spawn("tuspyserver", Layout::Sidecar("info"), |port, files| {
            let mut command = Command::new(venv.join("bin/python"));
            command
                .arg(peer_script("tuspyserver_app.py"))
                .arg(port.to_string())
                .arg(files);
            (command, "/files/")
        })
    }
}

/// `@tus/server` with `@tus/file-store` on Node.js: creation,
/// creation-with-upload, defer-length, termination, expiration.
pub struct TusNode;

impl Peer for TusNode {
    const CHECKSUM: Option<ChecksumAlgorithm> = None;

    fn start() -> TusPeer {
        let modules = resumable_testkit::npm_packages("npm-tus-server", NPM_PACKAGES);
        let script = std::fs::read_to_string(peer_script("tus_node_server.mjs")).unwrap();
        TusPeer::spawn("@tus/server", Layout::Sidecar("json"), |port, files| {
            let mut command = Command::new("node");
            // Evaluated code resolves its imports from the working
            // directory: the cached packages.
            command
                .current_dir(&modules)
                .args(["--input-type=module", "-e", &script])
                .arg(port.to_string())
                .arg(files);
            (command, "/files/")
        })
    }
}

/// `tus-server` (crates.io) with every extension: beside the others',
/// checksum (`sha1`, `md5`, `crc32`, `sha256`; `460` on a mismatch) and
/// concatenation. It answers with relative `Location`s.
pub struct TusRs;

impl Peer for TusRs {
    const CHECKSUM: Option<ChecksumAlgorithm> = Some(ChecksumAlgorithm::Sha256);

    fn start() -> TusPeer {
        TusRs::start_with(None)
    }
}

impl TusRs {
    /// A `tus-server` that takes only requests with `Authorization: Bearer
    /// {token}` when a token is given (every request, `OPTIONS` too).
    pub fn start_with(token: Option<&str>) -> TusPeer {
        let bin = resumable_testkit::cargo_binary("tus-server", TUS_SERVER_VERSION, "tus-server");
        TusPeer::spawn("tus-server", Layout::UploadDirs, |port, files| {
            let mut command = Command::new(&bin);
            command
                .current_dir(files)
                .env_clear()
                .env("TUS_STORAGE_ROOT", "uploads")
                .args(["serve", "--storage-uri", "fs://", "--state-dir", "state"])
                .args(["--all-extensions=true", "--expiration", "1h"])
                .arg("--addr")
                .arg(format!("127.0.0.1:{port}"));
            if let Some(token) = token {
                command.env("TUS_AUTH_TOKEN", token);
            }
            (command, "/files")
        })
    }
}

/// A script under this crate's `peers/`.
fn peer_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("peers")
        .join(name)
}

/// How a peer lays its uploads out in its storage directory.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// `DIR/<id>` holds the bytes, beside `DIR/<id>.<ext>` (and hidden
    /// lock files).
    Sidecar(&'static str),
    /// `DIR/uploads/<id>/` holds an upload's parts, joined into `data` once
    /// complete; its state is under `DIR/state/`.
    UploadDirs,
}

/// A running tus server; killed on drop.
pub struct TusPeer {
    child: Child,
    /// Its creation endpoint, e.g. `http://127.0.0.1:PORT/files/`.
    pub endpoint: String,
    /// Where it stores uploads.
    pub files: tempfile::TempDir,
    layout: Layout,
}

impl Drop for TusPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TusPeer {
    /// Runs the command `command(port, storage)` makes for a free port and
    /// an empty storage directory, and waits until it listens; the command
    /// comes with the endpoint's path.
    ///
    /// Listening is not yet serving: the peer must also answer an `OPTIONS`
    /// with an HTTP status. A peer that exits after it began to listen
    /// (seen once on a first run, with nothing on its stderr) is started
    /// once more, on a fresh port, before the test fails.
    fn spawn(
        what: &str,
        layout: Layout,
        command: impl Fn(u16, &Path) -> (Command, &'static str),
    ) -> TusPeer {
        for attempt in 1..=2 {
            let files = tempfile::tempdir().unwrap();
            let port = free_port();
            let (mut command, path) = command(port, files.path());
            let mut child = command
                .stdout(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("{what} cannot start: {e}"));
            wait_for_port(port, &mut child, what);
            match serving(port, path, &mut child) {
                Ok(()) => {
                    return TusPeer {
                        child,
                        endpoint: format!("http://127.0.0.1:{port}{path}"),
                        files,
                        layout,
                    };
                }
                Err(why) if attempt == 1 => {
                    eprintln!("{what} on {port}: {why}; starting it again");
                    let _ = child.kill();
                    let _ = child.wait();
                }
                Err(why) => panic!("{what} on {port}: {why}"),
            }
        }
        unreachable!("the second attempt returns or panics")
    }

    /// How many uploads the server holds.
    pub fn uploads(&self) -> usize {
        self.upload_paths().len()
    }

    /// One path per upload the server holds.
    fn upload_paths(&self) -> Vec<PathBuf> {
        let dir = match self.layout {
            Layout::Sidecar(_) => self.files.path().to_owned(),
            Layout::UploadDirs => self.files.path().join("uploads"),
        };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        entries
            .map(|e| e.unwrap().path())
            .filter(|p| match self.layout {
                Layout::Sidecar(ext) => {
                    p.extension().is_none_or(|x| x != ext)
                        && !p
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                }
                Layout::UploadDirs => p.is_dir(),
            })
            .collect()
    }

    /// The bytes of the one upload the server holds, as it stored them.
    pub fn stored_only(&self) -> Vec<u8> {
        let uploads = self.upload_paths();
        let [upload] = uploads.as_slice() else {
            panic!("expected one upload in the peer's storage, found {uploads:?}")
        };
        let path = match self.layout {
            Layout::Sidecar(_) => upload.clone(),
            Layout::UploadDirs => upload.join("data"),
        };
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

/// Waits (at most 30 s) until the peer on `port` answers an `OPTIONS` of
/// `path` with an HTTP status line; an error when it exits first.
fn serving(port: u16, path: &str, child: &mut Child) -> Result<(), String> {
    use std::io::{Read as _, Write as _};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let ask = format!(
        "OPTIONS {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTus-Resumable: 1.0.0\r\n\
         Connection: close\r\n\r\n"
    );
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited with {status} after it began to listen"));
        }
        let answered = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut s| {
            s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
            s.write_all(ask.as_bytes())?;
            let mut head = [0u8; 12];
            s.read_exact(&mut head)?;
            Ok(head.starts_with(b"HTTP/1."))
        });
        if answered.unwrap_or(false) {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Err("answered no OPTIONS within 30 s".to_owned())
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
pub fn stores_a_file_whole<D: Driver, P: Peer>() {
    let peer = P::start();
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
pub fn takes_a_deferred_length<D: Driver, P: Peer>() {
    let peer = P::start();
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
pub fn resumes_an_interrupted_upload<D: Driver, P: Peer>() {
    let peer = P::start();
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
    // Every PATCH carried its checksum where the server checks them.
    let tus = checkpoint.tus.as_ref().expect("a tus checkpoint");
    assert_eq!(tus.checksum, P::CHECKSUM, "{tus:?}");
    drop(first);
    keeping::<D>(FileCheckpointStore::new(state.path()).unwrap())
        .call(run(&bytes))
        .unwrap_or_else(|e| panic!("{}: {e}", D::NAME));
    assert!(peer.stored_only() == bytes, "one upload, stored whole");
}

/// Termination: cancelling an interrupted upload by its key sends `DELETE`,
/// and the server drops the upload.
pub fn terminates_a_cancelled_upload<D: Driver, P: Peer>() {
    let peer = P::start();
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

/// A bearer token for the upload host (in `Config::upload_headers`) rides
/// on every request, `OPTIONS` too — `tus-server` refuses any request
/// without it — and shows in no log line, no `Debug` output and no
/// checkpoint, through an interrupted upload and its resume; a wrong one
/// is refused at once, as the server's 401, not retried.
pub fn keeps_a_bearer_token_out_of_sight<D: Driver>() {
    const TOKEN: &str = "tus-Bearer-7c1e/9a+Secret";
    let logs = crate::secrets::captured_logs();
    let peer = TusRs::start_with(Some(TOKEN));
    let state = tempfile::tempdir().unwrap();
    let bytes = data(2 * 1024 * 1024 + 9, 45);
    let config = |token: &str| {
        let mut config = Config::tus_create(creation(&peer, "token.bin"), Some(bytes.len() as u64));
        let value = format!("Bearer {token}").parse().unwrap();
        config
            .upload_headers
            .insert(http::header::AUTHORIZATION, value);
        config
    };
    let run = |token: &str| Call::Run {
        config: config(token),
        source: Source::Bytes(bytes.clone()),
        key: Some("tus-token"),
    };
    let mut debug = format!("{:?}", config(TOKEN));
    let mut first = keeping::<D>(FileCheckpointStore::new(state.path()).unwrap());
    first.interrupted(run(TOKEN), Interrupt::Persisted(512 * 1024));
    let checkpoint = first.load_checkpoint("tus-token").unwrap().expect("kept");
    debug += &format!("{checkpoint:?}");
    debug += &std::fs::read_dir(state.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect::<String>();
    drop(first);
    let mut again = keeping::<D>(FileCheckpointStore::new(state.path()).unwrap());
    let outcome = again
        .call(run(TOKEN))
        .unwrap_or_else(|e| panic!("{}: {e}", D::NAME));
    debug += &format!("{outcome:?}");
    assert!(peer.stored_only() == bytes, "stored whole");
    let refused = uploader::<D>()
        .call(Call::Run {
            config: config("not-the-token"),
            source: Source::Bytes(bytes.clone()),
            key: None,
        })
        .expect_err("a wrong token is refused");
    assert!(
        matches!(
            refused,
            resumable_local::UploadError::Upload(resumable_core::Error::Rejected {
                status: 401,
                ..
            })
        ),
        "{refused}"
    );
    debug += &format!("{refused} {refused:?}");
    let secrets = [TOKEN, "not-the-token"];
    crate::secrets::assert_clean("the logs", &logs.text(), &secrets.map(str::to_owned));
    crate::secrets::assert_clean("Debug output", &debug, &secrets.map(str::to_owned));
}

/// One `#[test]` per tus peer and case for a driver, in a module per peer
/// (`tuspyserver::stores_a_file_whole`, …).
#[macro_export]
macro_rules! tus_peers_tests {
    ($driver:ty) => {
        mod tuspyserver {
            #[allow(unused_imports)]
            use super::*;
            $crate::tus_peer_cases!($driver, $crate::tus_peers::TusPy);
        }
        mod tus_node_server {
            #[allow(unused_imports)]
            use super::*;
            $crate::tus_peer_cases!($driver, $crate::tus_peers::TusNode);
        }
        mod tus_server {
            #[allow(unused_imports)]
            use super::*;
            $crate::tus_peer_cases!($driver, $crate::tus_peers::TusRs);
            #[test]
            fn keeps_a_bearer_token_out_of_sight() {
                $crate::tus_peers::keeps_a_bearer_token_out_of_sight::<$driver>();
            }
        }
    };
}

/// The cases of [`tus_peers_tests!`] for one peer.
#[doc(hidden)]
#[macro_export]
macro_rules! tus_peer_cases {
    ($driver:ty, $peer:ty) => {
        $crate::tus_peer_cases!(@each $driver, $peer:
            stores_a_file_whole,
            takes_a_deferred_length,
            resumes_an_interrupted_upload,
            terminates_a_cancelled_upload,
        );
    };
    (@each $driver:ty, $peer:ty: $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::tus_peers::$case::<$driver, $peer>();
            }
        )*
    };
}
