//! The "Resumable Uploads for HTTP" draft over hyper, under `/ietf/files/`:
//! careful and optimistic creation (with a real `104 (Upload Resumption
//! Supported)` before the body is read, and progress `104`s while it
//! streams), offset retrieval, appends streamed to storage, cancellation.
//! Every protocol decision is `resumable_sim::ietf`'s, the rules the
//! in-memory `IetfServer` applies; this file does the IO around them and
//! applies the scripted faults.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;
use http::{Method, Request, StatusCode, Version};
use hyper::body::Incoming;
use resumable_sim::Arrival;
use resumable_sim::ietf::{self, BodyEnd, Interop, Progress, Rejection, Route, Sha256, Told};
use resumable_sim::tus::Answer;

use crate::faults::SessionEffect;
use crate::ietf_upload::{IetfResource, IetfState};
use crate::inject;
use crate::log::RequestKind;
use crate::receive::{Sink, body_len, receive, stopped};
use crate::reply::{Body, Reply, drain, error_response};
use crate::server::Interim;
use crate::shared::{Call, IetfSlot, Shared};
use crate::storage::{Appender, Keep};
use crate::tus::lie;

/// What a request under the draft's endpoint is, from its method alone
/// (fault rules are matched on this).
fn classify(method: &Method, at_endpoint: bool) -> RequestKind {
    match (method, at_endpoint) {
        (&Method::OPTIONS, _) => RequestKind::IetfOptions,
        (&Method::POST | &Method::PUT | &Method::PATCH, true) => RequestKind::IetfCreate,
        (&Method::HEAD | &Method::GET, false) => RequestKind::IetfHead,
        (&Method::PATCH, false) => RequestKind::IetfAppend,
        (&Method::DELETE, false) => RequestKind::IetfCancel,
        _ => RequestKind::IetfOther,
    }
}

/// A request to the creation resource (`id` `None`) or to the upload `id`.
pub(crate) async fn request(
    shared: Arc<Shared>,
    id: Option<&str>,
    req: Request<Incoming>,
) -> Reply {
    let (parts, body) = req.into_parts();
    let slot = id.and_then(|id| shared.ietf_upload(id));
    let kind = classify(&parts.method, id.is_none());
    let mut call = shared.begin(&parts, kind, slot.as_ref().map(|s| s.number));
    let url = id.map_or_else(|| shared.ietf_endpoint(), |id| shared.ietf_url(id));
    // RFC 9110 §15.2: no 1xx to an HTTP/1.0 client.
    let interim = parts
        .extensions
        .get::<Interim>()
        .filter(|_| parts.version == Version::HTTP_11)
        .cloned();
    let idle = shared.config.idle_timeout;
    let mut ctx = Ctx {
        shared: &shared,
        call: &mut call,
        parts: &parts,
        url: &url,
        interim,
    };
    let reply = match inject::before_body(ctx.call, body, idle).await {
        Err(reply) => reply,
        Ok(body) => serve(&mut ctx, body, id.is_none(), slot.as_ref()).await,
    };
    if let Some(slot) = &slot {
        let mut upload = slot.upload.lock().await;
        upload.requests += 1;
        call.record.persisted = Some(upload.progress.offset);
        shared.update_ietf_info(&upload);
    }
    let reply = interop_header(inject::finish(&shared, &mut call, reply), &parts, &shared);
    shared.finish(call, &reply);
    reply
}

/// The request's interop version on every answer, scripted ones too, when
/// it names one the server speaks.
fn interop_header(mut reply: Reply, parts: &Parts, shared: &Shared) -> Reply {
    if let (Reply::Respond(r), Ok(v)) = (
        &mut reply,
        ietf::check_interop(&parts.headers, &shared.config.ietf),
    ) && !r.headers().contains_key(ietf::INTEROP_HEADER)
    {
        r.headers_mut()
            .insert(ietf::INTEROP_HEADER, http::HeaderValue::from(v.number()));
    }
    reply
}

/// One request in service.
struct Ctx<'a> {
    shared: &'a Shared,
    call: &'a mut Call,
    parts: &'a Parts,
    url: &'a str,
    /// Where `104`s go; `None` for an HTTP/1.0 client.
    interim: Option<Interim>,
}

impl Ctx<'_> {
    fn options(&self) -> &ietf::IetfOptions {
        &self.shared.config.ietf
    }

    /// Writes an interim head.
    async fn send(&self, head: &Answer) {
        send(self.interim.as_ref(), head).await;
    }

    fn refuse(&self, body: Incoming, r: &Rejection, interop: Option<Interop>) -> Reply {
        drain(body, self.shared.config.idle_timeout);
        respond(&r.answer(interop), Some(r.body()))
    }

    fn told<'b>(
        &self,
        upload: &'b IetfResource,
        limit: Option<&'b str>,
        repr: Option<[u8; 32]>,
    ) -> Told<'b> {
        Told {
            progress: upload.progress,
            limit,
            repr_digest: repr,
            want_content_digest: self.options().want_content_digest,
        }
    }

    fn limit(&self, upload: &IetfResource, interop: Interop) -> Option<String> {
        ietf::limit_field(
            &self.options().limits,
            interop,
            ietf::max_age(upload.expires_at, SystemTime::now()),
        )
    }
}

