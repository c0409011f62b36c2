//! `resumable cancel`: delete pending uploads' sessions and checkpoints.

use std::time::Duration;

use resumable_blocking::{UploadError, Uploader};
use resumable_core::RetryPolicy;
use serde_json::json;

use crate::args::CancelArgs;
use crate::checkpoints::{Pending, open_store, pending, state_dir};
use crate::exit::{CliError, Exit};
use crate::output::Console;

/// Cancelling gives up sooner than uploading: it is one request.
const CANCEL_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 4,
    max_elapsed: Duration::from_secs(30),
    initial_delay: Duration::from_millis(500),
    max_delay: Duration::from_secs(8),
};

/// Runs `resumable cancel`.
pub(crate) fn run(args: &CancelArgs, console: &Console) -> Result<Exit, CliError> {
    let dir = state_dir(&args.state)?;
    let list = if dir.exists() {
        pending(&open_store(&dir)?)?
    } else {
        Vec::new()
    };
    let wanted = |p: &Pending| args.org.is_none() || p.org == args.org;
    let mut failed = 0;
    let mut targets: Vec<&Pending> = Vec::new();
    if args.all {
        targets.extend(list.iter().filter(|p| wanted(p)));
        if targets.is_empty() {
            console.note("no uploads wait to resume: nothing to cancel");
        }
    } else {
        for file in &args.files {
            let before = targets.len();
            targets.extend(list.iter().filter(|p| wanted(p) && p.is_of(file)));
            if targets.len() == before {
                failed += 1;
                console.error(&format!(
                    "{}: no upload of it waits to resume{} (`resumable status` lists them)",
                    file.display(),
                    args.org
                        .as_ref()
                        .map(|o| format!(" in {o}"))
                        .unwrap_or_default()
                ));
            }
        }
    }
    let (mut done, mut busy) = (0, 0);
    for p in targets {
        let store = open_store(&dir)?;
        let mut uploader = Uploader::new()
            .retry(CANCEL_RETRY)
            .checkpoint_store(store)
            .allow_insecure_http(args.allow_insecure_http);
        for (header, value) in &args.headers {
            uploader = uploader.upload_header(header.clone(), value.clone());
        }
        let path = p.path.display().to_string();
        match uploader.cancel(&p.key) {
            Ok(_) => {
                done += 1;
                console.emit(&json!({
                    "type": "cancelled",
                    "file": path,
                    "destination": p.destination,
                }));
                console.print(&format!(
                    "{path}: cancelled its upload to {}",
                    p.destination
                ));
            }
            // The driver takes the upload's lock before it touches anything.
            Err(UploadError::Busy { pid }) => {
                busy += 1;
                let message = format!(
                    "{path}: another process{} is uploading {path}; its upload was left alone: \
                     stop it (or let it finish), then cancel again",
                    pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
                );
                console.emit(&json!({
                    "type": "busy",
                    "file": path,
                    "destination": p.destination,
                    "pid": pid,
                    "error": message,
                }));
                console.error(&message);
            }
            Err(e) => {
                failed += 1;
                console.error(&format!(
                    "{path}: cannot cancel ({e}); the checkpoint is kept: try again later"
                ));
            }
        }
    }
    Ok(Exit::of_batch(done, failed, busy, 0))
}
