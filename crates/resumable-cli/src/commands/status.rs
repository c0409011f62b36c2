//! `resumable status`: the uploads that wait to resume.

use std::time::{Duration, SystemTime};

use indicatif::HumanBytes;
use resumable_core::timestamp::format_rfc3339;
use serde_json::json;

use crate::args::{DEFAULT_API_URL, StatusArgs};
use crate::checkpoints::{Pending, open_store, pending, state_dir};
use crate::exit::{CliError, Exit};
use crate::output::Console;

/// Whether a pending upload can resume as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    /// The file is as it was: the same command resumes it.
    Resumable,
    /// Every byte is stored, but registering the object failed: the same
    /// command registers it without sending the bytes again.
    Unregistered,
    /// The session expired: the same command starts a new one from byte 0.
    Expired,
    /// The file changed: it cannot resume.
    Changed,
    /// The file is gone.
    Missing,
}

impl Health {
    fn of(p: &Pending, now: SystemTime) -> Self {
        let Ok(meta) = std::fs::metadata(&p.path) else {
            return Self::Missing;
        };
        if let Some(fp) = p.checkpoint.fingerprint
            && (fp.size != meta.len() || fp.modified != meta.modified().ok())
        {
            return Self::Changed;
        }
        if p.checkpoint.object.is_some() {
            return Self::Unregistered;
        }
        let expired = p
            .checkpoint
            .session
            .as_ref()
            .and_then(|s| s.expires_at)
            .is_some_and(|t| t <= now);
        if expired {
            Self::Expired
        } else {
            Self::Resumable
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Resumable => "resumable",
            Self::Unregistered => "unregistered",
            Self::Expired => "expired",
            Self::Changed => "changed",
            Self::Missing => "missing",
        }
    }
}

/// Runs `resumable status`.
pub(crate) fn run(args: &StatusArgs, console: &Console) -> Result<Exit, CliError> {
    let dir = state_dir(&args.state)?;
    if !dir.exists() {
        console.note(&format!(
            "no uploads wait to resume (no checkpoints in {})",
            dir.display()
        ));
        return Ok(Exit::Done);
    }
    let store = open_store(&dir)?;
    let list = pending(&store)?;
    // Shown, not skipped: such a file stops its upload from resuming.
    let unreadable = store.unreadable().map_err(|e| {
        CliError::Failed(format!(
            "cannot read the checkpoints in {}: {e}",
            dir.display()
        ))
    })?;
    for (path, e) in &unreadable {
        console.emit(&json!({
            "type": "unreadable",
            "checkpoint": path.display().to_string(),
            "error": e.to_string(),
        }));
        console.print(&format!(
            "{}: not a readable checkpoint ({e}); upload its file with --restart, or remove it",
            path.display()
        ));
    }
    if list.is_empty() && unreadable.is_empty() {
        console.note(&format!(
            "no uploads wait to resume (checkpoints in {})",
            dir.display()
        ));
    }
    let now = SystemTime::now();
    for p in &list {
        // A lock that cannot be checked is shown as no upload running: the
        // checkpoint is still worth listing.
        let live = store.holder(&p.key).ok().flatten();
        let health = Health::of(p, now);
        let cp = &p.checkpoint;
        let expires = cp.session.as_ref().and_then(|s| s.expires_at);
        let percent = cp
            .total
            .filter(|&t| t > 0)
            .map(|t| cp.persisted as f64 * 100.0 / t as f64);
        console.emit(&json!({
            "type": "pending",
            "file": p.path.display().to_string(),
            "destination": p.destination,
            "org": p.org,
            "persisted": cp.persisted,
            "total": cp.total,
            "percent": percent.map(|x| (x * 10.0).round() / 10.0),
            "expires_at": expires.map(format_rfc3339),
            "state": if live.is_some() { "uploading" } else { health.word() },
            "pid": live.and_then(|h| h.pid),
        }));
        let progress = match (percent, cp.total) {
            (Some(pct), Some(total)) => format!(
                "{pct:.1}% ({} of {})",
                HumanBytes(cp.persisted),
                HumanBytes(total)
            ),
            _ => format!("{} stored", HumanBytes(cp.persisted)),
        };
        let expiry = match expires {
            Some(t) => match t.duration_since(now) {
                Ok(left) => format!("session expires in {}", remaining(left)),
                Err(_) => "session expired".into(),
            },
            None => "no session yet".into(),
        };
        let path = p.path.display();
        if live.is_none() && health == Health::Unregistered {
            let again = match (&p.org, &p.api) {
                (Some(org), Some(api)) if api == DEFAULT_API_URL => {
                    format!("`resumable upload {path} --org {org}`")
                }
                (Some(org), Some(api)) => {
                    format!("`resumable upload {path} --org {org} --api-url {api}`")
                }
                _ => "the same command".into(),
            };
            console.print(&format!(
                "{path}: stored in full ({}) but not registered with {}; run {again} again \
                 to register it without sending the bytes again",
                HumanBytes(cp.persisted),
                p.destination
            ));
            continue;
        }
        if let Some(holder) = live {
            let pid = holder
                .pid
                .map(|p| format!(" (pid {p})"))
                .unwrap_or_default();
            console.print(&format!(
                "{path}: uploading now{pid}: {progress} to {}, {expiry}",
                p.destination
            ));
            continue;
        }
        let advice = match health {
            Health::Resumable | Health::Unregistered => String::new(),
            Health::Expired => "; the next upload starts a new session from byte 0".into(),
            Health::Changed => format!(
                "; the file changed, so it cannot resume: `resumable cancel {path}`, or upload it with --restart"
            ),
            Health::Missing => format!("; the file is gone: `resumable cancel {path}`"),
        };
        console.print(&format!(
            "{path}: {progress} to {}, {expiry}{advice}",
            p.destination
        ));
    }
    Ok(Exit::Done)
}

/// A duration as the two largest units: `6d 23h`, `4h 10m`, `12m`, `<1m`.
fn remaining(d: Duration) -> String {
    let minutes = d.as_secs() / 60;
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours, mins) {
        (0, 0, 0) => "<1m".into(),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_time_in_two_units() {
        assert_eq!(remaining(Duration::from_secs(30)), "<1m");
        assert_eq!(remaining(Duration::from_secs(12 * 60 + 5)), "12m");
        assert_eq!(remaining(Duration::from_secs(4 * 3600 + 600)), "4h 10m");
        assert_eq!(remaining(Duration::from_secs(7 * 86400 - 60)), "6d 23h");
    }
}
