//! The command line: every command, option and example, as clap reads them.

#[cfg(feature = "emulator")]
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use http::{HeaderName, HeaderValue};
use resumable_core::{InteropVersion, RetryPolicy};

use crate::durations::parse_duration;
use crate::sizes::parse_size;

/// The production file API.
pub(crate) const DEFAULT_API_URL: &str = "https://api.aitronos.com";

/// The demo's line of `resumable --help`, a literal for `concat!`.
#[cfg(feature = "emulator")]
macro_rules! demo_example {
    () => {
        "  resumable demo                                   # try it: a local emulator with faults, no setup\n"
    };
}
/// Without the emulator there is no demo to show.
#[cfg(not(feature = "emulator"))]
macro_rules! demo_example {
    () => {
        ""
    };
}

/// `resumable --help`'s examples and exit codes; the demo's line only where
/// the command has it (the `emulator` feature).
const MAIN_HELP: &str = concat!(
    "Examples:\n",
    demo_example!(),
    "  FREDDY_API_KEY=... resumable upload video.mp4 --org org_123
  resumable upload *.mp4 --org org_123 --jobs 3    # three files at a time
  resumable status                                 # uploads waiting to resume
  resumable cancel video.mp4                       # drop one of them

Exit codes: 0 all done, 1 failed, 2 usage error, 3 some files failed,
75 another process is uploading a file (it was left alone: run the same command
again once it ends), 130 interrupted (the checkpoint is kept: run the same
command again to resume)."
);

const UPLOAD_HELP: &str = "\
Each file goes through the file API: a session from `upload-url`, the bytes in
chunks (each persisted chunk is checkpointed), a CRC32C check of the stored
object, then `register`. An upload interrupted in any way (Ctrl-C, kill -9, a
lost network, a reboot) resumes where the server stopped when the same command
is run again; a file changed since then is refused (start over with --restart).
A file uploaded before and unchanged since is skipped with its File id, so a
batch run again after an interruption uploads only what is left. A file another
`resumable` process is uploading now is left alone, --restart or not: its
checkpoint, session and record stay its own.

The API key is read from FREDDY_API_KEY, or from --api-key-file; it is never
sent to the upload host and never logged.

Examples:
  export FREDDY_API_KEY=...   FREDDY_ORG=org_123
  resumable upload large_video.mp4
  resumable upload a.bin b.bin c.bin --jobs 3 --chunk-size 16MiB
  resumable upload video.mp4 --org org_123 --api-key-file ~/.config/freddy.key
  resumable upload video.mp4 --json | jq 'select(.type == \"result\")'
  resumable upload video.mp4 --restart             # drop the old checkpoint, start anew
  resumable upload video.mp4 --retries 3 --retry-for 90s --stall-timeout 2m
  resumable upload -r photos/ --dry-run              # what would be uploaded, skipped, resumed
  curl -s \"$URL\" | resumable upload - --size 4700372992 --name disc.iso   # stdin: exactly SIZE bytes, read once

Exit codes: 0 all done, 1 failed, 2 usage error, 3 some files failed,
75 another process is uploading a file (nothing else failed),
130 interrupted (the checkpoints are kept).";

