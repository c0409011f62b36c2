//! `resumable upload`: files through the file API, several at a time,
//! resumed from their checkpoints.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::HumanBytes;
use resumable_blocking::{
    CheckpointStore, FileApiTarget, ReadSource, UploadError, Uploader, UreqTransport,
    checkpoint_key,
};
use resumable_core::{
    CHUNK_GRANULARITY, Chunking, Config, Event, Fingerprint, Outcome, RetryPolicy, Secret,
    round_chunk_size,
};
use serde_json::json;

use crate::args::{DEFAULT_API_URL, TransferArgs, UploadArgs};
use crate::checkpoints::{HeldStore, open_store, state_dir};
use crate::commands::dry_run::dry_run;
use crate::exit::{CliError, Exit};
use crate::explain::{Context, Left, explain};
use crate::interrupt::{Interrupt, UPLOAD_STOPPING};
use crate::kind::ErrorKind;
use crate::ledger::{Ledger, Uploaded};
use crate::output::Console;
use crate::pool::run_bounded;
use crate::progress::{FileProgress, Progress};
use crate::sources::{Input, Job, Wanted, jobs};
use crate::trust::transport;

/// The environment variable that holds the API key.
pub(crate) const KEY_ENV: &str = "FREDDY_API_KEY";

/// What every file of a batch is uploaded with.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The file API, key and MIME type.
    pub(crate) api: FileApiTarget,
    /// How the bytes are split.
    pub(crate) chunking: Chunking,
    /// How failures are retried.
    pub(crate) retry: RetryPolicy,
    /// The transport: its timeouts and trusted roots.
    pub(crate) transport: UreqTransport,
    /// The checkpoint directory.
    pub(crate) state_dir: PathBuf,
    /// Drop an interrupted upload and start anew.
    pub(crate) restart: bool,
    /// Allow plain http off loopback.
    pub(crate) allow_insecure_http: bool,
    /// Where the key came from, for the bad-key message.
    pub(crate) key_source: String,
}

impl Settings {
    /// The file API target for `job`: the settings', with the job's
    /// registered filename.
    pub(crate) fn target(&self, job: &Job) -> FileApiTarget {
        FileApiTarget {
            filename: job.filename.clone(),
            ..self.api.clone()
        }
    }
}

/// How one file's upload ended.
#[derive(Debug)]
pub(crate) enum FileResult {
    /// Uploaded, verified and registered.
    Done(Box<Outcome>),
    /// Uploaded before, unchanged since: skipped (`--restart` uploads it again).
    Skipped(Box<Uploaded>),
    /// Failed, with the one-line message already shown.
    Failed(Failure),
    /// Left alone: another process (`pid`, when known) is uploading it.
    /// `message` is the one-line message shown.
    Busy {
        /// The process uploading the file.
        pid: Option<u32>,
        /// The message shown.
        message: String,
    },
    /// Stopped by Ctrl-C (or never started after it); the checkpoint is kept.
    Interrupted,
}

/// A failed upload: what kind of failure, and the one-line message.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The kind, for `--json`.
    pub(crate) kind: ErrorKind,
    /// The message, starting with the file's name.
    pub(crate) message: String,
}

impl Failure {
    /// `error`, explained in `cx`.
    pub(crate) fn of(error: &UploadError, cx: &Context) -> Self {
        Self {
            kind: ErrorKind::of(error),
            message: explain(error, cx),
        }
    }

    /// As a `--json` result line of the file `name`.
    pub(crate) fn json(&self, name: &str) -> serde_json::Value {
        json!({
            "type": "result",
            "file": name,
            "status": "failed",
            "kind": self.kind.as_str(),
            "error": self.message,
        })
    }
}

/// One file's result, with what its progress counted.
#[derive(Debug)]
pub(crate) struct Report {
    /// How it ended.
    pub(crate) result: FileResult,
    /// Retries made.
    #[cfg_attr(
        not(feature = "emulator"),
        expect(dead_code, reason = "the demo's summary reads it")
    )]
    pub(crate) retries: u32,
    /// Bytes this run got stored.
    pub(crate) stored: u64,
    /// Whether it can resume in a later run (stdin cannot).
    pub(crate) resumable: bool,
}

