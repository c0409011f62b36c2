//! `resumable-emulator`: runs the emulator standalone and prints its base URL.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use resumable_emulator::{DEFAULT_API_KEY, Emulator, Storage};

/// A local file API, Cloud Storage resumable upload, tus 1.0 and IETF resumable upload draft server with scripted faults.
#[derive(Debug, Parser)]
#[command(name = "resumable-emulator", version, about)]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8787")]
    addr: SocketAddr,
    /// Where uploaded bytes go.
    #[arg(long, value_enum, default_value_t = StorageArg::Disk)]
    storage: StorageArg,
    /// Directory for --storage disk (default: a temporary directory, removed at exit).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Fault rules, e.g. "chunk#2 status=503; final#1 drop-response" (see the crate docs).
    #[arg(long)]
    faults: Option<String>,
    /// The X-API-Key the file API accepts.
    #[arg(long, env = "RESUMABLE_EMULATOR_API_KEY", default_value = DEFAULT_API_KEY)]
    api_key: String,
    /// Seed for ids and fault probabilities (default: random, printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Session lifetime in seconds (default: 7 days).
    #[arg(long, value_name = "SECONDS")]
    session_lifetime: Option<u64>,
    /// Largest file_size the file API accepts, in bytes (default: 5 GB).
    #[arg(long, value_name = "BYTES")]
    max_file_size: Option<u64>,
    /// A bucket that exists from the start; repeat it for more. The first is
    /// the default bucket, where the file API's sessions write [default:
    /// resumable-emulator-uploads]. Any other bucket is created by the first
    /// initiate that names it.
    #[arg(long, value_name = "NAME")]
    bucket: Vec<String>,
    /// The checksum algorithms the tus endpoint checks, comma-separated, of
    /// sha1, md5 and crc32 [default: all three]; empty: no checksum extension.
    #[arg(long, value_name = "LIST")]
    tus_checksums: Option<String>,
    /// Answer tus creations with a relative Location (/tus/files/ID).
    #[arg(long)]
    tus_relative_location: bool,
    /// Send an IETF draft progress 104 (Upload-Offset) each time this many
    /// more bytes of a body are stored.
    #[arg(long, value_name = "BYTES")]
    ietf_progress_every: Option<u64>,
    /// Announce Want-Content-Digest: sha-256=10 on the IETF draft endpoint.
    #[arg(long)]
    ietf_want_content_digest: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StorageArg {
    Disk,
    Memory,
    Sink,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let storage = match (args.storage, args.dir) {
        (StorageArg::Disk, Some(dir)) => Storage::Disk(dir),
        (StorageArg::Disk, None) => Storage::TempDir,
        (StorageArg::Memory, _) => Storage::Memory,
        (StorageArg::Sink, _) => Storage::Sink,
    };
    let mut builder = Emulator::builder()
        .addr(args.addr)
        .storage(storage)
        .api_key(args.api_key);
    if let Some(spec) = args.faults {
        builder = builder.faults(spec);
    }
    if let Some(seed) = args.seed {
        builder = builder.seed(seed);
    }
    if let Some(secs) = args.session_lifetime {
        builder = builder.session_lifetime(Duration::from_secs(secs));
    }
    if let Some(max) = args.max_file_size {
        builder = builder.max_file_size(max);
    }
    if let Some(list) = &args.tus_checksums {
        builder = builder.tus_checksum_algorithms(list.split(',').filter(|n| !n.is_empty()));
    }
    builder = builder.tus_relative_location(args.tus_relative_location);
    builder = builder
        .ietf_progress_every(args.ietf_progress_every)
        .ietf_want_content_digest(args.ietf_want_content_digest);
    let mut buckets = args.bucket.into_iter();
    if let Some(default) = buckets.next() {
        builder = builder.bucket(default);
    }
    for bucket in buckets {
        builder = builder.add_bucket(bucket);
    }
    let emu = match builder.start().await {
        Ok(emu) => emu,
        Err(e) => {
            eprintln!("resumable-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", emu.base_url());
    eprintln!(
        "resumable-emulator: listening on {} (default bucket {}, buckets {}, tus at {}, \
         IETF draft at {}, seed {}{})",
        emu.base_url(),
        emu.bucket(),
        emu.buckets().join(" "),
        emu.tus_endpoint(),
        emu.ietf_endpoint(),
        emu.seed(),
        emu.storage_dir()
            .map(|d| format!(", storage {}", d.display()))
            .unwrap_or_default()
    );
    for rule in emu.faults().rules() {
        eprintln!("resumable-emulator: fault rule: {rule}");
    }
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("resumable-emulator: cannot wait for Ctrl-C: {e}");
    }
    emu.shutdown().await;
    ExitCode::SUCCESS
}
