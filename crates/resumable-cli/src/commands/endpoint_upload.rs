//! One file uploaded with a protocol that creates its upload at an
//! endpoint (`tus upload`, `http upload`): checkpointed under a key of the
//! endpoint and the file, resumed by running the command again, listed by
//! `status` and dropped by `cancel` like every other upload.

use std::path::Path;
use std::sync::Arc;

use indicatif::HumanBytes;
use resumable_blocking::Uploader;
use resumable_core::{Checkpoint, Config, Outcome, RetryPolicy};
use serde_json::{Map, Value, json};

use crate::args::EndpointArgs;
use crate::checkpoints::{endpoint_key, open_store, state_dir};
use crate::commands::upload::{SingleFile, chunking, report_unfinished};
use crate::exit::{CliError, Exit};
use crate::explain::{Context, Left};
use crate::output::Console;
use crate::trust::transport;

/// What the server keeps of an interrupted upload, said when Ctrl-C stops
/// it: every protocol here keeps what it stored.
const KEEPS: &str = "the server keeps the bytes stored so far";

/// What differs between the protocols' upload commands.
pub(crate) struct EndpointUpload<'a> {
    /// The file to upload.
    pub(crate) file: &'a Path,
    /// The endpoint its upload is created at.
    pub(crate) endpoint: &'a str,
    /// The first part of its checkpoint key (`checkpoints::TUS_KEY`, …).
    pub(crate) key_word: &'static str,
    /// The server as messages name it, e.g. `the tus server at URL`.
    pub(crate) server: String,
}

/// The upload a protocol's command asks for, once it knows what it
/// resumes.
pub(crate) struct Plan {
    /// The upload, its size left for [`run`] to fill in.
    pub(crate) config: Config,
    /// The protocol's own fields of the `--json` result.
    pub(crate) fields: Map<String, Value>,
}

/// Uploads `upload.file`, resuming it from its checkpoint. `plan` is told
/// the checkpoint the upload resumes from (`None`: it starts anew) before
/// anything is sent, and says how to upload.
pub(crate) fn run(
    upload: EndpointUpload<'_>,
    args: EndpointArgs,
    console: &Arc<Console>,
    plan: impl FnOnce(Option<&Checkpoint>) -> Plan,
) -> Result<Exit, CliError> {
    let name = upload.file.display().to_string();
    let state = state_dir(&args.state)?;
    let mut uploader = Uploader::with_transport(transport(&args.transfer)?)
        .chunking(chunking(&args.transfer)?)
        .retry(args.transfer.retry.policy(RetryPolicy::default()))
        .allow_insecure_http(args.transfer.allow_insecure_http)
        .checkpoint_store(open_store(&state)?);
    for (header, value) in args.headers {
        uploader = uploader.upload_header(header, value);
    }
    let key = endpoint_key(upload.key_word, upload.endpoint, upload.file);
    let cx = Context {
        file: name.clone(),
        key_source: upload.server,
        restart: format!("`resumable cancel {name}` and this command again"),
        preconditions: Vec::new(),
        state_dir: state.display().to_string(),
        left: Left::Nothing,
    };
    let (mut file, mut uploader) = SingleFile::open(console, &name, upload.file, &cx, uploader)?;
    let resumed = uploader
        .load_checkpoint(&key)
        .ok()
        .flatten()
        .filter(|checkpoint| checkpoint.fingerprint == file.source.fingerprint());
    if let Some(checkpoint) = &resumed {
        file.file.announce(checkpoint);
    }
    let Plan { mut config, fields } = plan(resumed.as_ref());
    config.total = Some(file.size);
    let result = uploader.run(config, &mut file.source, Some(&key));
    file.finish(result.is_ok());
    match result {
        Ok(outcome) => {
            console.emit(&result_json(&name, upload.endpoint, &outcome, fields));
            console.print(&format!(
                "{name}: stored at {} ({})",
                upload.endpoint,
                HumanBytes(outcome.object.size)
            ));
            Ok(Exit::Done)
        }
        Err(error) => report_unfinished(console, &name, error, cx, KEEPS, || {
            Some(Left::of(
                uploader.load_checkpoint(&key).ok().flatten().as_ref(),
            ))
        }),
    }
}

/// A finished upload as a JSON line, with the protocol's `fields`. The
/// CRC32C (and, for the draft, the SHA-256 its `Repr-Digest` carried, in
/// hex as `sha256sum` prints it) are the ones computed of the file; a
/// draft server's own `Repr-Digest`, when it sent one, was found equal.
fn result_json(name: &str, endpoint: &str, outcome: &Outcome, fields: Map<String, Value>) -> Value {
    let mut line = json!({
        "type": "result",
        "file": name,
        "status": "done",
        "endpoint": endpoint,
        "size": outcome.object.size,
        "crc32c": outcome.crc32c.map(resumable_core::crc32c_base64),
        "restarts": outcome.restarts,
    });
    if let (Some(sha256), Some(line)) = (outcome.sha256, line.as_object_mut()) {
        let hex: String = sha256.iter().map(|b| format!("{b:02x}")).collect();
        line.insert("sha256".to_owned(), Value::String(hex));
    }
    if let Some(line) = line.as_object_mut() {
        line.extend(fields);
    }
    line
}