/// Runs `resumable upload`.
pub(crate) fn run(args: UploadArgs, console: &Arc<Console>) -> Result<Exit, CliError> {
    // A dry run sends nothing, so it needs no key.
    let (key, key_source) = if args.dry_run {
        (Secret::new(""), KEY_ENV.to_owned())
    } else {
        read_key(args.api_key_file.as_deref())?
    };
    let settings = Settings {
        api: FileApiTarget {
            api_base: args.api_url.clone(),
            organization: args.org.clone(),
            api_key: key,
            mime_type: args.mime.clone(),
            filename: None,
        },
        chunking: chunking(&args.transfer)?,
        retry: args.transfer.retry.policy(RetryPolicy::default()),
        transport: transport(&args.transfer)?,
        state_dir: state_dir(&args.state)?,
        restart: args.restart,
        allow_insecure_http: args.transfer.allow_insecure_http,
        key_source,
    };
    let (files, skipped) = jobs(Wanted {
        paths: &args.files,
        recursive: args.recursive,
        size: args.size,
        name: args.name.as_deref(),
    })?;
    for line in &skipped {
        console.note(line);
    }
    announce_rounding(&args.transfer, console);
    if args.dry_run {
        return dry_run(&settings, &files, console);
    }
    let restart_hint = |file: &str| {
        let mut cmd = format!("`resumable upload --restart {file} --org {}", args.org);
        if args.api_url != DEFAULT_API_URL {
            cmd.push_str(&format!(" --api-url {}", args.api_url));
        }
        cmd.push('`');
        cmd
    };
    let started = Instant::now();
    let reports = upload_files(
        &settings,
        &files,
        usize::from(args.jobs),
        console,
        &restart_hint,
    );
    console.emit(&summary_json(&reports, started.elapsed()));
    Ok(summarize(&reports, console))
}

/// The `--json` line that ends an upload: how many files ended how, the
/// bytes this run got stored, in how long, at what rate.
fn summary_json(reports: &[Report], elapsed: Duration) -> serde_json::Value {
    let count = |f: fn(&FileResult) -> bool| reports.iter().filter(|r| f(&r.result)).count();
    let bytes: u64 = reports
        .iter()
        .map(|r| r.stored)
        .fold(0, u64::saturating_add);
    let seconds = elapsed.as_secs_f64();
    let rate = bytes as f64 / (1024.0 * 1024.0) / seconds.max(1e-9);
    json!({
        "type": "summary",
        "files": reports.len(),
        "done": count(|r| matches!(r, FileResult::Done(_))),
        "skipped": count(|r| matches!(r, FileResult::Skipped(_))),
        "failed": count(|r| matches!(r, FileResult::Failed(_))),
        "busy": count(|r| matches!(r, FileResult::Busy { .. })),
        "interrupted": count(|r| matches!(r, FileResult::Interrupted)),
        "bytes": bytes,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "mib_per_s": (rate * 10.0).round() / 10.0,
    })
}

/// The exit of a batch, with a closing line on stderr.
pub(crate) fn summarize(reports: &[Report], console: &Console) -> Exit {
    let count = |f: fn(&FileResult) -> bool| reports.iter().filter(|r| f(&r.result)).count();
    let done = count(|r| matches!(r, FileResult::Done(_)));
    let skipped = count(|r| matches!(r, FileResult::Skipped(_)));
    let failed = count(|r| matches!(r, FileResult::Failed(_)));
    let busy = count(|r| matches!(r, FileResult::Busy { .. }));
    let interrupted = count(|r| matches!(r, FileResult::Interrupted));
    if reports.len() > 1 {
        let mut line = format!("{done} uploaded, {failed} failed");
        if skipped > 0 {
            line.push_str(&format!(", {skipped} skipped (uploaded before, unchanged)"));
        }
        if busy > 0 {
            line.push_str(&format!(
                ", {busy} left alone (being uploaded by another process)"
            ));
        }
        if interrupted > 0 {
            line.push_str(&format!(", {interrupted} interrupted"));
        }
        console.note(&line);
    }
    let interrupted_once = |resumable: bool| {
        reports
            .iter()
            .any(|r| matches!(r.result, FileResult::Interrupted) && r.resumable == resumable)
    };
    if interrupted_once(true) {
        console.warn(
            "interrupted: the checkpoints are kept; run the same command again to resume \
             (`resumable status` lists them)",
        );
    }
    if interrupted_once(false) {
        console.warn(
            "interrupted: stdin is read once, so its upload cannot resume; run the command \
             again with the whole input to upload it anew",
        );
    }
    Exit::of_batch(done + skipped, failed, busy, interrupted)
}

