//! `resumable http upload`: a file to a resource that takes Resumable
//! Uploads for HTTP (the IETF draft), created at its endpoint and resumed
//! from its checkpoint by running the command again.

use std::sync::Arc;

use resumable_blocking::guess_mime;
use resumable_core::{Checkpoint, Config, IetfCreate, IetfStrategy, InteropVersion, Protocol};
use serde_json::{Map, json};

use crate::args::HttpUploadArgs;
use crate::checkpoints::HTTP_KEY;
use crate::commands::endpoint_upload::{self, EndpointUpload, Plan};
use crate::exit::{CliError, Exit};
use crate::output::Console;

/// Runs `resumable http upload`.
pub(crate) fn run(args: HttpUploadArgs, console: &Arc<Console>) -> Result<Exit, CliError> {
    let name = args.file.display().to_string();
    let asked = args.interop.to_core();
    let create = IetfCreate {
        content_type: Some(args.mime.unwrap_or_else(|| guess_mime(&args.file))),
        strategy: if args.optimistic {
            IetfStrategy::Optimistic
        } else {
            IetfStrategy::Careful
        },
        interop: asked,
        ..IetfCreate::new(args.endpoint.clone())
    };
    let upload = EndpointUpload {
        file: &args.file,
        endpoint: &args.endpoint,
        key_word: HTTP_KEY,
        server: format!("the server at {}", args.endpoint),
    };
    endpoint_upload::run(upload, args.endpoint_args, console, |resumed| {
        // The upload resource speaks the version it was created in: a
        // resumed upload keeps it whatever --interop says now.
        let interop = created_in(resumed).unwrap_or(asked);
        if interop != asked {
            console.note(&format!(
                "{name}: resuming in interop version {}, the one its upload was created in",
                interop.number()
            ));
        }
        let mut fields = Map::new();
        fields.insert("interop".into(), json!(interop.number()));
        Plan {
            config: Config::ietf_create(IetfCreate { interop, ..create }, None),
            fields,
        }
    })
}

/// The interop version a checkpoint's upload was created in.
fn created_in(checkpoint: Option<&Checkpoint>) -> Option<InteropVersion> {
    match checkpoint?.protocol {
        Protocol::Ietf { interop } => Some(interop),
        _ => None,
    }
}
