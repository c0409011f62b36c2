//! `resumable gcs upload`: a file to a Cloud Storage resumable session, an
//! existing one or one initiated with a bearer token.

use std::sync::Arc;

use indicatif::HumanBytes;
use resumable_blocking::{UploadError, Uploader, guess_mime};
use resumable_core::{Config, Error, GcsInitiate, Outcome, RetryPolicy, Secret, SessionUrl};
use serde_json::json;

use crate::args::GcsUploadArgs;
use crate::checkpoints::{gcs_key, open_store, state_dir};
use crate::commands::upload::{SingleFile, announce_rounding, chunking, report_unfinished};
use crate::exit::{CliError, Exit};
use crate::explain::{Context, Left};
use crate::output::Console;
use crate::trust::transport;

/// The bearer token for an initiation: from the variable `--token-env`
/// names, or none against a loopback endpoint (a local emulator takes no
/// token). Anywhere else a token is required: a usage error says why.
fn bearer_token(var: Option<&str>, endpoint: &str) -> Result<Option<Secret>, CliError> {
    let Some(var) = var else {
        if is_loopback(endpoint) {
            return Ok(None);
        }
        return Err(CliError::Usage(format!(
            "--token-env is required: the endpoint {endpoint} is not loopback (127.0.0.0/8, \
             ::1, localhost), and Cloud Storage initiates a session only with a bearer token"
        )));
    };
    let token = std::env::var(var).unwrap_or_default();
    if token.trim().is_empty() {
        return Err(CliError::Usage(format!(
            "the environment variable {var} (--token-env) holds no bearer token"
        )));
    }
    Ok(Some(Secret::new(token.trim())))
}

/// Whether `endpoint`'s host is this machine: an address in 127.0.0.0/8,
/// `::1`, or `localhost`. A URL that does not parse is not.
fn is_loopback(endpoint: &str) -> bool {
    let Ok(uri) = endpoint.parse::<http::Uri>() else {
        return false;
    };
    let Some(host) = uri.host() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
    }
}

/// Runs `resumable gcs upload`.
pub(crate) fn run(args: GcsUploadArgs, console: &Arc<Console>) -> Result<Exit, CliError> {
    let name = args.file.display().to_string();
    announce_rounding(&args.transfer, console);
    let mut uploader = Uploader::with_transport(transport(&args.transfer)?)
        .chunking(chunking(&args.transfer)?)
        .retry(args.transfer.retry.policy(RetryPolicy::default()))
        .allow_insecure_http(args.transfer.allow_insecure_http);
    for (header, value) in args.headers {
        uploader = uploader.upload_header(header, value);
    }
    // Initiating with a bucket and object: the token, and a checkpoint to resume by.
    let initiate = match (&args.bucket, &args.object) {
        (Some(bucket), Some(object)) => {
            let token = bearer_token(args.token_env.as_deref(), &args.endpoint)?;
            let init = GcsInitiate {
                endpoint: args.endpoint.clone(),
                bucket: bucket.clone(),
                object: object.clone(),
                content_type: Some(args.mime.clone().unwrap_or_else(|| guess_mime(&args.file))),
                bearer_token: token,
                preconditions: args.preconditions.to_core(),
            };
            let key = gcs_key(&args.endpoint, bucket, object, &args.file);
            uploader = uploader.checkpoint_store(open_store(&state_dir(&args.state)?)?);
            let key_source = match &args.token_env {
                Some(var) => format!("the token in {var}"),
                None => format!("the loopback endpoint {}", args.endpoint),
            };
            Some((init, key, key_source))
        }
        _ => None,
    };
    let cx = Context {
        file: name.clone(),
        key_source: initiate
            .as_ref()
            .map(|(_, _, source)| source.clone())
            .unwrap_or_else(|| "the session URL".into()),
        restart: match &initiate {
            Some(_) => format!("`resumable cancel {name}` and this command again"),
            None => "a new session URL".into(),
        },
        preconditions: args.preconditions.given(),
        state_dir: state_dir(&args.state)
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        // A bare session URL is its own checkpoint: the server keeps its bytes.
        left: if initiate.is_some() {
            Left::Nothing
        } else {
            Left::Checkpoint
        },
    };
    let (mut file, mut uploader) = SingleFile::open(console, &name, &args.file, &cx, uploader)?;
    let key = initiate.as_ref().map(|(_, key, _)| key.clone());
    let result = match (args.session_url, initiate) {
        (Some(url), _) => uploader.upload_to_session(SessionUrl::new(url), &mut file.source),
        (None, Some((init, key, _))) => {
            if let Ok(Some(checkpoint)) = uploader.load_checkpoint(&key)
                && checkpoint.fingerprint == file.source.fingerprint()
            {
                file.file.announce(&checkpoint);
            }
            let result = uploader.run(
                Config::gcs_initiate(init, Some(file.size)),
                &mut file.source,
                Some(&key),
            );
            // The session keeps the failed condition: resuming it would fail
            // the same way even with other options, so it goes.
            if let Err(UploadError::Upload(Error::PreconditionFailed { .. })) = &result
                && let Err(error) = uploader.cancel(&key)
            {
                console.warn(&format!(
                    "could not delete the refused session ({error}); `resumable cancel {name}` \
                     drops it"
                ));
            }
            result
        }
        (None, None) => {
            return Err(CliError::Usage(
                "give --session-url, or --bucket and --object (and --token-env unless \
                 --endpoint is loopback)"
                    .into(),
            ));
        }
    };
    file.finish(result.is_ok());
    match result {
        Ok(outcome) => {
            console.emit(&result_json(&name, &outcome));
            let object = &outcome.object;
            console.print(&format!(
                "{name}: gs://{}/{} ({})",
                object.bucket.as_deref().unwrap_or("?"),
                object.name.as_deref().unwrap_or("?"),
                HumanBytes(object.size)
            ));
            Ok(Exit::Done)
        }
        Err(error) => report_unfinished(
            console,
            &name,
            error,
            cx,
            "the session keeps the bytes stored so far",
            || {
                key.as_ref()
                    .map(|key| Left::of(uploader.load_checkpoint(key).ok().flatten().as_ref()))
            },
        ),
    }
}

/// A finished raw upload as a JSON line.
fn result_json(name: &str, outcome: &Outcome) -> serde_json::Value {
    let object = &outcome.object;
    json!({
        "type": "result",
        "file": name,
        "status": "done",
        "bucket": object.bucket,
        "object": object.name,
        "size": object.size,
        "crc32c": outcome
            .crc32c
            .or(object.crc32c)
            .map(resumable_core::crc32c_base64),
        "generation": object.generation,
        "restarts": outcome.restarts,
    })
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_endpoints() {
        for yes in [
            "http://127.0.0.1:8787",
            "http://127.4.5.6",
            "http://[::1]:9000/",
            "http://localhost:1",
            "https://LOCALHOST.",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "https://storage.googleapis.com",
            "http://128.0.0.1",
            "http://[::2]",
            "http://localhost.example",
            "http://10.0.0.1",
            "not a url",
            "/relative",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }
}