/// The API key: from `--api-key-file` (`-` for stdin), else `FREDDY_API_KEY`.
/// Returns it with a phrase naming where it came from.
fn read_key(file: Option<&Path>) -> Result<(Secret, String), CliError> {
    let (key, source) = match file {
        Some(path) => {
            let mut text = String::new();
            let read = if path == Path::new("-") {
                std::io::stdin()
                    .take(64 << 10)
                    .read_to_string(&mut text)
                    .map(|_| ())
            } else {
                std::fs::File::open(path)
                    .and_then(|f| f.take(64 << 10).read_to_string(&mut text))
                    .map(|_| ())
            };
            read.map_err(|e| {
                CliError::Usage(format!("cannot read the key file {}: {e}", path.display()))
            })?;
            (text, format!("the key in {}", path.display()))
        }
        None => (
            std::env::var(KEY_ENV).unwrap_or_default(),
            KEY_ENV.to_owned(),
        ),
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(CliError::Usage(match file {
            Some(path) => format!("the key file {} is empty", path.display()),
            None => format!("no API key: set {KEY_ENV}, or pass --api-key-file PATH"),
        }));
    }
    Ok((Secret::new(key), source))
}

/// The chunking the transfer options ask for.
pub(crate) fn chunking(args: &TransferArgs) -> Result<Chunking, CliError> {
    match (args.single_request, args.chunk_size) {
        (true, _) => Ok(Chunking::SingleRequest),
        (false, Some(0)) => Err(CliError::Usage("--chunk-size must be above 0".into())),
        (false, Some(size)) => Ok(Chunking::Fixed(size)),
        (false, None) => Ok(Chunking::default()),
    }
}

/// Says so when `--chunk-size` is not a multiple of 256 KiB, and what is
/// used instead.
pub(crate) fn announce_rounding(args: &TransferArgs, console: &Console) {
    if let Some(asked) = args.chunk_size.filter(|_| !args.single_request)
        && asked > 0
        && round_chunk_size(asked) != asked
    {
        console.note(&format!(
            "--chunk-size {}: not a multiple of {}, so chunks of {} are sent",
            HumanBytes(asked),
            HumanBytes(CHUNK_GRANULARITY),
            HumanBytes(round_chunk_size(asked))
        ));
    }
}

/// Uploads `files` with at most `jobs` at a time, showing progress and each
/// result as it comes. `restart_hint` is the command that starts a file over.
pub(crate) fn upload_files(
    settings: &Settings,
    files: &[Job],
    jobs: usize,
    console: &Arc<Console>,
    restart_hint: &(dyn Fn(&str) -> String + Sync),
) -> Vec<Report> {
    let interrupt = Interrupt::get(console, UPLOAD_STOPPING);
    let sizes: u64 = files
        .iter()
        .filter_map(Job::size)
        .fold(0, u64::saturating_add);
    let progress = Progress::new(Arc::clone(console), files.len(), sizes);
    let reports = run_bounded(files, jobs, |job| {
        let name = &job.name;
        if interrupt.is_stopped() {
            report(console, name, &FileResult::Interrupted);
            return Report {
                result: FileResult::Interrupted,
                retries: 0,
                stored: 0,
                resumable: job.resumable(),
            };
        }
        let file_progress = progress.file(name, job.size().unwrap_or(0));
        let cx = Context {
            file: name.clone(),
            key_source: settings.key_source.clone(),
            restart: restart_hint(name),
            preconditions: Vec::new(),
            state_dir: settings.state_dir.display().to_string(),
            left: Left::Nothing,
        };
        let result = match &job.input {
            Input::File(path) => upload_one(
                settings,
                job,
                path,
                &file_progress,
                &interrupt,
                &cx,
                console,
            ),
            Input::Stdin { size } => {
                upload_stdin(settings, job, *size, &file_progress, &interrupt, &cx)
            }
        };
        file_progress.finish(matches!(
            result,
            FileResult::Done(_) | FileResult::Skipped(_)
        ));
        report(console, name, &result);
        progress.file_finished();
        Report {
            result,
            retries: file_progress.retries(),
            stored: file_progress.stored(),
            resumable: job.resumable(),
        }
    });
    progress.finish();
    reports
}

