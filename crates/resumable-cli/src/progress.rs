//! Progress: bars on a terminal (one per file and a total), plain lines
//! otherwise, and JSON event lines with `--json`. Progress is what the server
//! persisted, never what was sent.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use resumable_core::{Checkpoint, Event};

use crate::output::{Console, event_json};

const FILE_TEMPLATE: &str = "{prefix:>24} [{bar:30.cyan/blue}] {bytes:>10}/{total_bytes:<10} \
                             {binary_bytes_per_sec:>12} ETA {eta:>3} {msg}";
const TOTAL_TEMPLATE: &str = "{prefix:>24} [{bar:30.green/white}] {bytes:>10}/{total_bytes:<10} \
                              {binary_bytes_per_sec:>12} ETA {eta:>3} {msg}";

/// The progress of a batch of files.
#[derive(Debug)]
pub(crate) struct Progress {
    console: Arc<Console>,
    total: Option<ProgressBar>,
    files: usize,
    finished: AtomicUsize,
}

impl Progress {
    /// Progress of `files` files of `bytes` bytes in all; a total bar is drawn
    /// when there is more than one file.
    pub(crate) fn new(console: Arc<Console>, files: usize, bytes: u64) -> Self {
        let total = match console.bars() {
            Some(bars) if files > 1 => {
                let bar = bars.add(ProgressBar::new(bytes));
                bar.set_style(style(TOTAL_TEMPLATE));
                bar.set_prefix("total");
                bar.set_message(format!("0/{files} files"));
                bar.enable_steady_tick(Duration::from_millis(200));
                Some(bar)
            }
            _ => None,
        };
        Self {
            console,
            total,
            files,
            finished: AtomicUsize::new(0),
        }
    }

    /// The progress of one file of `size` bytes, shown as `name`.
    pub(crate) fn file(&self, name: &str, size: u64) -> Arc<FileProgress> {
        let bar = self.console.bars().map(|bars| {
            let bar = ProgressBar::new(size);
            let bar = match &self.total {
                Some(total) => bars.insert_before(total, bar),
                None => bars.add(bar),
            };
            bar.set_style(style(FILE_TEMPLATE));
            bar.set_prefix(short_name(name, 24));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Arc::new(FileProgress {
            name: name.to_owned(),
            size,
            console: Arc::clone(&self.console),
            bar,
            total: self.total.clone(),
            state: Mutex::new(FileState::default()),
            retries: AtomicU32::new(0),
        })
    }

    /// One more file is finished, whatever its result.
    pub(crate) fn file_finished(&self) {
        let finished = self.finished.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(total) = &self.total {
            total.set_message(format!("{finished}/{} files", self.files));
        }
    }

    /// Removes the total bar.
    pub(crate) fn finish(&self) {
        if let Some(total) = &self.total {
            total.finish_and_clear();
        }
    }
}

/// What a file's progress remembers between events.
#[derive(Debug, Default)]
struct FileState {
    persisted: u64,
    /// Bytes this run got stored: every step forward of `persisted` but a
    /// resumed upload's start.
    stored: u64,
    /// The last tenth announced in plain mode.
    tenth: u64,
}

/// The progress of one file; events come in from its upload thread.
#[derive(Debug)]
pub(crate) struct FileProgress {
    name: String,
    size: u64,
    console: Arc<Console>,
    bar: Option<ProgressBar>,
    total: Option<ProgressBar>,
    state: Mutex<FileState>,
    retries: AtomicU32,
}

impl FileProgress {
    /// The file's name as shown.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// How many retries the upload made.
    pub(crate) fn retries(&self) -> u32 {
        self.retries.load(Ordering::SeqCst)
    }

    /// How many bytes this run got stored (not those a resumed upload
    /// found stored already; after a session restart, those sent again
    /// count again).
    pub(crate) fn stored(&self) -> u64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).stored
    }

    /// Says what this run does with the file's stored checkpoint: register
    /// bytes already stored in full, start anew where the session expired
    /// while the upload was interrupted, or resume.
    pub(crate) fn announce(&self, checkpoint: &Checkpoint) {
        if checkpoint.object.is_some() {
            self.console.note(&format!(
                "{}: its bytes are stored in full; registering it without sending them again",
                self.name
            ));
            return self.resuming_at(checkpoint.persisted);
        }
        let expired = checkpoint
            .session
            .as_ref()
            .and_then(|s| s.expires_at)
            .is_some_and(|at| at <= SystemTime::now());
        if expired {
            self.console.note(&format!(
                "{}: the session of its interrupted upload has expired; uploading it anew",
                self.name
            ));
            return;
        }
        self.console.note(&format!(
            "{}: resuming from its checkpoint ({} of {} stored)",
            self.name,
            HumanBytes(checkpoint.persisted),
            HumanBytes(self.size)
        ));
        self.resuming_at(checkpoint.persisted);
    }

