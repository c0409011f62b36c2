//! `resumable tus upload`: a file to a tus 1.0 server, created at its
//! endpoint and resumed from its checkpoint by running the command again.

use std::sync::Arc;

use indicatif::HumanBytes;
use resumable_blocking::{Uploader, guess_mime};
use resumable_core::{Config, Outcome, RetryPolicy, TusCreate};
use serde_json::json;

use crate::args::TusUploadArgs;
use crate::checkpoints::{open_store, state_dir, tus_key};
use crate::commands::upload::{SingleFile, chunking, report_unfinished};
use crate::exit::{CliError, Exit};
use crate::explain::{Context, Left};
use crate::output::Console;
use crate::trust::transport;

/// Runs `resumable tus upload`.
pub(crate) fn run(args: TusUploadArgs, console: &Arc<Console>) -> Result<Exit, CliError> {
    let name = args.file.display().to_string();
    let state = state_dir(&args.state)?;
    let mut uploader = Uploader::with_transport(transport(&args.transfer)?)
        .chunking(chunking(&args.transfer)?)
        .retry(args.transfer.retry.policy(RetryPolicy::default()))
        .allow_insecure_http(args.transfer.allow_insecure_http)
        .checkpoint_store(open_store(&state)?);
    for (header, value) in args.headers {
        uploader = uploader.upload_header(header, value);
    }
    let key = tus_key(&args.endpoint, &args.file);
    let cx = Context {
        file: name.clone(),
        key_source: format!("the tus server at {}", args.endpoint),
        restart: format!("`resumable cancel {name}` and this command again"),
        preconditions: Vec::new(),
        state_dir: state.display().to_string(),
        left: Left::Nothing,
    };
    let (mut file, mut uploader) = SingleFile::open(console, &name, &args.file, &cx, uploader)?;
    let create = TusCreate {
        filename: args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        filetype: Some(args.mime.unwrap_or_else(|| guess_mime(&args.file))),
        metadata: args.metadata,
        ..TusCreate::new(args.endpoint.clone())
    };
    if let Ok(Some(checkpoint)) = uploader.load_checkpoint(&key)
        && checkpoint.fingerprint == file.source.fingerprint()
    {
        file.file.announce(&checkpoint);
    }
    let result = uploader.run(
        Config::tus_create(create, Some(file.size)),
        &mut file.source,
        Some(&key),
    );
    file.finish(result.is_ok());
    match result {
        Ok(outcome) => {
            console.emit(&result_json(&name, &args.endpoint, &outcome));
            console.print(&format!(
                "{name}: stored at {} ({})",
                args.endpoint,
                HumanBytes(outcome.object.size)
            ));
            Ok(Exit::Done)
        }
        Err(error) => report_unfinished(
            console,
            &name,
            error,
            cx,
            "the server keeps the bytes stored so far",
            || {
                Some(Left::of(
                    uploader.load_checkpoint(&key).ok().flatten().as_ref(),
                ))
            },
        ),
    }
}

/// A finished tus upload as a JSON line. tus reports no digest of the
/// whole upload: the CRC32C is the one this process computed of the file.
fn result_json(name: &str, endpoint: &str, outcome: &Outcome) -> serde_json::Value {
    json!({
        "type": "result",
        "file": name,
        "status": "done",
        "endpoint": endpoint,
        "size": outcome.object.size,
        "crc32c": outcome.crc32c.map(resumable_core::crc32c_base64),
        "restarts": outcome.restarts,
    })
}