/// Uploads one file, resuming from its checkpoint.
fn upload_one(
    settings: &Settings,
    job: &Job,
    path: &Path,
    progress: &Arc<FileProgress>,
    interrupt: &Interrupt,
    cx: &Context,
    console: &Console,
) -> FileResult {
    let mut store = match open_store(&settings.state_dir) {
        Ok(store) => store,
        Err(e) => {
            return FileResult::Failed(Failure {
                kind: ErrorKind::Checkpoint,
                message: format!("{}: {e}", cx.file),
            });
        }
    };
    let key = checkpoint_key(&settings.target(job), path);
    // Held until this file is done with, before anything of its state is
    // read or changed: another run uploading it now keeps its checkpoint,
    // its ledger entry and its session, whatever this run was asked to do.
    let _lock = match store.lock(&key) {
        Ok(lock) => lock,
        Err(e) => {
            return match UploadError::from(e) {
                UploadError::Busy { pid } => FileResult::Busy {
                    pid,
                    message: explain(&UploadError::Busy { pid }, cx),
                },
                other => FileResult::Failed(Failure::of(&other, cx)),
            };
        }
    };
    let ledger = Ledger::new(&settings.state_dir);
    let before = fingerprint(path);
    let events = Arc::clone(progress);
    let (early_key, early_ledger) = (key.clone(), ledger.clone());
    let mut uploader = uploader(settings)
        .checkpoint_store(HeldStore::new(store.clone(), &key))
        .on_event(move |event| {
            // Recorded as soon as the File exists, before the driver removes
            // the checkpoint: killed between the two, the next run would
            // otherwise upload and register the file again. A failure here
            // is reported by the record made once the upload returns.
            if let (Event::Registered { file_id }, Some(fingerprint)) = (event, before) {
                let _ = early_ledger.record(&Uploaded {
                    key: early_key.clone(),
                    fingerprint,
                    file_id: file_id.clone(),
                    gcs_path: None,
                });
            }
            events.event(event);
        });
    interrupt.watch(uploader.stop_handle());
    if settings.restart {
        let _ = ledger.forget(&key);
    } else if let Some(uploaded) = before.and_then(|fp| ledger.lookup(&key, &fp)) {
        // A checkpoint left by a run killed after it registered the file.
        let _ = store.remove(&key);
        return FileResult::Skipped(Box::new(uploaded));
    }
    if settings.restart {
        match uploader.cancel(&key) {
            Ok(true) => console.note(&format!(
                "{}: dropped its interrupted upload; starting anew",
                progress.name()
            )),
            Ok(false) => {}
            Err(e) => {
                console.note(&format!(
                    "{}: could not delete the old upload session ({e}); it expires on its own",
                    progress.name()
                ));
                if let Err(e) = store.remove(&key) {
                    return FileResult::Failed(Failure::of(&UploadError::Checkpoint(e), cx));
                }
            }
        }
    } else if let Ok(Some(checkpoint)) = uploader.load_checkpoint(&key)
        && checkpoint.fingerprint.is_some()
        && checkpoint.fingerprint == before
    {
        progress.announce(&checkpoint);
    }
    match uploader.upload_file(&settings.target(job), path) {
        Ok(outcome) => {
            if let (Some(fingerprint), Some(file)) = (before, &outcome.file) {
                let record = Uploaded {
                    key,
                    fingerprint,
                    file_id: file.id.clone(),
                    gcs_path: gcs_path(&outcome),
                };
                if let Err(e) = ledger.record(&record) {
                    console.note(&format!(
                        "{}: cannot record the finished upload ({e}); running the command \
                         again would upload it again",
                        progress.name()
                    ));
                }
            }
            FileResult::Done(Box::new(outcome))
        }
        Err(UploadError::Interrupted) => FileResult::Interrupted,
        Err(error @ UploadError::Busy { pid }) => FileResult::Busy {
            pid,
            message: explain(&error, cx),
        },
        Err(error) => {
            let left = Left::of(uploader.load_checkpoint(&key).ok().flatten().as_ref());
            FileResult::Failed(Failure::of(&error, &Context { left, ..cx.clone() }))
        }
    }
}

