//! Test helpers shared by the workspace's test suites (never published).
//!
//! Independent peers from PyPI (servers and clients to run our code against)
//! are installed on first use into a virtualenv under the target directory,
//! pinned, once per set of packages; peers from npm and crates.io, slower to
//! install, into the user's cache directory ([`cache_dir`]), where a later
//! run from a fresh clone finds them. A peer that cannot be installed fails
//! the test that wanted it: these helpers panic, they never skip.
//!
//! [`MemoryCheckpointStore`] keeps checkpoints in memory, for the drivers'
//! tests; [`ExampleSite`] is where the drivers' examples upload.

mod example_site;
mod memory_store;

pub use example_site::ExampleSite;
pub use memory_store::MemoryCheckpointStore;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The virtualenv `target/{name}` holding exactly `packages` (pinned pip
/// requirements), installed now unless an earlier run installed that list.
/// `target_tmpdir` is the test's `env!("CARGO_TARGET_TMPDIR")`; concurrent
/// tests wait for one another on a lock file beside the virtualenv. Run its
/// programs from `bin/` (`bin/python`, a package's scripts).
///
/// # Panics
/// When the virtualenv cannot be created or a package not installed: the
/// test fails, it does not skip. `PYTHON` names the interpreter (default
/// `python3`).
pub fn pypi_venv(target_tmpdir: &str, name: &str, packages: &[&str]) -> PathBuf {
    let Some(target) = Path::new(target_tmpdir).parent() else {
        panic!("{target_tmpdir:?} has no parent: not a CARGO_TARGET_TMPDIR");
    };
    let venv = target.join(name);
    let marker = venv.join("installed.txt");
    let _lock = lock(&target.join(format!("{name}.lock")));
    let wanted = packages.join("\n");
    if fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        run(Command::new(python).args(["-m", "venv"]).arg(&venv));
        run(Command::new(venv.join("bin/python"))
            .args(["-m", "pip", "install", "--quiet"])
            .args(packages));
        fs::write(&marker, wanted)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", marker.display()));
    }
    venv
}

/// Where installed peers are kept across clones: `$RESUMABLE_PEER_CACHE`,
/// else `$XDG_CACHE_HOME/resumable`, else `~/.cache/resumable`.
///
/// # Panics
/// When none of these can be found.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RESUMABLE_PEER_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("resumable");
    }
    match std::env::home_dir() {
        Some(home) => home.join(".cache/resumable"),
        None => panic!("no home directory to keep installed peers in: set RESUMABLE_PEER_CACHE"),
    }
}

/// The directory `cache_dir()/{name}`, filled by `install` unless an
/// earlier run filled it with the same `stamp` (what was installed, e.g.
/// the pinned versions). Concurrent tests, and processes, wait for one
/// another on a lock file beside it; a failed install leaves no stamp, so
/// the next run installs again.
///
/// # Panics
/// When the directory or its lock cannot be made, or `install` panics.
pub fn cached(name: &str, stamp: &str, install: impl FnOnce(&Path)) -> PathBuf {
    let root = cache_dir();
    fs::create_dir_all(&root).unwrap_or_else(|e| panic!("cannot create {}: {e}", root.display()));
    let dir = root.join(name);
    let marker = dir.join(".installed");
    let _lock = lock(&root.join(format!("{name}.lock")));
    if fs::read_to_string(&marker).ok().as_deref() != Some(stamp) {
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        install(&dir);
        fs::write(&marker, stamp)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", marker.display()));
    }
    dir
}

/// A directory holding exactly `packages` (pinned npm specs,
/// `name@version`) in its `node_modules`, installed with the machine's npm
/// into [`cache_dir`] unless an earlier run did. Run node with this
/// directory as the working directory, or require from its
/// `node_modules`.
///
/// # Panics
/// When npm cannot install them.
pub fn npm_packages(name: &str, packages: &[&str]) -> PathBuf {
    cached(name, &packages.join("\n"), |dir| {
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .arg("--prefix")
            .arg(dir)
            .args(packages));
    })
}

/// The binary `bin` of the crate `krate` at exactly `version` from
/// crates.io, built with `cargo install --locked --debug` into
/// [`cache_dir`] unless an earlier run did (a test peer needs no
/// optimizer, and builds in about half the time without it).
///
/// # Panics
/// When cargo cannot build it.
pub fn cargo_binary(krate: &str, version: &str, bin: &str) -> PathBuf {
    let stamp = format!("{version} debug");
    let dir = cached(&format!("{krate}-{version}"), &stamp, |dir| {
        run(
            Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["install", "--locked", "--debug", "--quiet"])
                .args(["--version", version])
                .arg("--root")
                .arg(dir)
                .arg(krate)
                // The peer's own build, not this workspace's settings.
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_TARGET_DIR")
                .env_remove("CARGO_BUILD_TARGET_DIR"),
        );
    });
    dir.join("bin").join(bin)
}

/// The lock file at `path`, held exclusively until dropped: tests and
/// processes installing the same peer wait for one another.
fn lock(path: &Path) -> File {
    let file =
        File::create(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
    file
}

/// Runs `cmd` to its end and returns its stdout.
///
/// # Panics
/// When it cannot start or exits unsuccessfully; the message has its stderr.
pub fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
