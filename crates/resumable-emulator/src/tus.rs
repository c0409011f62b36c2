//! The tus 1.0 server over hyper, under `/tus/files/`: discovery, creation
//! (with data), `HEAD`, `PATCH` streamed to storage, termination. Every
//! protocol decision (which request an upload takes, what the headers ask
//! for, how a `PATCH` ends, the answers' headers) is `resumable_sim::tus`'s,
//! the rules the in-memory `TusServer` applies; this file does the IO
//! around them and applies the scripted faults.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Request, StatusCode, header};
use hyper::body::Incoming;
use resumable_sim::tus::{self, Answer, Arrival, Hasher, PatchAsk, PatchEnd, Route};

use crate::faults::{RangeLie, SessionEffect};
use crate::inject;
use crate::log::RequestKind;
use crate::receive::{body_len, receive, stopped};
use crate::reply::{Body, Refusal, Reply, drain, error_response};
use crate::shared::{Call, Shared, TUS_PATH, TusSlot};
use crate::storage::{Appender, Digest, Keep};
use crate::tus_upload::{TusResource, TusState};

/// What a request under the tus endpoint is, from its method alone (fault
/// rules are matched on this).
fn classify(method: &Method, at_endpoint: bool) -> RequestKind {
    match *method {
        Method::OPTIONS => RequestKind::TusOptions,
        Method::POST if at_endpoint => RequestKind::TusCreate,
        Method::HEAD => RequestKind::TusHead,
        Method::PATCH => RequestKind::TusPatch,
        Method::DELETE => RequestKind::TusTerminate,
        _ => RequestKind::TusOther,
    }
}

/// A request to the tus endpoint (`id` `None`) or to the upload `id`.
pub(crate) async fn request(
    shared: Arc<Shared>,
    id: Option<&str>,
    req: Request<Incoming>,
) -> Reply {
    let (parts, body) = req.into_parts();
    let slot = id.and_then(|id| shared.tus_upload(id));
    let kind = classify(&parts.method, id.is_none());
    let mut call = shared.begin(&parts, kind, slot.as_ref().map(|s| s.number));
    let url = id.map_or_else(|| shared.tus_endpoint(), |id| shared.tus_url(id));
    let idle = shared.config.idle_timeout;
    let reply = match inject::before_body(&mut call, body, idle).await {
        Err(reply) => reply,
        Ok(body) => {
            serve(
                &shared,
                &mut call,
                &parts,
                body,
                &url,
                id.is_none(),
                slot.as_ref(),
            )
            .await
        }
    };
    if let Some(slot) = &slot {
        let mut upload = slot.upload.lock().await;
        upload.requests += 1;
        call.record.persisted = Some(upload.progress.offset);
        shared.update_tus_info(&upload);
    }
    let reply = tus_headers(inject::finish(&shared, &mut call, reply), &shared);
    shared.finish(call, &reply);
    reply
}

/// `Tus-Resumable` on every answer, scripted ones too, and `Tus-Version`
/// on a `412`, as the protocol asks.
fn tus_headers(mut reply: Reply, shared: &Shared) -> Reply {
    if let Reply::Respond(r) = &mut reply {
        let status = r.status().as_u16();
        let headers = r.headers_mut();
        if !headers.contains_key("tus-resumable") {
            headers.insert("tus-resumable", HeaderValue::from_static(tus::VERSION));
        }
        if status == 412
            && !headers.contains_key("tus-version")
            && let Ok(v) = HeaderValue::from_str(&shared.config.tus.versions.join(","))
        {
            headers.insert("tus-version", v);
        }
    }
    reply
}

/// The response of a rules' answer, with `message` as a plain-text body.
fn respond(answer: &Answer, message: Option<&str>) -> Reply {
    let mut builder = answer.builder();
    if message.is_some() {
        builder = builder.header(header::CONTENT_TYPE, "text/plain; charset=utf-8");
    }
    let body = Body::Full(message.map(|m| Bytes::from(format!("{m}\n"))));
    match builder.body(body) {
        Ok(r) => r.into(),
        // Only the rules' own well-formed headers go in: never happens.
        Err(e) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &format!("cannot build the answer: {e}"),
        )
        .into(),
    }
}

fn refuse(shared: &Shared, body: Incoming, refusal: &Refusal) -> Reply {
    drain(body, shared.config.idle_timeout);
    respond(
        &tus::refused(refusal, &shared.config.tus),
        Some(&refusal.message),
    )
}

fn storage_error(e: &std::io::Error) -> Reply {
    crate::gcs::storage_error(e)
}