const STATUS_HELP: &str = "\
An upload that another process is running now is listed as `uploading now
(pid N)`.

Examples:
  resumable status
  resumable status --json
  resumable status --state-dir /var/tmp/uploads";

const CANCEL_HELP: &str = "\
Cancelling deletes the upload session on the server (DELETE) and removes the
checkpoint; the next upload of the file starts from byte 0. An upload another
process is running now is left alone (exit 75): stop it first.

Examples:
  resumable cancel large_video.mp4
  resumable cancel large_video.mp4 --org org_123   # only its upload to org_123
  resumable cancel big.iso --header \"Authorization: Bearer $TOKEN\"   # a tus or http upload's credentials
  resumable cancel --all";

const GCS_HELP: &str = "\
Examples:
  resumable gcs upload backup.tar --session-url \"$SESSION_URL\"
  GCS_TOKEN=$(gcloud auth print-access-token) \\
    resumable gcs upload backup.tar --bucket my-bucket --object backups/backup.tar --token-env GCS_TOKEN
  resumable gcs upload backup.tar --bucket my-bucket --object backups/backup.tar --token-env GCS_TOKEN \\
    --if-generation-match 0                        # only if no such object exists yet
  resumable gcs upload backup.tar --session-url \"$SIGNED_URL\" --header 'x-goog-meta-owner: me'
  resumable gcs upload backup.tar --bucket test --object backup.tar \\
    --endpoint http://127.0.0.1:8787             # a local emulator: no token needed

A failed precondition (412) ends the upload at once with exit code 1: nothing is written.";

const TUS_HELP: &str = "\
Examples:
  resumable tus upload video.mp4 --endpoint https://tus.example.com/files/
  resumable tus upload video.mp4 --endpoint https://tus.example.com/files/ \\
    --header 'Authorization: Bearer TOKEN' --metadata album=holidays
  resumable tus upload video.mp4 --endpoint http://127.0.0.1:8787/tus/files/   # the emulator

Run the same command again to resume an interrupted upload; `resumable status`
lists it and `resumable cancel FILE` terminates it (a DELETE where the server
supports termination).";

const HTTP_HELP: &str = "\
Resumable Uploads for HTTP (draft-ietf-httpbis-resumable-upload), interop
version 8 (the latest draft) or 6 (draft -05: tus-js-client, tusd).

Careful creation (the default) creates the upload resource with an empty
request, then sends every byte in PATCHes it can resume. --optimistic sends the
first bytes with the creation itself (the whole file when it fits in one
request), one round trip less; such a request can resume mid-way only once the
server's 104 (Upload Resumption Supported) has named the upload, and this
command's HTTP client does not read 104s: a creation cut off starts over with a
new creation (the abandoned upload resource expires on the server). Once
created, an optimistic upload resumes like a careful one.

Examples:
  resumable http upload video.mp4 --endpoint https://example.com/uploads/
  resumable http upload video.mp4 --endpoint https://example.com/uploads/ \\
    --header 'Authorization: Bearer TOKEN' --mime video/mp4 --interop 6
  resumable http upload video.mp4 --endpoint http://127.0.0.1:8787/ietf/files/   # the emulator

Run the same command again to resume an interrupted upload (in the interop
version it was created with); `resumable status` lists it and `resumable cancel
FILE` cancels it (a DELETE).";

#[cfg(feature = "emulator")]
const EMULATOR_HELP: &str = "\
The emulator prints its base URL on stdout and runs until Ctrl-C. Point uploads
at it with --api-url and its key (FREDDY_API_KEY).

Fault spec: rules separated by `;`, e.g.
  \"chunk#2 status=503; chunk#4 reset after=100KiB; chunk#6 status=429 retry-after=1; final#1 drop-response\"
(kinds: request put chunk final query delete initiate upload-url register api;
effects: status= retry-after= reset after= stall= short= no-range override-308
drop-response expire kill session= p=). See the resumable-emulator crate docs.

Examples:
  resumable emulator
  resumable emulator --addr 127.0.0.1:9000 --faults 'chunk#2 status=503' --seed 7
  resumable emulator --bucket uploads --bucket backups   # uploads is the file API's
  FREDDY_API_KEY=emulator-key resumable upload f.bin --org org_1 --api-url http://127.0.0.1:8787";

#[cfg(feature = "emulator")]
const DEMO_HELP: &str = "\
Starts the emulator on loopback with scripted faults (a 503, a connection reset
mid-chunk, a 429 with Retry-After, a lost final response), writes a sample file
under a temporary directory, uploads it through the whole flow, checks the stored
object's size and CRC32C against the file, and prints the registered File.
Needs no setup and no network beyond loopback.

Examples:
  resumable demo
  resumable demo --size 1GiB --chunk-size 16MiB
  resumable demo --faults 'chunk#3 expire'       # watch the session restart
  resumable demo --faults none --keep";

const COMPLETIONS_HELP: &str = "\
The script goes to stdout; install it where the shell looks for completions.

Examples:
  resumable completions bash > ~/.local/share/bash-completion/completions/resumable
  resumable completions zsh > ~/.zfunc/_resumable    # with fpath+=(~/.zfunc) before compinit
  resumable completions fish > ~/.config/fish/completions/resumable.fish";

const MAN_HELP: &str = "\
The page resumable(1) goes to stdout as roff. With --dir, it and a page for each
command (resumable-upload(1), resumable-gcs-upload(1), ...) are written to DIR.

Examples:
  resumable man | man -l -
  resumable man --dir ~/.local/share/man/man1            # then: man resumable-upload";

/// The heading of the options every command takes, in every command's help.
const GLOBAL_HEADING: &str = "Global options";

/// Reliable uploads of large files: resumable, verified, registered.
#[derive(Debug, Parser)]
#[command(name = "resumable", version, after_help = MAIN_HELP, propagate_version = true)]
pub(crate) struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Tracing detail on stderr: -v for the upload's steps, -vv for every request
    /// (RUST_LOG overrides).
    #[arg(short, long, action = ArgAction::Count, global = true, help_heading = GLOBAL_HEADING)]
    pub(crate) verbose: u8,
    /// Nothing on stderr but errors: no progress, no notes.
    #[arg(short, long, global = true, help_heading = GLOBAL_HEADING)]
    pub(crate) quiet: bool,
    /// One JSON object per line on stdout for each result and event, and nothing
    /// else on stdout.
    #[arg(long, global = true, help_heading = GLOBAL_HEADING)]
    pub(crate) json: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Upload files through the file API (session, chunks, register).
    #[command(after_help = UPLOAD_HELP)]
    Upload(UploadArgs),
    /// List the uploads that wait to resume: file, progress, expiry.
    #[command(after_help = STATUS_HELP)]
    Status(StatusArgs),
    /// Cancel uploads that wait to resume: delete their sessions and checkpoints.
    #[command(after_help = CANCEL_HELP)]
    Cancel(CancelArgs),
    /// Raw Google Cloud Storage resumable uploads.
    #[command(subcommand, after_help = GCS_HELP)]
    Gcs(GcsCommand),
    /// Uploads to a tus 1.0 server (tus.io).
    #[command(subcommand, after_help = TUS_HELP)]
    Tus(TusCommand),
    /// Resumable Uploads for HTTP (the IETF draft).
    #[command(subcommand, after_help = HTTP_HELP)]
    Http(HttpCommand),
    /// Run the local emulator of the file API and the upload host.
    #[cfg(feature = "emulator")]
    #[command(after_help = EMULATOR_HELP)]
    Emulator(EmulatorArgs),
    /// Upload a sample file to an embedded emulator with faults, and verify it.
    #[cfg(feature = "emulator")]
    #[command(after_help = DEMO_HELP)]
    Demo(DemoArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or
    /// PowerShell.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Print the manual page resumable(1), or write every command's page.
    #[command(after_help = MAN_HELP)]
    Man(ManArgs),
}

/// How the bytes travel: options of every uploading command.
#[derive(Debug, Clone, Args)]
pub(crate) struct TransferArgs {
    /// Bytes per request, e.g. 8MiB. Cloud Storage takes multiples of 256 KiB,
    /// so `upload` and `gcs upload` round it down (up to 256 KiB when smaller)
    /// and say so; tus and the IETF draft take any size [default: start at the
    /// server's recommendation (at most 64 MiB, else 8 MiB) and grow while
    /// bigger requests go faster, up to 1 GiB and 30 s a request; a stream
    /// keeps the start].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) chunk_size: Option<u64>,
    /// Send everything left in one request: fastest when nothing fails.
    #[arg(long, conflicts_with = "chunk_size")]
    pub(crate) single_request: bool,
    /// Allow plain http to hosts other than loopback (credentials in clear text).
    #[arg(long)]
    pub(crate) allow_insecure_http: bool,
    /// Trust the certificates in this PEM file besides the default roots: a
    /// private CA, or a self-signed server (repeatable). SSL_CERT_FILE, when
    /// set, is trusted the same way.
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_cert: Vec<PathBuf>,
    /// How failures are retried, and how long a request may wait.
    #[command(flatten)]
    pub(crate) retry: RetryArgs,
}

/// The heading of the retry and timeout options.
const RETRY_HEADING: &str = "Retries and timeouts";

/// How failures are retried and how long the transport waits: options of
/// every uploading command, each with an environment variable.
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct RetryArgs {
    /// Retries of failed requests in a row before giving up; a request that
    /// makes progress starts the count again. 0: give up at the first failure
    /// [default: 9].
    #[arg(long, env = "RESUMABLE_RETRIES", value_name = "N", help_heading = RETRY_HEADING)]
    pub(crate) retries: Option<u32>,
    /// How long failures in a row may go on before giving up, e.g. 90s, 5m,
    /// 1h [default: 10m].
    #[arg(long, env = "RESUMABLE_RETRY_FOR", value_name = "DURATION",
          value_parser = parse_duration, help_heading = RETRY_HEADING)]
    pub(crate) retry_for: Option<Duration>,
    /// How long to wait for a connection to be made, e.g. 10s.
    #[arg(long, env = "RESUMABLE_CONNECT_TIMEOUT", value_name = "DURATION",
          default_value = "30s", value_parser = parse_duration, help_heading = RETRY_HEADING)]
    pub(crate) connect_timeout: Duration,
    /// How long a request may go without a byte moving either way before it
    /// fails (and is retried), e.g. 2m.
    #[arg(long, env = "RESUMABLE_STALL_TIMEOUT", value_name = "DURATION",
          default_value = "60s", value_parser = parse_duration, help_heading = RETRY_HEADING)]
    pub(crate) stall_timeout: Duration,
}

impl RetryArgs {
    /// `base` with the attempts and time budget these options set.
    pub(crate) fn policy(self, base: RetryPolicy) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self
                .retries
                .map_or(base.max_attempts, |n| n.saturating_add(1)),
            max_elapsed: self.retry_for.unwrap_or(base.max_elapsed),
            ..base
        }
    }
}

/// Where checkpoints live.
#[derive(Debug, Clone, Args)]
pub(crate) struct StateArgs {
    /// Directory of checkpoints [default: $XDG_STATE_HOME/resumable, or
    /// ~/.local/state/resumable].
    #[arg(long, env = "RESUMABLE_STATE_DIR", value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
}

/// `resumable upload`.
#[derive(Debug, Args)]
pub(crate) struct UploadArgs {
    /// The files to upload: a directory with -r, `-` for stdin (with --size
    /// and --name).
    #[arg(required = true, value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// Upload the regular files under each directory given, in the order of
    /// their paths, each registered by its path under that directory
    /// (`sub/b.jpg`); symbolic links and other entries are skipped with a
    /// note.
    #[arg(short, long)]
    pub(crate) recursive: bool,
    /// The size of stdin (`-`), which the file API asks for before the first
    /// byte, e.g. 1GiB or a byte count. Stdin is read once: an upload of it
    /// that is interrupted cannot resume, and starts anew when run again.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) size: Option<u64>,
    /// The filename to register (one file, or stdin) [default: the file's
    /// own name].
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// List what would be uploaded, skipped (uploaded before, unchanged) or
    /// resumed, and send nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// The organization the files belong to.
    #[arg(long, env = "FREDDY_ORG")]
    pub(crate) org: String,
    /// The file API's base URL.
    #[arg(long, env = "FREDDY_API_URL", default_value = DEFAULT_API_URL, value_name = "URL")]
    pub(crate) api_url: String,
    /// Read the API key from this file ("-": stdin) instead of FREDDY_API_KEY.
    #[arg(long, value_name = "PATH")]
    pub(crate) api_key_file: Option<PathBuf>,
    /// The MIME type of every file [default: guessed from the extension, else
    /// application/octet-stream].
    #[arg(long, value_name = "TYPE")]
    pub(crate) mime: Option<String>,
    /// Files uploaded at the same time.
    #[arg(long, short = 'j', default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) jobs: u16,
    /// Upload anew: drop an interrupted upload of the file (its session and
    /// checkpoint), and upload a file even when it was uploaded before and is
    /// unchanged since (which is otherwise skipped).
    #[arg(long)]
    pub(crate) restart: bool,
    /// How the bytes travel.
    #[command(flatten)]
    pub(crate) transfer: TransferArgs,
    /// Where checkpoints live.
    #[command(flatten)]
    pub(crate) state: StateArgs,
}

/// `resumable status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Where checkpoints live.
    #[command(flatten)]
    pub(crate) state: StateArgs,
}

