//! The application file API: `upload-url` sessions and file registration.

use std::sync::Arc;
use std::time::SystemTime;

use http::{Request, StatusCode};
use hyper::body::Incoming;
use serde_json::{Map, Value, json};

use crate::file_record::FileRecord;
use crate::inject;
use crate::log::RequestKind;
use crate::precondition::Preconditions;
use crate::reply::{Reply, SmallBody, error_response, json_response, read_small};
use crate::shared::{Call, Issued, Shared};
use crate::time::rfc3339;

/// The largest JSON body the file API reads.
const MAX_JSON_BODY: usize = 1 << 20;

type ApiError = (StatusCode, &'static str, String);

fn bad(message: impl Into<String>) -> ApiError {
    (StatusCode::BAD_REQUEST, "invalid_argument", message.into())
}

/// Faults, the API key and the JSON body: what both endpoints do first.
async fn prelude(
    shared: &Shared,
    call: &mut Call,
    req: Request<Incoming>,
) -> Result<Map<String, Value>, Reply> {
    let idle = shared.config.idle_timeout;
    let (parts, body) = req.into_parts();
    let body = inject::before_body(call, body, idle).await?;
    let key = parts.headers.get("x-api-key").map(|v| v.as_bytes());
    let refused = match key {
        None => Some("missing X-API-Key header"),
        Some(k) if k != shared.config.api_key.as_bytes() => Some("invalid API key"),
        Some(_) => None,
    };
    if let Some(message) = refused {
        crate::reply::drain(body, idle);
        return Err(error_response(StatusCode::UNAUTHORIZED, "unauthenticated", message).into());
    }
    let bytes = match read_small(body, MAX_JSON_BODY, idle).await {
        Ok(b) => b,
        Err(SmallBody::TooLarge) => {
            return Err(error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body is larger than 1 MiB",
            )
            .into());
        }
        Err(SmallBody::Broken) => {
            call.outcome = Some("cut-off");
            return Err(Reply::Reset);
        }
    };
    call.record.bytes_received = bytes.len() as u64;
    if let Some(reply) = inject::after_body(call).await {
        return Err(reply);
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(api_error(bad("request body must be a JSON object"))),
        Err(e) => Err(api_error(bad(format!(
            "request body is not valid JSON: {e}"
        )))),
    }
}

fn api_error((status, reason, message): ApiError) -> Reply {
    error_response(status, reason, &message).into()
}

fn string_field<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Err(bad(format!("missing field `{name}`"))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(bad(format!("`{name}` must be a string"))),
    }
}

fn filename_field(body: &Map<String, Value>) -> Result<String, ApiError> {
    let name = string_field(body, "filename")?;
    match name.chars().count() {
        0 => Err(bad("`filename` must not be empty")),
        n if n > 255 => Err(bad(format!(
            "`filename` is {n} characters long; at most 255 are allowed"
        ))),
        _ => Ok(name.to_owned()),
    }
}

fn size_field(body: &Map<String, Value>, max: u64) -> Result<u64, ApiError> {
    let size = match body.get("file_size") {
        None | Some(Value::Null) => return Err(bad("missing field `file_size`")),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                u
            } else if n.as_i64().is_some() || n.as_f64().is_some_and(|f| f <= 0.0) {
                0
            } else {
                return Err(bad("`file_size` must be a whole number of bytes"));
            }
        }
        Some(_) => return Err(bad("`file_size` must be a number")),
    };
    if size == 0 {
        return Err(bad("`file_size` must be greater than 0"));
    }
    if size > max {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            format!("`file_size` {size} is larger than the maximum of {max} bytes"),
        ));
    }
    Ok(size)
}

fn mime_field(body: &Map<String, Value>) -> Result<String, ApiError> {
    let mime = string_field(body, "mime_type")?;
    if mime.trim().is_empty() {
        return Err(bad("`mime_type` must not be empty"));
    }
    Ok(mime.to_owned())
}

/// `POST /v1/organizations/{org}/files/upload-url`.
pub(crate) async fn upload_url(shared: Arc<Shared>, org: String, req: Request<Incoming>) -> Reply {
    let (parts, body) = req.into_parts();
    let mut call = shared.begin(&parts, RequestKind::UploadUrl, None);
    shared.state().upload_url_calls += 1;
    let reply = match prelude(&shared, &mut call, Request::from_parts(parts, body)).await {
        Err(reply) => reply,
        Ok(body) => match new_upload(&shared, &org, &body) {
            Ok(v) => json_response(StatusCode::OK, &v).into(),
            Err(e) => api_error(e),
        },
    };
    let reply = inject::finish(&shared, &mut call, reply);
    shared.finish(call, &reply);
    reply
}

