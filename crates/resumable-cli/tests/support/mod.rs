//! What the CLI's test binaries share.

use std::path::Path;
use std::process::Command;

/// The `resumable` binary with a clean environment: `key` as its API key,
/// `state` as its checkpoint directory, and nothing of the caller's
/// organization, API URL or log filter.
pub(crate) fn resumable(key: &str, state: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_resumable"));
    cmd.env_remove("FREDDY_ORG")
        .env_remove("FREDDY_API_URL")
        .env_remove("RUST_LOG")
        .env("FREDDY_API_KEY", key)
        .env("RESUMABLE_STATE_DIR", state);
    cmd
}