/// `resumable cancel`.
#[derive(Debug, Args)]
pub(crate) struct CancelArgs {
    /// The files whose uploads to cancel.
    #[arg(
        value_name = "FILE",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub(crate) files: Vec<PathBuf>,
    /// Cancel every upload that waits to resume.
    #[arg(long)]
    pub(crate) all: bool,
    /// Only uploads to this organization.
    #[arg(long)]
    pub(crate) org: Option<String>,
    /// A header for every `DELETE`, `Name: value` (repeatable): the
    /// credentials a `tus upload` or `http upload` was given with `--header`,
    /// which no checkpoint keeps.
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// Allow plain http to hosts other than loopback.
    #[arg(long)]
    pub(crate) allow_insecure_http: bool,
    /// Where checkpoints live.
    #[command(flatten)]
    pub(crate) state: StateArgs,
}

/// `resumable gcs …`.
#[derive(Debug, Subcommand)]
pub(crate) enum GcsCommand {
    /// Upload a file to a Cloud Storage resumable session.
    #[command(after_help = GCS_HELP)]
    Upload(GcsUploadArgs),
}

/// `resumable gcs upload`.
#[derive(Debug, Args)]
pub(crate) struct GcsUploadArgs {
    /// The file to upload.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// An existing resumable session URL (run again with the same URL to resume).
    #[arg(long, value_name = "URL", required_unless_present = "bucket",
          conflicts_with_all = ["bucket", "object", "endpoint", "token_env"])]
    pub(crate) session_url: Option<String>,
    /// The bucket to initiate a session in.
    #[arg(long, requires = "object")]
    pub(crate) bucket: Option<String>,
    /// The object name.
    #[arg(long, requires = "bucket")]
    pub(crate) object: Option<String>,
    /// The JSON API endpoint.
    #[arg(
        long,
        default_value = "https://storage.googleapis.com",
        value_name = "URL"
    )]
    pub(crate) endpoint: String,
    /// The environment variable holding the OAuth bearer token for the
    /// initiation. Required unless --endpoint is loopback (127.0.0.0/8, ::1,
    /// localhost), such as a local emulator.
    #[arg(long, value_name = "VAR", requires = "bucket")]
    pub(crate) token_env: Option<String>,
    /// The object's content type [default: guessed from the extension].
    #[arg(long, value_name = "TYPE")]
    pub(crate) mime: Option<String>,
    /// Conditions on the object the upload would replace (with --bucket only).
    #[command(flatten)]
    pub(crate) preconditions: PreconditionArgs,
    /// A header for every request to the upload host, `Name: value` (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// How the bytes travel.
    #[command(flatten)]
    pub(crate) transfer: TransferArgs,
    /// Where checkpoints live (for --bucket uploads).
    #[command(flatten)]
    pub(crate) state: StateArgs,
}

