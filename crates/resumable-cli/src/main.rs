//! `resumable`: reliable uploads of large files to an application's file API
//! (session, chunks, register), to Cloud Storage resumable sessions, to tus
//! 1.0 servers or with Resumable Uploads for HTTP (the IETF draft), over bad
//! networks.
//!
//! Every upload is checkpointed as the server persists it, so an upload cut
//! off in any way (Ctrl-C, `kill -9`, a lost network, a reboot) resumes
//! where the server stopped when the same command runs again. The stored
//! object's CRC32C is checked before the file is registered.
//!
//! Commands: `upload`, `status`, `cancel`, `gcs upload`, `tus upload`,
//! `http upload`, `emulator` and `demo` (the default `emulator` feature),
//! `completions`, `man` (`resumable --help`). Exit codes: 0 all done, 1 failed, 2 usage error,
//! 3 some files failed, 75 another process is uploading a file (left alone),
//! 130 interrupted (checkpoints kept).

mod args;
mod checkpoints;
mod commands;
mod durations;
mod exit;
mod explain;
mod interrupt;
mod kind;
mod ledger;
mod output;
mod pool;
mod progress;
mod sizes;
mod sources;
mod trust;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::args::{Cli, Command, GcsCommand, HttpCommand, TusCommand};
use crate::output::Console;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli);
    let console = Arc::new(Console::new(&cli.global));
    let result = match cli.command {
        Command::Upload(args) => commands::upload::run(args, &console),
        Command::Status(args) => commands::status::run(&args, &console),
        Command::Cancel(args) => commands::cancel::run(&args, &console),
        Command::Gcs(GcsCommand::Upload(args)) => commands::gcs::run(args, &console),
        Command::Tus(TusCommand::Upload(args)) => commands::tus::run(args, &console),
        Command::Http(HttpCommand::Upload(args)) => commands::http::run(args, &console),
        #[cfg(feature = "emulator")]
        Command::Emulator(args) => commands::emulator::run(args, &console),
        #[cfg(feature = "emulator")]
        Command::Demo(args) => commands::demo::run(args, &console),
        Command::Completions(args) => commands::generate::completions(&args),
        Command::Man(args) => commands::generate::man(&args, &console),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(error) => {
            console.error(&error.to_string());
            error.exit().into()
        }
    }
}

/// Tracing on stderr: `-v` shows the upload's steps, `-vv` every request,
/// `-vvv` everything; `RUST_LOG` overrides. The emulator command shows its
/// own notes without `-v`.
fn init_tracing(cli: &Cli) {
    #[cfg(feature = "emulator")]
    let emulator = matches!(cli.command, Command::Emulator(_));
    #[cfg(not(feature = "emulator"))]
    let emulator = false;
    let level = cli.global.verbose + u8::from(emulator);
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::filter::{LevelFilter, filter_fn};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let ours = "resumable_cli={l},resumable_blocking={l},resumable_local={l},resumable_core={l},\
                resumable_emulator={l}";
    let filter = match (EnvFilter::try_from_default_env(), level) {
        _ if cli.global.quiet => return,
        (Ok(from_env), _) => from_env,
        (Err(_), 0) => return,
        (Err(_), 1) => EnvFilter::new(format!("warn,{}", ours.replace("{l}", "info"))),
        (Err(_), 2) => EnvFilter::new(format!("info,{}", ours.replace("{l}", "debug"))),
        (Err(_), _) => EnvFilter::new("trace"),
    };
    // ureq's TRACE lines print request paths (a session URL's path holds its
    // credential) and raw request bytes (the API key): never shown, whatever
    // RUST_LOG says. Below TRACE, ureq hides both. A global filter, so that
    // ureq's own `log_enabled!(Trace)` checks see it too.
    let no_ureq_trace = filter_fn(|meta| {
        !(LevelFilter::TRACE == *meta.level() && meta.target().starts_with("ureq"))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .finish()
        .with(no_ureq_trace)
        .try_init();
}
