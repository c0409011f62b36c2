//! `resumable completions` and `resumable man`: what the command line says
//! about itself, generated from the clap definition that parses it, so that
//! neither falls behind a new command or option.

use std::io::{self, Write as _};

use clap::CommandFactory as _;

use crate::args::{Cli, CompletionsArgs, ManArgs};
use crate::exit::{CliError, Exit};
use crate::output::Console;

/// Runs `resumable completions SHELL`: the shell's completion script on
/// stdout.
pub(crate) fn completions(args: &CompletionsArgs) -> Result<Exit, CliError> {
    let mut command = Cli::command();
    // The name the binary is installed under, which the shell completes.
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    to_stdout(&script, &format!("the {} completions", args.shell))
}

/// Runs `resumable man`: resumable(1) in roff on stdout, or with `--dir`
/// every command's page written into that directory.
pub(crate) fn man(args: &ManArgs, console: &Console) -> Result<Exit, CliError> {
    // `help` is clap's own; its page would say nothing `--help` does not.
    let command = Cli::command().disable_help_subcommand(true);
    if let Some(dir) = &args.dir {
        clap_mangen::generate_to(command, dir).map_err(|e| {
            CliError::Failed(format!(
                "cannot write the manual pages to {}: {e}",
                dir.display()
            ))
        })?;
        console.note(&format!("manual pages written to {}", dir.display()));
        return Ok(Exit::Done);
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .map_err(|e| CliError::Failed(format!("cannot render the manual page: {e}")))?;
    to_stdout(&page, "the manual page")
}

/// Writes the whole of `bytes` to stdout. A reader that stopped reading
/// (`| head`) ends the command quietly; any other failure (a full disk
/// behind `>`) fails it, since the file written is then cut short.
fn to_stdout(bytes: &[u8], what: &str) -> Result<Exit, CliError> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(Exit::Done),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Exit::Done),
        Err(e) => Err(CliError::Failed(format!("cannot write {what}: {e}"))),
    }
}