/// The response of an answer, with `body` (a problem document) if any.
fn respond(answer: &Answer, body: Option<String>) -> Reply {
    match answer.builder().body(Body::Full(body.map(Bytes::from))) {
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

async fn serve(
    ctx: &mut Ctx<'_>,
    body: Incoming,
    at_endpoint: bool,
    slot: Option<&IetfSlot>,
) -> Reply {
    let headers = &ctx.parts.headers;
    let route = match ietf::route(&ctx.parts.method, at_endpoint, ctx.url) {
        Ok(r) => r,
        Err(r) => return ctx.refuse(body, &r, None),
    };
    if route == Route::Options && !headers.contains_key(ietf::INTEROP_HEADER) {
        drain(body, ctx.shared.config.idle_timeout);
        return respond(&options_answer(ctx, None), None);
    }
    let interop = match ietf::check_interop(headers, ctx.options()) {
        Ok(v) => v,
        Err(r) => return ctx.refuse(body, &r, None),
    };
    let checked = match route {
        Route::Head => ietf::check_head(headers, interop),
        Route::Cancel => ietf::check_cancel(headers, interop),
        _ => Ok(()),
    };
    if let Err(r) = checked {
        return ctx.refuse(body, &r, Some(interop));
    }
    match route {
        Route::Options => {
            drain(body, ctx.shared.config.idle_timeout);
            respond(&options_answer(ctx, Some(interop)), None)
        }
        Route::Create => create(ctx, body, interop).await,
        Route::Head => match live(slot, ctx, interop).await {
            Err(r) => ctx.refuse(body, &r, Some(interop)),
            Ok(upload) => {
                drain(body, ctx.shared.config.idle_timeout);
                let limit = ctx.limit(&upload, interop);
                // What it stored, for the client to compare (§10.1), also
                // when the answer completing the upload was lost.
                let repr = upload
                    .progress
                    .complete
                    .then(|| upload.repr.clone().finish());
                let told = ctx.told(&upload, limit.as_deref(), repr);
                let answer = ietf::head_answer(&told, interop);
                respond(&lie(ctx.call, answer), None)
            }
        },
        Route::Append => match ietf::read_append(headers) {
            Err(r) => ctx.refuse(body, &r, Some(interop)),
            Ok(ask) => match live(slot, ctx, interop).await {
                Err(r) => ctx.refuse(body, &r, Some(interop)),
                Ok(mut upload) => append(ctx, body, &mut upload, &ask, interop).await,
            },
        },
        Route::Cancel => match live(slot, ctx, interop).await {
            Err(r) => ctx.refuse(body, &r, Some(interop)),
            Ok(mut upload) => {
                drain(body, ctx.shared.config.idle_timeout);
                upload.part.discard().await;
                upload.state = IetfState::Cancelled;
                respond(&ietf::cancelled(interop), None)
            }
        },
    }
}

fn options_answer(ctx: &Ctx<'_>, interop: Option<Interop>) -> Answer {
    let limit = ietf::limit_field(
        &ctx.options().limits,
        interop.unwrap_or(Interop::LATEST),
        None,
    )
    .unwrap_or_default();
    ietf::options(&limit, interop, ctx.options())
}

/// The upload of `slot`, locked, when it can still be used: `404` for none
/// (or one a `kill` fault dropped), `410` (`404` in version 6) for one
/// expired or cancelled. An `expire` or `kill` fault strikes first.
async fn live<'a>(
    slot: Option<&'a IetfSlot>,
    ctx: &Ctx<'_>,
    interop: Interop,
) -> Result<tokio::sync::MutexGuard<'a, IetfResource>, Rejection> {
    let Some(slot) = slot else {
        return Err(ietf::unknown(ctx.url));
    };
    let mut upload = slot.upload.lock().await;
    if upload.state == IetfState::Live {
        match ctx.call.fault.as_ref().and_then(|f| f.session) {
            Some(SessionEffect::Expire) => upload.state = IetfState::Expired,
            Some(SessionEffect::Kill) => upload.state = IetfState::Killed,
            None => {}
        }
    }
    upload.check_expiry(SystemTime::now());
    match upload.state {
        IetfState::Live => Ok(upload),
        IetfState::Expired | IetfState::Cancelled => Err(ietf::gone(ctx.url, interop)),
        IetfState::Killed => Err(ietf::unknown(ctx.url)),
    }
}

