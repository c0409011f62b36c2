//! `resumable tus upload`: a file to a tus 1.0 server, created at its
//! endpoint and resumed from its checkpoint by running the command again.

use std::sync::Arc;

use resumable_blocking::guess_mime;
use resumable_core::{Config, TusCreate};
use serde_json::Map;

use crate::args::TusUploadArgs;
use crate::checkpoints::TUS_KEY;
use crate::commands::endpoint_upload::{self, EndpointUpload, Plan};
use crate::exit::{CliError, Exit};
use crate::output::Console;

/// Runs `resumable tus upload`.
pub(crate) fn run(args: TusUploadArgs, console: &Arc<Console>) -> Result<Exit, CliError> {
    let create = TusCreate {
        filename: args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        filetype: Some(args.mime.unwrap_or_else(|| guess_mime(&args.file))),
        metadata: args.metadata,
        ..TusCreate::new(args.endpoint.clone())
    };
    let upload = EndpointUpload {
        file: &args.file,
        endpoint: &args.endpoint,
        key_word: TUS_KEY,
        server: format!("the tus server at {}", args.endpoint),
    };
    endpoint_upload::run(upload, args.endpoint_args, console, |_| Plan {
        config: Config::tus_create(create, None),
        fields: Map::new(),
    })
}