/// A scripted lie about the offset: the answer's `Upload-Offset` says
/// what the `persisted=` fault names; what is stored stays true.
pub(crate) fn lie(call: &Call, mut answer: Answer) -> Answer {
    if let Some(RangeLie::Persisted(n)) = call.fault.as_ref().and_then(|f| f.range.as_ref()) {
        answer.replace("upload-offset", n.to_string());
    }
    answer
}

async fn serve(
    shared: &Shared,
    call: &mut Call,
    parts: &Parts,
    body: Incoming,
    url: &str,
    at_endpoint: bool,
    slot: Option<&TusSlot>,
) -> Reply {
    let options = &shared.config.tus;
    if tus::is_discovery(&parts.method) {
        drain(body, shared.config.idle_timeout);
        return respond(&tus::discovery(options), None);
    }
    if let Err(r) = tus::check_version(&parts.headers, &parts.method, options) {
        return refuse(shared, body, &r);
    }
    match tus::route(&parts.method, at_endpoint, url) {
        Ok(Route::Create) => create(shared, call, parts, body).await,
        Ok(Route::Patch) => match tus::read_patch(&parts.headers, options) {
            Err(r) => refuse(shared, body, &r),
            Ok(ask) => match live(slot, url, call).await {
                Err(r) => refuse(shared, body, &r),
                Ok(mut upload) => patch(shared, call, parts, body, &mut upload, &ask).await,
            },
        },
        Ok(Route::Head) => match live(slot, url, call).await {
            Err(r) => refuse(shared, body, &r),
            Ok(upload) => {
                drain(body, shared.config.idle_timeout);
                let answer = tus::head(upload.progress, &upload.metadata, upload.expires_at);
                respond(&lie(call, answer), None)
            }
        },
        Ok(Route::Terminate) => {
            if let Err(r) = tus::plan_terminate(options) {
                return refuse(shared, body, &r);
            }
            match live(slot, url, call).await {
                Err(r) => refuse(shared, body, &r),
                Ok(mut upload) => {
                    drain(body, shared.config.idle_timeout);
                    upload.part.discard().await;
                    upload.state = TusState::Terminated;
                    respond(&tus::terminated(), None)
                }
            }
        }
        Err(r) => refuse(shared, body, &r),
    }
}

/// The upload of `slot`, locked, when it can still be used: `404` for none
/// (or one a `kill` fault dropped), `410` for one expired or terminated.
/// An `expire` or `kill` fault strikes first.
async fn live<'a>(
    slot: Option<&'a TusSlot>,
    url: &str,
    call: &Call,
) -> Result<tokio::sync::MutexGuard<'a, TusResource>, Refusal> {
    let Some(slot) = slot else {
        return Err(tus::unknown(url));
    };
    let mut upload = slot.upload.lock().await;
    if upload.state == TusState::Live {
        match call.fault.as_ref().and_then(|f| f.session) {
            Some(SessionEffect::Expire) => upload.state = TusState::Expired,
            Some(SessionEffect::Kill) => upload.state = TusState::Killed,
            None => {}
        }
    }
    upload.check_expiry(SystemTime::now());
    match upload.state {
        TusState::Live => Ok(upload),
        TusState::Expired | TusState::Terminated => Err(tus::gone(url)),
        TusState::Killed => Err(tus::unknown(url)),
    }
}

