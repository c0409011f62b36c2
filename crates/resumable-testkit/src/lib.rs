//! Test helpers shared by the workspace's test suites (never published).
//!
//! Independent peers from PyPI (servers and clients to run our code against)
//! are installed on first use into a virtualenv under the target directory,
//! pinned, once per set of packages. A peer that cannot be installed fails
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
    let lock_path = target.join(format!("{name}.lock"));
    let lock = File::create(&lock_path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", lock_path.display()));
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