/// `resumable tus …`.
#[derive(Debug, Subcommand)]
pub(crate) enum TusCommand {
    /// Upload a file to a tus 1.0 server: created at its endpoint, resumed
    /// by running the command again.
    Upload(TusUploadArgs),
}

/// `resumable tus upload`.
#[derive(Debug, Args)]
pub(crate) struct TusUploadArgs {
    /// The file to upload.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// The server's creation endpoint, e.g. `https://tus.example.com/files/`.
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint: String,
    /// Metadata sent with the creation, `key=value` (repeatable), beside
    /// `filename` and `filetype`.
    #[arg(long = "metadata", value_name = "KEY=VALUE", value_parser = parse_metadata)]
    pub(crate) metadata: Vec<(String, String)>,
    /// The upload's `filetype` [default: guessed from the extension].
    #[arg(long, value_name = "TYPE")]
    pub(crate) mime: Option<String>,
    /// Headers, transfer and checkpoints.
    #[command(flatten)]
    pub(crate) endpoint_args: EndpointArgs,
}

/// What every upload of one file to a creation endpoint takes (`tus
/// upload`, `http upload`) beside its protocol's own options.
#[derive(Debug, Args)]
pub(crate) struct EndpointArgs {
    /// A header for every request to the server, `Name: value` (repeatable):
    /// credentials ride here and show in no log.
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// How the bytes travel.
    #[command(flatten)]
    pub(crate) transfer: TransferArgs,
    /// Where checkpoints live.
    #[command(flatten)]
    pub(crate) state: StateArgs,
}