/// `POST` to the endpoint: a new upload, with the bytes its body carries.
async fn create(shared: &Shared, call: &mut Call, parts: &Parts, mut body: Incoming) -> Reply {
    let options = &shared.config.tus;
    let idle = shared.config.idle_timeout;
    let creation = match tus::plan_create(&parts.headers, options) {
        Ok(c) => c,
        Err(r) => return refuse(shared, body, &r),
    };
    let len = match body_len(&parts.headers) {
        Ok(l) => l,
        Err(r) => return refuse(shared, body, &r),
    };
    if let Some(n) = len
        && let Err(r) = tus::creation_data(&creation, &parts.headers, options, n)
    {
        return refuse(shared, body, &r);
    }
    let (number, id) = shared.next_tus_upload();
    let mut part = shared.store.new_tus_part(number);
    // Bytes past the length, or past Tus-Max-Size when it is deferred,
    // are never stored.
    let limit = creation.length.or(options.max_size).unwrap_or(u64::MAX);
    let mut app = match Appender::open(&mut part, 0, &Digest::new(), limit).await {
        Ok(a) => a,
        Err(e) => {
            drain(body, idle);
            return storage_error(&e);
        }
    };
    let mut no_checksum: Option<Hasher> = None;
    let received = match receive(call, &mut body, &mut app, 0, len, &mut no_checksum, idle).await {
        Ok(r) => r,
        Err(e) => {
            drain(body, idle);
            part.discard().await;
            return storage_error(&e);
        }
    };
    let checked = match (received.arrival, len) {
        (Arrival::Whole, None) => {
            tus::creation_data(&creation, &parts.headers, options, received.bytes)
        }
        _ => Ok(()),
    };
    // A creation cut off, or refused at its end, creates nothing: its
    // client never learns the upload's URL.
    if received.arrival == Arrival::CutOff || checked.is_err() {
        let _ = app.close(&mut part, Keep::Nothing).await;
        part.discard().await;
        return match checked {
            Err(r) => refuse(shared, body, &r),
            Ok(()) => {
                drain(body, idle);
                stopped(call, &received)
            }
        };
    }
    let (offset, digest) = match app.close(&mut part, Keep::All).await {
        Ok(kept) => kept,
        Err(e) => {
            part.discard().await;
            return storage_error(&e);
        }
    };
    let url = shared.tus_url(&id);
    let expires_at = options.expiry(SystemTime::now());
    let location = match options.relative_location {
        true => format!("{TUS_PATH}{id}"),
        false => url.clone(),
    };
    let answer = tus::created(&location, offset, expires_at);
    shared.add_tus_upload(
        id,
        TusResource {
            number,
            url,
            progress: tus::Progress {
                offset,
                length: creation.length,
            },
            metadata: creation.metadata,
            expires_at,
            state: TusState::Live,
            digest,
            part,
            bytes_received: received.bytes,
            requests: 0,
        },
    );
    call.record.persisted = Some(offset);
    respond(&lie(call, answer), None)
}

/// A `PATCH` of a live upload: its body streamed to the upload's part.
async fn patch(
    shared: &Shared,
    call: &mut Call,
    parts: &Parts,
    mut body: Incoming,
    upload: &mut TusResource,
    ask: &PatchAsk,
) -> Reply {
    let idle = shared.config.idle_timeout;
    let options = &shared.config.tus;
    let len = match body_len(&parts.headers) {
        Ok(l) => l,
        Err(r) => return refuse(shared, body, &r),
    };
    let length = match tus::plan_patch(ask, upload.progress, len, options) {
        Ok(l) => l,
        Err(r) => return refuse(shared, body, &r),
    };
    let held = upload.progress.offset;
    let bound = length.or(options.max_size);
    let limit = bound.unwrap_or(u64::MAX);
    let mut app = match Appender::open(&mut upload.part, held, &upload.digest, limit).await {
        Ok(a) => a,
        Err(e) => {
            drain(body, idle);
            return storage_error(&e);
        }
    };
    let mut hasher = ask.checksum.as_ref().map(|c| c.algorithm.hasher());
    let received = match receive(call, &mut body, &mut app, held, len, &mut hasher, idle).await {
        Ok(r) => r,
        Err(e) => {
            drain(body, idle);
            // Whatever the failed write left is cut back when the part is next opened.
            return storage_error(&e);
        }
    };
    upload.bytes_received += received.bytes;
    let digest = hasher.map(Hasher::finish);
    let end = tus::patch_end(ask, held, bound, received.bytes, received.arrival, || {
        digest.unwrap_or_default()
    });
    let keep = match &end {
        PatchEnd::Keep(0) | PatchEnd::Mismatch | PatchEnd::Refuse(_) => Keep::Nothing,
        PatchEnd::Keep(_) => Keep::All,
    };
    match app.close(&mut upload.part, keep).await {
        Ok((offset, digest)) => {
            upload.progress.offset = offset;
            upload.digest = digest;
        }
        Err(e) => return storage_error(&e),
    }
    if received.arrival == Arrival::CutOff {
        // A length told with a body that cannot be verified is not kept either.
        if ask.checksum.is_none() {
            upload.progress.length = length;
        }
        drain(body, idle);
        return stopped(call, &received);
    }
    match end {
        PatchEnd::Mismatch => respond(
            &tus::mismatch(),
            Some("the body does not match its Upload-Checksum; nothing of it was kept"),
        ),
        PatchEnd::Refuse(r) => refuse(shared, body, &r),
        PatchEnd::Keep(_) => {
            upload.progress.length = length;
            let now = SystemTime::now();
            upload.expires_at = tus::expiry_after_patch(
                &shared.config.tus,
                upload.progress,
                upload.expires_at,
                now,
            );
            let answer = tus::patched(upload.progress, upload.expires_at);
            respond(&lie(call, answer), None)
        }
    }
}
