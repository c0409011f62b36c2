//! The control endpoints under `/_emulator/`: request log, faults, stats.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::faults::FaultPlan;
use crate::ietf_upload::IetfUploadInfo;
use crate::reply::{Reply, empty_response, error_response, json_response, read_small};
use crate::session::SessionInfo;
use crate::shared::Shared;
use crate::tus_upload::TusUploadInfo;

/// Counters and per-session figures, as `GET /_emulator/stats` returns them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// Sessions created (by `upload-url` or initiate).
    pub sessions_created: u64,
    /// `upload-url` requests received.
    pub upload_url_calls: u64,
    /// Register requests received.
    pub register_calls: u64,
    /// Files created by register (a repeated register of a `gcs_path` is not counted).
    pub registrations: u64,
    /// Objects stored.
    pub objects: u64,
    /// Request body bytes received over all logged requests.
    pub bytes_received: u64,
    /// Requests in the log.
    pub requests: u64,
    /// Answers whose body a `bloat=` fault padded.
    #[serde(default)]
    pub bloated_bodies: u64,
    /// Bytes of those bodies handed to the connection.
    #[serde(default)]
    pub bloated_bytes_sent: u64,
    /// Bloated bodies cut off before their end: the client closed the connection.
    #[serde(default)]
    pub bloated_cut_off: u64,
    /// Requests a `stall=` fault holds at this moment.
    #[serde(default)]
    pub held: u64,
    /// Every bucket, sorted (the default one, those given at start, and
    /// those created by an initiate).
    #[serde(default)]
    pub buckets: Vec<String>,
    /// Every session, in creation order.
    pub sessions: Vec<SessionInfo>,
    /// tus uploads created.
    #[serde(default)]
    pub tus_uploads_created: u64,
    /// Every tus upload, in creation order.
    #[serde(default)]
    pub tus_uploads: Vec<TusUploadInfo>,
    /// IETF draft uploads created.
    #[serde(default)]
    pub ietf_uploads_created: u64,
    /// Every IETF draft upload, in creation order.
    #[serde(default)]
    pub ietf_uploads: Vec<IetfUploadInfo>,
}

pub(crate) fn stats(shared: &Shared) -> Stats {
    let state = shared.state();
    Stats {
        sessions_created: state.sessions_created,
        upload_url_calls: state.upload_url_calls,
        register_calls: state.register_calls,
        registrations: state.registrations,
        objects: state.objects.len() as u64,
        bytes_received: state.bytes_received,
        requests: state.log.len() as u64,
        bloated_bodies: shared.bloat.bodies.load(Ordering::Relaxed),
        bloated_bytes_sent: shared.bloat.sent.load(Ordering::Relaxed),
        bloated_cut_off: shared.bloat.cut_off.load(Ordering::Relaxed),
        held: shared.held.load(Ordering::Relaxed),
        buckets: state.buckets.iter().cloned().collect(),
        sessions: state.session_info.values().cloned().collect(),
        tus_uploads_created: state.tus_created,
        tus_uploads: state.tus_info.values().cloned().collect(),
        ietf_uploads_created: state.ietf_created,
        ietf_uploads: state.ietf_info.values().cloned().collect(),
    }
}

fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// Answers a request under `/_emulator/` (`rest` is the path after it).
pub(crate) async fn handle(shared: Arc<Shared>, rest: &str, req: Request<Incoming>) -> Reply {
    let idle = shared.config.idle_timeout;
    let method = req.method().clone();
    let reply = match (&method, rest) {
        (&Method::GET, "health") => json_response(StatusCode::OK, &json!({"status": "ok"})),
        (&Method::GET, "requests") => {
            let mut log: Vec<_> = shared.state().log.iter().cloned().collect();
            log.sort_by_key(|r| r.seq);
            json_response(StatusCode::OK, &to_json(&log))
        }
        (&Method::DELETE, "requests") => {
            shared.state().log.clear();
            empty_response(StatusCode::NO_CONTENT)
        }
        (&Method::GET, "faults") => {
            let rules: Vec<String> = shared
                .state()
                .faults
                .plan()
                .rules()
                .map(str::to_owned)
                .collect();
            json_response(StatusCode::OK, &json!({ "rules": rules }))
        }
        (&Method::DELETE, "faults") => {
            shared.state().faults.clear();
            empty_response(StatusCode::NO_CONTENT)
        }
        (&Method::POST, "faults") => match read_small(req.into_body(), 1 << 20, idle).await {
            Err(_) => error_response(
                StatusCode::BAD_REQUEST,
                "invalid_argument",
                "the fault spec could not be read (at most 1 MiB)",
            ),
            Ok(bytes) => match std::str::from_utf8(&bytes).map(str::parse::<FaultPlan>) {
                Err(_) => error_response(
                    StatusCode::BAD_REQUEST,
                    "invalid_argument",
                    "the fault spec is not UTF-8",
                ),
                Ok(Err(e)) => error_response(
                    StatusCode::BAD_REQUEST,
                    "invalid_fault_spec",
                    &e.to_string(),
                ),
                Ok(Ok(plan)) => {
                    let added = plan.len();
                    let mut state = shared.state();
                    state.faults.add(plan);
                    let rules: Vec<String> =
                        state.faults.plan().rules().map(str::to_owned).collect();
                    json_response(StatusCode::OK, &json!({ "added": added, "rules": rules }))
                }
            },
        },
        (&Method::GET, "stats") => json_response(StatusCode::OK, &to_json(&stats(&shared))),
        (&Method::GET, "files") => {
            let files: Vec<_> = shared.state().files.values().cloned().collect();
            json_response(StatusCode::OK, &to_json(&files))
        }
        _ => error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("no control endpoint {method} /_emulator/{rest}"),
        ),
    };
    reply.into()
}