/// `resumable http …`.
#[derive(Debug, Subcommand)]
pub(crate) enum HttpCommand {
    /// Upload a file to a resource that takes Resumable Uploads for HTTP
    /// (the IETF draft): created at the endpoint, resumed by running the
    /// command again.
    #[command(after_help = HTTP_HELP)]
    Upload(HttpUploadArgs),
}

/// `resumable http upload`.
#[derive(Debug, Args)]
pub(crate) struct HttpUploadArgs {
    /// The file to upload.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// The target resource that creates uploads, e.g.
    /// `https://example.com/uploads/`; its answer to the completed upload
    /// is the result.
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint: String,
    /// The file's media type, sent as the creation's `Content-Type`
    /// [default: guessed from the extension].
    #[arg(long, value_name = "TYPE")]
    pub(crate) mime: Option<String>,
    /// The draft's interop version the server speaks (a resumed upload keeps
    /// the version it was created with).
    #[arg(long, value_enum, value_name = "VERSION", default_value_t = InteropArg::V8)]
    pub(crate) interop: InteropArg,
    /// Send the first bytes with the creation (optimistic creation): one
    /// round trip less, but a creation cut off starts over, since this
    /// command cannot read the 104 that would make it resumable.
    #[arg(long, conflicts_with = "careful")]
    pub(crate) optimistic: bool,
    /// Create the upload with an empty request, then send every byte in
    /// resumable PATCHes: careful creation, the default.
    #[arg(long)]
    pub(crate) careful: bool,
    /// Headers, transfer and checkpoints.
    #[command(flatten)]
    pub(crate) endpoint_args: EndpointArgs,
}

