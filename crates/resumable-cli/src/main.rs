//! `resumable`: reliable uploads of large files to an application's file API
//! (session, chunks, register) or to Cloud Storage resumable sessions, over
//! bad networks.
//!
//! Every upload is checkpointed as the server persists it, so an upload cut
//! off in any way (Ctrl-C, `kill -9`, a lost network, a reboot) resumes
//! where the server stopped when the same command runs again. The stored
//! object's CRC32C is checked before the file is registered.
//!
//! Commands: `upload`, `status`, `cancel`, `gcs upload`, `emulator`, `demo`
//! (`resumable --help`). Exit codes: 0 all done, 1 failed, 2 usage error,
//! 3 some files failed, 130 interrupted (checkpoints kept).

mod args;
mod checkpoints;
mod commands;
mod exit;
mod explain;
mod interrupt;
mod ledger;
mod output;
mod pool;
mod progress;
mod sizes;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::args::{Cli, Command, GcsCommand};
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
        Command::Emulator(args) => commands::emulator::run(args, &console),
        Command::Demo(args) => commands::demo::run(args, &console),
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
    let emulator = matches!(cli.command, Command::Emulator(_));
    let level = cli.global.verbose + u8::from(emulator);
    if cli.global.quiet || level == 0 {
        return;
    }
    let ours = "resumable_cli={l},resumable_blocking={l},resumable_core={l},resumable_emulator={l}";
    let directives = match level {
        1 => format!("warn,{}", ours.replace("{l}", "info")),
        2 => format!("info,{}", ours.replace("{l}", "debug")),
        // ureq's own trace lines print request paths, and a session URL's
        // path holds its credential.
        _ => "trace,ureq=debug,ureq_proto=debug".to_owned(),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(directives));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
