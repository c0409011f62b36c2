//! `resumable upload --dry-run`: what a run would do with each file, from
//! the ledger and the checkpoints alone; nothing is sent, nothing written.

use indicatif::HumanBytes;
use resumable_blocking::{CheckpointStore, FileCheckpointStore, checkpoint_key};
use serde_json::json;

use crate::commands::upload::Settings;
use crate::exit::{CliError, Exit};
use crate::ledger::Ledger;
use crate::output::Console;
use crate::sources::{Input, Job};

/// What a run would do with a file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    /// Upload it from byte 0.
    Upload,
    /// Skip it: uploaded before and unchanged, as this File.
    Skip(String),
    /// Resume its interrupted upload, `persisted` bytes in.
    Resume(u64),
    /// Register it: its bytes are stored in full.
    Register,
    /// Nothing: it cannot be read (missing, a directory).
    Unreadable(String),
}

/// Lists what uploading `files` would do, one line (or JSON record) each.
pub(crate) fn dry_run(
    settings: &Settings,
    files: &[Job],
    console: &Console,
) -> Result<Exit, CliError> {
    // No directory, no checkpoints: nothing is created to find that out.
    let mut store = if settings.state_dir.is_dir() {
        Some(crate::checkpoints::open_store(&settings.state_dir)?)
    } else {
        None
    };
    let ledger = Ledger::new(&settings.state_dir);
    for job in files {
        let plan = plan(settings, job, store.as_mut(), &ledger);
        let size = job.size();
        let registered_as = job.filename.clone().or_else(|| {
            job.path()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        });
        let (action, text) = match &plan {
            Plan::Upload if settings.restart => {
                ("upload", "would upload it anew (--restart)".to_owned())
            }
            Plan::Upload => ("upload", "would upload it".to_owned()),
            Plan::Skip(id) => (
                "skip",
                format!("would skip it: uploaded before and unchanged ({id})"),
            ),
            Plan::Resume(at) => (
                "resume",
                format!(
                    "would resume its upload ({} of {} stored)",
                    HumanBytes(*at),
                    HumanBytes(size.unwrap_or(0))
                ),
            ),
            Plan::Register => (
                "register",
                "would register it: its bytes are stored in full".to_owned(),
            ),
            Plan::Unreadable(why) => ("unreadable", format!("cannot be uploaded: {why}")),
        };
        console.emit(&json!({
            "type": "plan",
            "file": job.name,
            "action": action,
            "filename": registered_as,
            "size": size,
            "resume_at": match plan { Plan::Resume(at) => Some(at), _ => None },
            "file_id": match &plan { Plan::Skip(id) => Some(id.as_str()), _ => None },
        }));
        let size = size
            .map(|s| format!(", {}", HumanBytes(s)))
            .unwrap_or_default();
        let name = registered_as
            .map(|n| format!(" as {n}"))
            .unwrap_or_default();
        console.print(&format!("{}{name}{size}: {text}", job.name));
    }
    console.note("dry run: nothing was sent");
    Ok(Exit::Done)
}

/// What a run would do with `job`, as the ledger and its checkpoint say.
fn plan(
    settings: &Settings,
    job: &Job,
    store: Option<&mut FileCheckpointStore>,
    ledger: &Ledger,
) -> Plan {
    let Input::File(path) = &job.input else {
        return Plan::Upload;
    };
    let meta = match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => meta,
        Ok(_) => {
            return Plan::Unreadable("not a regular file (a directory? upload it with -r)".into());
        }
        Err(e) => return Plan::Unreadable(e.to_string()),
    };
    if settings.restart {
        return Plan::Upload;
    }
    let fingerprint = resumable_local::fingerprint(&meta);
    let key = checkpoint_key(&settings.target(job), path);
    if let Some(uploaded) = ledger.lookup(&key, &fingerprint) {
        return Plan::Skip(uploaded.file_id);
    }
    let checkpoint = store.and_then(|s| s.load(&key).ok().flatten());
    match checkpoint {
        Some(cp) if cp.fingerprint == Some(fingerprint) && cp.object.is_some() => Plan::Register,
        Some(cp) if cp.fingerprint == Some(fingerprint) => Plan::Resume(cp.persisted),
        _ => Plan::Upload,
    }
}