/// An uploader with the settings' transport, chunking and retries.
fn uploader(settings: &Settings) -> Uploader<UreqTransport> {
    Uploader::with_transport(settings.transport.clone())
        .chunking(settings.chunking)
        .retry(settings.retry)
        .allow_insecure_http(settings.allow_insecure_http)
}

/// Uploads `size` bytes of stdin, read once. Nothing is checkpointed: a
/// one-pass source cannot be read again by another process, so an
/// interrupted upload of it starts anew (within the run, a failed request
/// is retried from the bytes kept in memory).
fn upload_stdin(
    settings: &Settings,
    job: &Job,
    size: u64,
    progress: &Arc<FileProgress>,
    interrupt: &Interrupt,
    cx: &Context,
) -> FileResult {
    let target = settings.target(job);
    let filename = job.filename.clone().unwrap_or_default();
    let config = Config::file_api(target.file_api(Path::new(&filename)), size);
    let events = Arc::clone(progress);
    let mut uploader = uploader(settings).on_event(move |event| events.event(event));
    interrupt.watch(uploader.stop_handle());
    let mut source = ReadSource::new(std::io::stdin().lock());
    match uploader.run(config, &mut source, None) {
        Ok(outcome) => FileResult::Done(Box::new(outcome)),
        Err(UploadError::Interrupted) => FileResult::Interrupted,
        Err(error) => FileResult::Failed(Failure::of(&error, cx)),
    }
}

/// The fingerprint the drivers give `path` (size and modification time), to
/// compare with its checkpoint's and the ledger's.
fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let meta = std::fs::metadata(path).ok()?;
    Some(resumable_local::fingerprint(&meta))
}

/// Shows a file's result: a line on stdout (or a JSON line), an error on stderr.
fn report(console: &Console, name: &str, result: &FileResult) {
    match result {
        FileResult::Done(outcome) => {
            let file_id = outcome
                .file
                .as_ref()
                .map(|f| f.id.as_str())
                .unwrap_or_default();
            console.emit(&result_json(name, outcome));
            console.print(&format!("{name}: {file_id}"));
        }
        FileResult::Skipped(uploaded) => {
            console.emit(&json!({
                "type": "result",
                "file": name,
                "status": "skipped",
                "file_id": uploaded.file_id,
                "size": uploaded.fingerprint.size,
                "gcs_path": uploaded.gcs_path,
            }));
            console.print(&format!("{name}: {}", uploaded.file_id));
            console.note(&format!(
                "{name}: uploaded before and unchanged since, so skipped (--restart uploads it again)"
            ));
        }
        FileResult::Failed(failure) => {
            console.emit(&failure.json(name));
            console.error(&failure.message);
        }
        FileResult::Busy { pid, message } => {
            console.emit(&busy_json(name, *pid, message));
            console.error(message);
        }
        FileResult::Interrupted => console.emit(&json!({
            "type": "result",
            "file": name,
            "status": "interrupted",
        })),
    }
}

/// Where the registered File's object is stored.
fn gcs_path(outcome: &Outcome) -> Option<String> {
    outcome
        .file
        .as_ref()
        .and_then(|f| f.fields.get("gcs_path"))
        .and_then(|p| p.as_str())
        .map(str::to_owned)
        .or_else(|| outcome.object.name.clone())
}

/// What a single-file upload command (`gcs upload`, `tus upload`) sets up
/// before it uploads: the file opened (a failure reported as its result),
/// its progress display fed by the uploader's events, and Ctrl-C watched.
pub(crate) struct SingleFile {
    /// The file.
    pub(crate) source: resumable_blocking::FileSource,
    /// Its size.
    pub(crate) size: u64,
    /// The whole display, to finish once the upload ends.
    pub(crate) progress: Progress,
    /// The file's own bar.
    pub(crate) file: Arc<FileProgress>,
}