    /// Progress starts at `persisted` bytes, shown as old progress: not
    /// counted as stored by this run, not taken for speed.
    fn resuming_at(&self, persisted: u64) {
        if let Some(tenth) = persisted.saturating_mul(10).checked_div(self.size) {
            self.state.lock().unwrap_or_else(|e| e.into_inner()).tenth = tenth;
        }
        self.move_to(persisted, false);
        for bar in self.bar.iter().chain(self.total.iter()) {
            bar.reset_eta();
        }
    }

    /// Shows `event`.
    pub(crate) fn event(&self, event: &Event) {
        if let Some(line) = event_json(&self.name, event) {
            self.console.emit(&line);
        }
        let plain = self.bar.is_none();
        match event {
            Event::SessionStarted { chunk_size, .. } if plain => self.console.note(&format!(
                "{}: uploading {} in chunks of {}",
                self.name,
                HumanBytes(self.size),
                HumanBytes(*chunk_size)
            )),
            // Where the bytes start flowing: what lies before is old
            // progress (a resumed upload's, or none after a restart).
            Event::TransferStarted { offset, .. } => self.resuming_at(*offset),
            Event::Persisted { offset, .. } => self.move_to(*offset, true),
            Event::Retrying {
                attempt,
                after,
                cause,
            } => {
                self.retries.fetch_add(1, Ordering::SeqCst);
                self.console.note(&format!(
                    "{}: {cause}; retrying in {:.1} s (attempt {attempt})",
                    self.name,
                    after.as_secs_f64()
                ));
            }
            Event::SessionRestarted { restarts } => self.console.note(&format!(
                "{}: the upload session was gone; a new one starts from byte 0 (restart {restarts})",
                self.name
            )),
            Event::Finalized { crc32c, .. } => {
                // Only a CRC32C the server sent back was checked against the
                // file here; without one (tus, the IETF draft) the server's
                // word is all there is.
                let what = if crc32c.is_some() {
                    "stored and verified"
                } else {
                    "stored"
                };
                if let Some(bar) = &self.bar {
                    bar.set_message(what);
                } else {
                    self.console.note(&format!("{}: {what}", self.name));
                }
            }
            _ => {}
        }
    }

    /// Moves the file's progress to `persisted` bytes (backwards after a
    /// session restart); a step forward counts as stored by this run when
    /// `counts`.
    fn move_to(&self, persisted: u64, counts: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let before = state.persisted;
        state.persisted = persisted;
        if counts {
            state.stored = state
                .stored
                .saturating_add(persisted.saturating_sub(before));
        }
        if let Some(bar) = &self.bar {
            bar.set_position(persisted);
        }
        if let Some(total) = &self.total {
            let moved = total.position().saturating_sub(before);
            total.set_position(moved.saturating_add(persisted));
        }
        if self.bar.is_none()
            && let Some(tenth) = persisted.saturating_mul(10).checked_div(self.size)
        {
            if tenth < state.tenth {
                state.tenth = tenth;
            } else if tenth > state.tenth {
                state.tenth = tenth;
                drop(state);
                self.console.note(&format!(
                    "{}: {}% ({} of {})",
                    self.name,
                    persisted.saturating_mul(100) / self.size.max(1),
                    HumanBytes(persisted),
                    HumanBytes(self.size)
                ));
            }
        }
    }

    /// The upload ended: removes the bar; a file that did not finish takes
    /// its remaining bytes out of the total.
    pub(crate) fn finish(&self, done: bool) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if let Some(total) = &self.total {
            let persisted = self
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .persisted;
            if done {
                let moved = total.position().saturating_sub(persisted);
                total.set_position(moved.saturating_add(self.size));
            } else {
                let left = self.size.saturating_sub(persisted);
                total.set_length(total.length().unwrap_or(0).saturating_sub(left));
            }
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// `name` cut to `width` characters, keeping its end (the file name).
fn short_name(name: &str, width: usize) -> String {
    let count = name.chars().count();
    if count <= width {
        return name.to_owned();
    }
    let tail: String = name.chars().skip(count + 1 - width).collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_before_the_transfer_start_are_not_this_runs() {
        let console = Arc::new(Console::new(&crate::args::GlobalArgs {
            verbose: 0,
            quiet: true,
            json: false,
        }));
        let progress = Progress::new(Arc::clone(&console), 1, 1000);
        let file = progress.file("a.bin", 1000);
        let persisted = |offset| Event::Persisted {
            offset,
            total: Some(1000),
        };
        let started = |offset| Event::TransferStarted {
            offset,
            total: Some(1000),
        };
        file.event(&started(600));
        file.event(&persisted(800));
        assert_eq!(file.stored(), 200);
        // A restarted session sends everything again: that counts.
        file.event(&started(0));
        file.event(&persisted(1000));
        assert_eq!(file.stored(), 1200);
    }

    #[test]
    fn long_names_keep_their_end() {
        assert_eq!(short_name("a.bin", 24), "a.bin");
        let cut = short_name("/very/long/directory/name/video_2024.mp4", 24);
        assert_eq!(cut.chars().count(), 24);
        assert!(cut.ends_with("video_2024.mp4"));
    }
}