/// An interop version of the IETF draft, as `--interop` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum InteropArg {
    /// Interop version 8: the latest draft.
    #[value(name = "8")]
    V8,
    /// Interop version 6: draft -05, as tus-js-client and tusd speak it.
    #[value(name = "6")]
    V6,
}

impl InteropArg {
    /// The version as the engine takes it.
    pub(crate) fn to_core(self) -> InteropVersion {
        match self {
            Self::V8 => InteropVersion::V8,
            Self::V6 => InteropVersion::V6,
        }
    }
}

/// Reads `key=value` into a tus metadata pair.
fn parse_metadata(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not `key=value`"))?;
    let key = key.trim();
    if key.is_empty() || key.contains([' ', ',']) || !key.is_ascii() {
        return Err(format!(
            "{key:?} cannot be a tus metadata key (ASCII, no spaces or commas)"
        ));
    }
    if matches!(key, "filename" | "filetype") {
        return Err(format!(
            "{key} is sent from the file (use --mime for filetype)"
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// `--if-generation-match` and kin: the JSON API's preconditions, checked by
/// the server at the initiation and again when the object is written. Only
/// for a session this command initiates (--bucket); a session URL was
/// initiated elsewhere, with its own.
#[derive(Debug, Clone, Copy, Default, Args)]
pub(crate) struct PreconditionArgs {
    /// Upload only if the object's generation is N; 0: only if no such object
    /// exists (never overwrite).
    #[arg(long, value_name = "N", value_parser = generation,
          requires = "bucket", conflicts_with = "session_url")]
    pub(crate) if_generation_match: Option<i64>,
    /// Upload only if the object's generation is not N; 0: only if the object
    /// exists.
    #[arg(long, value_name = "N", value_parser = generation,
          requires = "bucket", conflicts_with = "session_url")]
    pub(crate) if_generation_not_match: Option<i64>,
    /// Upload only if the object's metageneration is N.
    #[arg(long, value_name = "N", value_parser = generation,
          requires = "bucket", conflicts_with = "session_url")]
    pub(crate) if_metageneration_match: Option<i64>,
    /// Upload only if the object's metageneration is not N.
    #[arg(long, value_name = "N", value_parser = generation,
          requires = "bucket", conflicts_with = "session_url")]
    pub(crate) if_metageneration_not_match: Option<i64>,
}

impl PreconditionArgs {
    /// The preconditions as the engine takes them.
    pub(crate) fn to_core(self) -> resumable_core::Preconditions {
        resumable_core::Preconditions {
            if_generation_match: self.if_generation_match,
            if_generation_not_match: self.if_generation_not_match,
            if_metageneration_match: self.if_metageneration_match,
            if_metageneration_not_match: self.if_metageneration_not_match,
        }
    }

    /// The options given, as typed, e.g. `--if-generation-match 0`.
    pub(crate) fn given(self) -> Vec<String> {
        [
            ("--if-generation-match", self.if_generation_match),
            ("--if-generation-not-match", self.if_generation_not_match),
            ("--if-metageneration-match", self.if_metageneration_match),
            (
                "--if-metageneration-not-match",
                self.if_metageneration_not_match,
            ),
        ]
        .into_iter()
        .filter_map(|(flag, value)| value.map(|v| format!("{flag} {v}")))
        .collect()
    }
}