/// Writes an interim head on `interim`'s connection; one already gone
/// fails the body's read next, which says all.
async fn send(interim: Option<&Interim>, head: &Answer) {
    if let Some(i) = interim {
        let _ = i
            .send(head.status, "Upload Resumption Supported", &head.headers)
            .await;
    }
}

/// What the draft mode does with a body's bytes besides storing them: the
/// request's `Content-Digest`, the upload's running `Repr-Digest`, and a
/// progress `104` each time `every` more bytes are stored.
struct DraftSink {
    content: Option<Sha256>,
    repr: Sha256,
    every: Option<u64>,
    last: u64,
    interop: Interop,
    interim: Option<Interim>,
}

impl Sink for DraftSink {
    fn arrived(&mut self, piece: &[u8]) {
        if let Some(h) = &mut self.content {
            h.update(piece);
        }
    }

    async fn stored(&mut self, piece: &[u8], end: u64) {
        self.repr.update(piece);
        // A mark reached at `end` itself counts: the offset told is `end`.
        if !ietf::progress_marks(self.every, self.last, end.saturating_add(1)).is_empty() {
            self.last = end;
            send(
                self.interim.as_ref(),
                &ietf::interim_progress(end, self.interop),
            )
            .await;
        }
    }
}

/// What a creation or append asks of its body.
struct Ask {
    /// Content bytes its framing promises (`None`: chunked).
    len: Option<u64>,
    complete: bool,
    content_digest: Option<[u8; 32]>,
    /// The upload's length once this request is kept.
    length: Option<u64>,
    interop: Interop,
}

/// Streams a creation's or append's body into `upload` at its offset and
/// keeps what the rules say: `Ok` when kept (the answer is the caller's),
/// else the reply that ends the request.
async fn take_body(
    ctx: &mut Ctx<'_>,
    mut body: Incoming,
    upload: &mut IetfResource,
    ask: &Ask,
) -> Result<(), Reply> {
    let idle = ctx.shared.config.idle_timeout;
    let options = ctx.options().clone();
    let held = upload.progress.offset;
    let bound = [ask.length, options.limits.max_size]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(u64::MAX);
    let mut app = match Appender::open(&mut upload.part, held, &upload.digest, bound).await {
        Ok(a) => a,
        Err(e) => {
            drain(body, idle);
            return Err(crate::gcs::storage_error(&e));
        }
    };
    let mut sink = DraftSink {
        content: ask.content_digest.map(|_| Sha256::default()),
        repr: upload.repr.clone(),
        // Bytes not yet verified against a Content-Digest are not kept if
        // the body breaks, so no progress is told for them.
        every: options
            .progress_every
            .filter(|_| ask.content_digest.is_none()),
        last: held,
        interop: ask.interop,
        interim: ctx.interim.clone(),
    };
    let received = match receive(
        ctx.call, &mut body, &mut app, held, ask.len, &mut sink, idle,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            drain(body, idle);
            // Whatever the failed write left is cut back when the part is next opened.
            return Err(crate::gcs::storage_error(&e));
        }
    };
    upload.bytes_received += received.bytes;
    let content = sink.content.take().map(Sha256::finish);
    let mut end = ietf::body_end(
        ask.complete,
        ask.content_digest.as_ref(),
        held,
        ask.length,
        received.bytes,
        received.arrival,
        || content.unwrap_or_default(),
    );
    // A chunked body is measured against the limits once it is in.
    if let (BodyEnd::Keep { .. }, None, Arrival::Whole) = (&end, ask.len, received.arrival)
        && let Err(r) = ietf::plan_limits(
            &options.limits,
            ask.interop,
            held,
            received.bytes,
            ask.length,
            ask.complete,
        )
    {
        end = BodyEnd::Refuse(r);
    }
    let keep = match &end {
        BodyEnd::Keep { bytes: 0, .. } | BodyEnd::DigestMismatch | BodyEnd::Refuse(_) => {
            Keep::Nothing
        }
        BodyEnd::Keep { .. } => Keep::All,
    };
    match app.close(&mut upload.part, keep).await {
        Ok((offset, digest)) => {
            if offset != upload.progress.offset {
                upload.repr = sink.repr;
            }
            upload.progress.offset = offset;
            upload.digest = digest;
        }
        Err(e) => return Err(crate::gcs::storage_error(&e)),
    }
    if received.arrival == Arrival::CutOff {
        if ask.content_digest.is_none() && ask.length.is_some() {
            upload.progress.length = ask.length;
        }
        drain(body, idle);
        return Err(stopped(ctx.call, &received));
    }
    match end {
        BodyEnd::DigestMismatch => {
            Err(ctx.refuse(body, &ietf::digest_mismatch(), Some(ask.interop)))
        }
        BodyEnd::Refuse(r) => Err(ctx.refuse(body, &r, Some(ask.interop))),
        BodyEnd::Keep { complete, .. } => {
            if ask.length.is_some() {
                upload.progress.length = ask.length;
            }
            // A `short=` fault kept less than the completing request
            // carried: its length is known, the upload not complete.
            let whole = held + received.bytes;
            if complete && upload.progress.offset < whole {
                upload.progress.length = Some(whole);
            } else if complete {
                upload.progress.complete = true;
                upload.progress.length = Some(upload.progress.offset);
                if upload
                    .repr_declared
                    .is_some_and(|d| d != upload.repr.clone().finish())
                {
                    upload.failed = true;
                    return Err(ctx.refuse(body, &ietf::repr_mismatch(), Some(ask.interop)));
                }
            }
            Ok(())
        }
    }
}