fn new_upload(shared: &Shared, org: &str, body: &Map<String, Value>) -> Result<Value, ApiError> {
    let filename = filename_field(body)?;
    let size = size_field(body, shared.config.max_file_size)?;
    let mime = mime_field(body)?;
    match body.get("upload_type") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t == "resumable" => {}
        Some(other) => {
            return Err(bad(format!(
                "unsupported `upload_type` {other}; only \"resumable\""
            )));
        }
    }
    let file_id = format!("file_{}", shared.state().random_id(12).to_lowercase());
    let gcs_path = format!("files/{org}/{file_id}/{filename}");
    let (upload_id, _) = shared.create_session(
        &shared.config.bucket,
        &gcs_path,
        &mime,
        Some(size),
        Preconditions::default(),
    );
    let expires_at = crate::shared::expiry(shared.config.session_lifetime);
    shared.state().issued.insert(
        gcs_path.clone(),
        Issued {
            org: org.to_owned(),
            file_id: file_id.clone(),
        },
    );
    Ok(json!({
        "upload_url": shared.session_url(&shared.config.bucket, &gcs_path, &upload_id),
        "gcs_path": gcs_path,
        "file_id": file_id,
        "expires_at": rfc3339(expires_at),
        "max_file_size": shared.config.max_file_size,
        "upload_type": "resumable",
        "chunk_size_recommended": shared.config.chunk_size_recommended,
    }))
}

/// `POST /v1/organizations/{org}/files`.
pub(crate) async fn register(shared: Arc<Shared>, org: String, req: Request<Incoming>) -> Reply {
    let (parts, body) = req.into_parts();
    let mut call = shared.begin(&parts, RequestKind::Register, None);
    shared.state().register_calls += 1;
    let reply = match prelude(&shared, &mut call, Request::from_parts(parts, body)).await {
        Err(reply) => reply,
        Ok(body) => match register_file(&shared, &org, &body) {
            Ok((status, file)) => {
                let v = serde_json::to_value(&file).unwrap_or(Value::Null);
                json_response(status, &v).into()
            }
            Err(e) => api_error(e),
        },
    };
    let reply = inject::finish(&shared, &mut call, reply);
    shared.finish(call, &reply);
    reply
}

fn register_file(
    shared: &Shared,
    org: &str,
    body: &Map<String, Value>,
) -> Result<(StatusCode, FileRecord), ApiError> {
    let filename = filename_field(body)?;
    let gcs_path = string_field(body, "gcs_path")?;
    if gcs_path.is_empty() {
        return Err(bad("`gcs_path` must not be empty"));
    }
    let size = size_field(body, shared.config.max_file_size)?;
    let mime = mime_field(body)?;
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no uploaded object at gcs_path {gcs_path:?}"),
        )
    };
    let issued = shared.state().issued.get(gcs_path).cloned();
    if issued.as_ref().is_some_and(|i| i.org != org) {
        return Err(not_found());
    }
    let object = shared
        .object(&shared.config.bucket, gcs_path)
        .ok_or_else(not_found)?;
    let info = &object.info;
    if info.size != size {
        return Err((
            StatusCode::CONFLICT,
            "size_mismatch",
            format!(
                "`file_size` is {size} but the uploaded object has {} bytes",
                info.size
            ),
        ));
    }
    if info.content_type != mime {
        return Err((
            StatusCode::CONFLICT,
            "mime_type_mismatch",
            format!(
                "`mime_type` is {mime:?} but the uploaded object is {:?}",
                info.content_type
            ),
        ));
    }
    let mut state = shared.state();
    if let Some(existing) = state.files.get(gcs_path) {
        return Ok((StatusCode::OK, existing.clone()));
    }
    let id = match issued {
        Some(i) => i.file_id,
        None => format!("file_{}", state.random_id(12).to_lowercase()),
    };
    let file = FileRecord {
        id,
        filename,
        gcs_path: gcs_path.to_owned(),
        file_size: size,
        mime_type: mime,
        organization_id: org.to_owned(),
        created_at: rfc3339(SystemTime::now()),
        crc32c: info.crc32c_base64(),
        md5_hash: info.md5_base64(),
    };
    state.files.insert(gcs_path.to_owned(), file.clone());
    state.registrations += 1;
    Ok((StatusCode::CREATED, file))
}