impl SingleFile {
    /// Opens `path`, and hooks a display named `name` to `uploader`.
    pub(crate) fn open(
        console: &Arc<Console>,
        name: &str,
        path: &Path,
        cx: &Context,
        uploader: Uploader<UreqTransport>,
    ) -> Result<(Self, Uploader<UreqTransport>), CliError> {
        let source = match resumable_blocking::FileSource::open(path) {
            Ok(source) => source,
            Err(e) => {
                let failure = Failure::of(&UploadError::Source(e), cx);
                console.emit(&failure.json(name));
                return Err(CliError::Failed(failure.message));
            }
        };
        let size = source.len().unwrap_or(0);
        let progress = Progress::new(Arc::clone(console), 1, size);
        let file = progress.file(name, size);
        let events = Arc::clone(&file);
        let uploader = uploader.on_event(move |event| events.event(event));
        Interrupt::get(console, UPLOAD_STOPPING).watch(uploader.stop_handle());
        let opened = Self {
            source,
            size,
            progress,
            file,
        };
        Ok((opened, uploader))
    }

    /// Ends the display, the upload having ended well or not.
    pub(crate) fn finish(&self, ok: bool) {
        self.file.finish(ok);
        self.progress.finish();
    }
}

/// How a single-file upload command (`gcs upload`, `tus upload`) reports
/// an upload that ended without an outcome: interrupted (`keeps` says what
/// the server keeps), left alone for another process, or failed, its
/// hint from what the upload left (`left`, read after the failure).
pub(crate) fn report_unfinished(
    console: &Console,
    name: &str,
    error: UploadError,
    mut cx: Context,
    keeps: &str,
    left: impl FnOnce() -> Option<Left>,
) -> Result<Exit, CliError> {
    match error {
        UploadError::Interrupted => {
            console.emit(&json!({"type": "result", "file": name, "status": "interrupted"}));
            console.warn(&format!(
                "interrupted: run the same command again to resume ({keeps})"
            ));
            Ok(Exit::Interrupted)
        }
        UploadError::Busy { pid } => {
            let message = explain(&UploadError::Busy { pid }, &cx);
            console.emit(&busy_json(name, pid, &message));
            Err(CliError::Busy(message))
        }
        error => {
            if let Some(left) = left() {
                cx.left = left;
            }
            let failure = Failure::of(&error, &cx);
            console.emit(&failure.json(name));
            Err(CliError::Failed(failure.message))
        }
    }
}

/// A file left alone because another upload holds it, as a JSON line.
pub(crate) fn busy_json(name: &str, pid: Option<u32>, message: &str) -> serde_json::Value {
    json!({
        "type": "result",
        "file": name,
        "status": "busy",
        "pid": pid,
        "error": message,
    })
}

/// A finished upload as a JSON line.
pub(crate) fn result_json(name: &str, outcome: &Outcome) -> serde_json::Value {
    let file = outcome.file.as_ref();
    json!({
        "type": "result",
        "file": name,
        "status": "done",
        "file_id": file.map(|f| f.id.as_str()),
        "size": outcome.object.size,
        "crc32c": outcome
            .crc32c
            .or(outcome.object.crc32c)
            .map(resumable_core::crc32c_base64),
        "gcs_path": gcs_path(outcome),
        "restarts": outcome.restarts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunking_follows_the_options() {
        let args = |chunk_size, single_request| TransferArgs {
            chunk_size,
            single_request,
            allow_insecure_http: false,
            ca_cert: Vec::new(),
            retry: crate::args::RetryArgs {
                retries: None,
                retry_for: None,
                connect_timeout: Duration::from_secs(30),
                stall_timeout: Duration::from_secs(60),
            },
        };
        assert_eq!(
            chunking(&args(None, false)).unwrap(),
            Chunking::Adaptive(resumable_core::AdaptiveLimits::default())
        );
        assert_eq!(
            chunking(&args(Some(1 << 20), false)).unwrap(),
            Chunking::Fixed(1 << 20)
        );
        assert_eq!(
            chunking(&args(None, true)).unwrap(),
            Chunking::SingleRequest
        );
        assert!(chunking(&args(Some(0), false)).is_err());
    }

    #[test]
    fn a_key_file_is_trimmed_and_must_not_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "  secret\n").unwrap();
        let (key, source) = read_key(Some(&path)).unwrap();
        assert_eq!(key.expose(), "secret");
        assert!(source.contains("key"));
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(read_key(Some(&path)), Err(CliError::Usage(_))));
        assert!(read_key(Some(&dir.path().join("missing"))).is_err());
    }
}