/// A creation: the upload resource exists, and its `104` is sent, before
/// any of the body is read (§4.2.2), so a client cut off mid-body can
/// resume from what was persisted.
async fn create(ctx: &mut Ctx<'_>, body: Incoming, interop: Interop) -> Reply {
    let headers = &ctx.parts.headers;
    let len = match body_len(headers) {
        Ok(l) => l,
        Err(r) => return ctx.refuse(body, &Rejection::from_refusal(&r), Some(interop)),
    };
    let creation = match ietf::plan_create(headers, len, interop, ctx.options()) {
        Ok(c) => c,
        Err(r) => return ctx.refuse(body, &r, Some(interop)),
    };
    let (number, id) = ctx.shared.next_ietf_upload();
    let url = ctx.shared.ietf_url(&id);
    let resource = IetfResource {
        number,
        url: url.clone(),
        interop,
        progress: Progress {
            offset: 0,
            length: creation.length,
            complete: false,
        },
        expires_at: ctx.options().expiry(SystemTime::now()),
        state: IetfState::Live,
        repr_declared: creation.repr_digest,
        repr: Sha256::default(),
        failed: false,
        digest: crate::storage::Digest::new(),
        part: ctx.shared.store.new_ietf_part(number),
        bytes_received: 0,
        requests: 0,
    };
    let slot = ctx.shared.add_ietf_upload(id, resource);
    ctx.call.record.session = Some(number);
    let mut upload = slot.upload.lock().await;
    let limit = ctx.limit(&upload, interop);
    let announced = ctx.options().interim && ctx.interim.is_some();
    if announced {
        ctx.send(&ietf::interim_created(&url, limit.as_deref(), interop))
            .await;
    }
    let ask = Ask {
        len,
        complete: creation.complete,
        content_digest: creation.content_digest,
        length: creation.length,
        interop,
    };
    let taken = take_body(ctx, body, &mut upload, &ask).await;
    let reply = match taken {
        Ok(()) => {
            let repr = upload.repr.clone().finish();
            let told = ctx.told(&upload, limit.as_deref(), Some(repr));
            respond(&lie(ctx.call, ietf::created(&url, &told, interop)), None)
        }
        Err(reply) => {
            if !announced {
                // Its client never learned the URL: nothing was created.
                upload.part.discard().await;
                upload.state = IetfState::Killed;
            }
            reply
        }
    };
    ctx.call.record.persisted = Some(upload.progress.offset);
    ctx.shared.update_ietf_info(&upload);
    reply
}

/// An append to a live upload: its body streamed to the upload's part.
async fn append(
    ctx: &mut Ctx<'_>,
    body: Incoming,
    upload: &mut IetfResource,
    ask: &ietf::AppendAsk,
    interop: Interop,
) -> Reply {
    let len = match body_len(&ctx.parts.headers) {
        Ok(l) => l,
        Err(r) => return ctx.refuse(body, &Rejection::from_refusal(&r), Some(interop)),
    };
    let length = match ietf::plan_append(ask, upload.progress, len, interop, ctx.options()) {
        Ok(l) => l,
        Err(r) => return ctx.refuse(body, &r, Some(interop)),
    };
    // The whole upload's digest may come with any request; the last one
    // told is checked once the upload completes (§10.1).
    if let Some(digest) = ask.repr_digest {
        upload.repr_declared = Some(digest);
    }
    let taken = Ask {
        len,
        complete: ask.complete,
        content_digest: ask.content_digest,
        length,
        interop,
    };
    if let Err(reply) = take_body(ctx, body, upload, &taken).await {
        return reply;
    }
    let limit = ctx.limit(upload, interop);
    let repr = upload.repr.clone().finish();
    let told = ctx.told(upload, limit.as_deref(), Some(repr));
    respond(&lie(ctx.call, ietf::appended(&told, interop)), None)
}
