//! Where words go: results on stdout (text, or JSON lines with `--json`),
//! notes and errors on stderr, around the progress bars when they are drawn.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use indicatif::MultiProgress;
use resumable_core::Event;
use serde_json::{Value, json};

use crate::args::GlobalArgs;

/// The terminal, shared by every upload thread.
#[derive(Debug)]
pub(crate) struct Console {
    json: bool,
    quiet: bool,
    bars: Option<MultiProgress>,
    /// One line at a time on stdout, whichever thread writes it.
    stdout: Mutex<()>,
}

impl Console {
    /// A console for these options. Progress bars are drawn only when stderr
    /// is a terminal, and neither `--quiet` nor `-v` (whose tracing lines
    /// would tear them) is given.
    pub(crate) fn new(global: &GlobalArgs) -> Self {
        let bars = !global.quiet && global.verbose == 0 && std::io::stderr().is_terminal();
        Self {
            json: global.json,
            quiet: global.quiet,
            bars: bars.then(MultiProgress::new),
            stdout: Mutex::new(()),
        }
    }

    /// The progress bars, when drawn.
    pub(crate) fn bars(&self) -> Option<&MultiProgress> {
        self.bars.as_ref()
    }

    /// A JSON line on stdout, with `--json` only. An object gets a `time`
    /// field: when it was written, RFC 3339 in UTC to the millisecond.
    pub(crate) fn emit(&self, value: &Value) {
        if self.json {
            self.stdout_line(&stamped(value, jiff::Timestamp::now()).to_string());
        }
    }

    /// A line of human output on stdout, without `--json` only.
    pub(crate) fn print(&self, line: &str) {
        if !self.json {
            self.stdout_line(line);
        }
    }

    /// A note on stderr (progress in plain mode, hints), unless `--quiet`.
    pub(crate) fn note(&self, line: &str) {
        if !self.quiet {
            self.stderr_line(line);
        }
    }

    /// A line on stderr that even `--quiet` shows (how to resume, …).
    pub(crate) fn warn(&self, line: &str) {
        self.stderr_line(line);
    }

    /// An error on stderr, always.
    pub(crate) fn error(&self, line: &str) {
        self.stderr_line(&format!("error: {line}"));
    }

    fn stdout_line(&self, line: &str) {
        let _one_at_a_time = self.stdout.lock().unwrap_or_else(|e| e.into_inner());
        let write = || {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is no reason to fail the upload.
            let _ = writeln!(out, "{line}").and_then(|()| out.flush());
        };
        match &self.bars {
            Some(bars) => bars.suspend(write),
            None => write(),
        }
    }

    fn stderr_line(&self, line: &str) {
        match &self.bars {
            Some(bars) if !bars.is_hidden() => {
                if bars.println(line).is_err() {
                    eprintln!("{line}");
                }
            }
            _ => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
        }
    }
}

/// `value` with `"time": "2026-12-02T14:28:03.125Z"` (`at`, in UTC to the
/// millisecond), when it is an object.
fn stamped(value: &Value, at: jiff::Timestamp) -> Value {
    let mut value = value.clone();
    if let Value::Object(fields) = &mut value {
        fields.insert("time".into(), Value::String(format!("{at:.3}")));
    }
    value
}

/// An event as a JSON line: `{"type": "persisted", "file": …, "offset": …}`.
/// `None` for events this tool does not know yet.
pub(crate) fn event_json(file: &str, event: &Event) -> Option<Value> {
    let value = match event {
        Event::SessionStarted {
            expires_at,
            chunk_size,
        } => json!({
            "type": "session_started",
            "file": file,
            "chunk_size": chunk_size,
            "expires_at": expires_at.map(resumable_core::timestamp::format_rfc3339),
        }),
        Event::UploadId(id) => json!({ "type": "upload_id", "file": file, "upload_id": id }),
        Event::TransferStarted { offset, total } => json!({
            "type": "transfer_started",
            "file": file,
            "offset": offset,
            "total": total,
        }),
        Event::Persisted { offset, total } => json!({
            "type": "persisted",
            "file": file,
            "offset": offset,
            "total": total,
        }),
        Event::Retrying {
            attempt,
            after,
            cause,
        } => json!({
            "type": "retrying",
            "file": file,
            "attempt": attempt,
            "after_ms": u64::try_from(after.as_millis()).unwrap_or(u64::MAX),
            "cause": cause.to_string(),
        }),
        Event::SessionRestarted { restarts } => json!({
            "type": "session_restarted",
            "file": file,
            "restarts": restarts,
        }),
        Event::Finalized { size, crc32c } => json!({
            "type": "finalized",
            "file": file,
            "size": size,
            "crc32c": crc32c.map(resumable_core::crc32c_base64),
        }),
        Event::Registered { file_id } => json!({
            "type": "registered",
            "file": file,
            "file_id": file_id,
        }),
        _ => return None,
    };
    Some(value)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use resumable_core::RetryCause;

    use super::*;

    #[test]
    fn json_lines_carry_the_time_in_utc_to_the_millisecond() {
        let at: jiff::Timestamp = "2026-12-02T14:28:03.1257Z".parse().unwrap();
        let line = stamped(&json!({"type": "result", "file": "a"}), at);
        assert_eq!(line["time"], "2026-12-02T14:28:03.125Z");
        assert_eq!(line["file"], "a");
        let at: jiff::Timestamp = "2026-12-02T14:28:03Z".parse().unwrap();
        assert_eq!(stamped(&json!({}), at)["time"], "2026-12-02T14:28:03.000Z");
        assert_eq!(stamped(&json!([1]), at), json!([1]));
    }

    #[test]
    fn events_become_typed_json_lines() {
        let line = event_json(
            "a.bin",
            &Event::Persisted {
                offset: 262_144,
                total: Some(1 << 20),
            },
        )
        .unwrap();
        assert_eq!(
            line,
            json!({"type": "persisted", "file": "a.bin", "offset": 262_144, "total": 1_048_576})
        );
        let line = event_json(
            "a.bin",
            &Event::Retrying {
                attempt: 2,
                after: Duration::from_millis(1500),
                cause: RetryCause::Status(503),
            },
        )
        .unwrap();
        assert_eq!(line["after_ms"], 1500);
        assert_eq!(line["cause"], "status 503");
    }
}