/// A generation or metageneration: a whole number, 0 or more (GCS's are
/// non-negative int64s).
fn generation(text: &str) -> Result<i64, String> {
    text.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| format!("{text:?} is not a generation (a whole number, 0 or more)"))
}

/// Where the emulator keeps uploaded bytes.
#[cfg(feature = "emulator")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StorageKind {
    /// Files on disk (in --dir, or a temporary directory removed at exit).
    Disk,
    /// Memory.
    Memory,
    /// Only sizes and checksums, no data.
    Sink,
}

/// `resumable emulator`.
#[cfg(feature = "emulator")]
#[derive(Debug, Args)]
pub(crate) struct EmulatorArgs {
    /// The address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub(crate) addr: SocketAddr,
    /// Where uploaded bytes go.
    #[arg(long, value_enum, default_value_t = StorageKind::Disk)]
    pub(crate) storage: StorageKind,
    /// The directory for --storage disk [default: a temporary one].
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// Fault rules, e.g. "chunk#2 status=503; final#1 drop-response".
    #[arg(long, value_name = "SPEC")]
    pub(crate) faults: Option<String>,
    /// The API key the file API accepts (a test key, not a secret).
    #[arg(long, env = "RESUMABLE_EMULATOR_API_KEY",
          default_value = resumable_emulator::DEFAULT_API_KEY)]
    pub(crate) api_key: String,
    /// Seed of ids and fault probabilities [default: random, printed].
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// The largest file the file API accepts, e.g. 5GB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) max_file_size: Option<u64>,
    /// How long a session lives, in seconds [default: 7 days].
    #[arg(long, value_name = "SECONDS")]
    pub(crate) session_lifetime: Option<u64>,
    /// A bucket that exists from the start (repeatable); the first is the
    /// default, where the file API's sessions write [default:
    /// resumable-emulator-uploads]. Other buckets are created by the first
    /// initiate that names them.
    #[arg(long, value_name = "NAME")]
    pub(crate) bucket: Vec<String>,
}

/// `resumable demo`.
#[cfg(feature = "emulator")]
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// The sample file's size.
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    pub(crate) size: u64,
    /// The emulator's fault rules ("none" for none) [default: a 503, a reset
    /// mid-chunk, a 429 with Retry-After 1 and a lost final response].
    #[arg(long, value_name = "SPEC")]
    pub(crate) faults: Option<String>,
    /// Bytes per request [default: 1/32 of the file, 256 KiB to 8 MiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) chunk_size: Option<u64>,
    /// Keep the sample file and the emulator's storage, and print where they are.
    #[arg(long)]
    pub(crate) keep: bool,
}

/// `resumable completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

/// `resumable man`.
#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Write resumable.1 and a page for each command into this directory
    /// (which must exist) instead of resumable(1) to stdout.
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
}

/// Reads `Name: value` into a header.
fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not `Name: value`"))?;
    let name = HeaderName::try_from(name.trim())
        .map_err(|_| format!("{:?} is not a header name", name.trim()))?;
    let value = HeaderValue::try_from(value.trim())
        .map_err(|_| format!("the value of {name} cannot be sent in a header"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn retries_count_after_the_first_attempt() {
        let base = RetryPolicy::default();
        let args = |retries, retry_for| RetryArgs {
            retries,
            retry_for,
            connect_timeout: Duration::from_secs(30),
            stall_timeout: Duration::from_secs(60),
        };
        assert_eq!(args(None, None).policy(base), base);
        let policy = args(Some(0), Some(Duration::from_secs(90))).policy(base);
        assert_eq!(policy.max_attempts, 1);
        assert_eq!(policy.max_elapsed, Duration::from_secs(90));
        assert_eq!(policy.initial_delay, base.initial_delay);
        assert_eq!(
            args(Some(u32::MAX), None).policy(base).max_attempts,
            u32::MAX
        );
    }

    #[test]
    fn headers_are_name_colon_value() {
        let (n, v) = parse_header("X-Goog-Meta-Owner:  me ").unwrap();
        assert_eq!(
            (n.as_str(), v.to_str().unwrap()),
            ("x-goog-meta-owner", "me")
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: v").is_err());
    }
}
