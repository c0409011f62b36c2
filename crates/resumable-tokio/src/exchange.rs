//! One request and its answer: the body streamed in frames from the source
//! while the response is awaited, under the stall timeout, and what an
//! interim response makes due meanwhile (a checkpoint, events) carried out
//! before the answer.

use std::ops::Range;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, StatusCode};
use resumable_core::{Action, Body, RequestId, TransportError, TransportErrorKind, Upload};
use resumable_local::driver::{EventCallback, Halt};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

use crate::body::RequestBody;
use crate::pump::{now, save_checkpoint, tell_events};
use crate::source::AsyncSource;
use crate::store::SharedStore;
use crate::transport::{AsyncTransport, InterimResponses};

/// The size of one body frame read from the source.
pub(crate) const FRAME_SIZE: usize = 128 * 1024;

/// How many frames may wait between the driver and the transport.
const FRAMES_IN_FLIGHT: usize = 2;

/// The transport stopped making progress for the whole stall timeout.
#[derive(Debug, thiserror::Error)]
#[error("no progress for {0:?} (stall timeout)")]
struct Stalled(Duration);

/// What the driver needs to carry out one request.
pub(crate) struct Exchange<'a, S: ?Sized> {
    /// The request's id, for the interim responses to it.
    pub(crate) id: RequestId,
    pub(crate) source: &'a mut S,
    pub(crate) upload: &'a mut Upload,
    pub(crate) scratch: &'a mut BytesMut,
    pub(crate) stall: Duration,
    /// Where a checkpoint an interim response makes due is saved.
    pub(crate) store: Option<(&'a SharedStore, &'a str)>,
    pub(crate) on_event: &'a mut Option<EventCallback>,
}

/// How an exchange ended.
pub(crate) enum Answer {
    /// The transport's answer: hand it to the engine.
    Final(Result<http::Response<Bytes>, TransportError>),
    /// An interim response made the engine abandon the request in flight
    /// (the `DELETE` that cancels an upload of the IETF draft that cannot
    /// go on, or its end), and it handed out this action: carry it out in
    /// place of a poll; the request is dropped.
    Ended(Box<Action>),
}

impl<S: AsyncSource + ?Sized> Exchange<'_, S> {
    /// Sends `request` through `transport`, streaming a source body frame by
    /// frame (each one fed to the checksum as it goes).
    ///
    /// A source that cannot be read, or a checkpoint that cannot be saved,
    /// is the error (the request is abandoned). The stall timeout runs from
    /// the last progress: a frame taken by the transport, an interim
    /// response, or the start. Each interim response the transport hands
    /// over goes to the engine as it arrives, all of them before the final
    /// answer; the checkpoint one makes due (a `104` naming the upload) is
    /// saved at once, so that a process that dies before the answer
    /// resumes in that upload.
    pub(crate) async fn send<T: AsyncTransport>(
        self,
        transport: &mut T,
        request: http::Request<Body>,
    ) -> Result<Answer, Halt> {
        let (mut parts, body) = request.into_parts();
        let (interim, mut interims) = InterimResponses::channel();
        parts.extensions.insert(interim);
        let (id, upload) = (self.id, &mut *self.upload);
        let (feed, body) = match body {
            Body::Source(range) => {
                let (tx, body) = RequestBody::channel(range.end - range.start, FRAMES_IN_FLIGHT);
                (Some((tx, range)), body)
            }
            Body::Json(json) => (None, RequestBody::full(json)),
            _ => (None, RequestBody::empty()),
        };
        let responding = transport.send(http::Request::from_parts(parts, body));
        tokio::pin!(responding);
        let stall = self.stall;
        let mut deadline = Instant::now() + stall;
        // No body to feed: the loop below only waits for the answer.
        let (mut tx, Range { start, end }) = match feed {
            Some((tx, range)) => (Some(tx), range),
            None => (None, 0..0),
        };
        let mut pos = start;
        // A frame read but not yet taken (an interim response came first).
        let mut pending: Option<Bytes> = None;
        loop {
            let frame = match &tx {
                Some(_) if pending.is_some() => pending.take(),
                Some(_) if pos < end => {
                    let len = usize::try_from(end - pos)
                        .unwrap_or(usize::MAX)
                        .min(FRAME_SIZE);
                    let frame = self
                        .source
                        .read_frame(pos, len, self.scratch)
                        .await
                        .map_err(Halt::Source)?;
                    // Time spent reading the source is not the transport's.
                    deadline = Instant::now() + stall;
                    Some(frame)
                }
                _ => None,
            };
            // An owned permit: the body's sender stays free to be dropped.
            let sender = tx.clone().filter(|_| frame.is_some());
            let room = async move {
                match sender {
                    Some(sender) => sender.reserve_owned().await.ok(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                response = &mut responding => {
                    tell_interims(upload, id, &mut interims);
                    return Ok(Answer::Final(response));
                }
                Some((status, headers)) = interims.recv() => {
                    tell_interim(upload, id, status, &headers);
                    tell_events(&mut *self.on_event, upload);
                    if let Some(ended) =
                        carry_out_due(upload, self.store, &mut *self.source).await?
                    {
                        return Ok(Answer::Ended(Box::new(ended)));
                    }
                    deadline = Instant::now() + stall;
                    // The frame read goes with the next turn.
                    pending = frame;
                    continue;
                }
                permit = room => match (permit, frame) {
                    (Some(permit), Some(frame)) => {
                        upload.feed_checksum(pos, &frame);
                        pos += frame.len() as u64;
                        drop(permit.send(frame));
                        deadline = Instant::now() + stall;
                    }
                    // The transport dropped the body: its answer follows.
                    _ => tx = None,
                },
                () = tokio::time::sleep_until(deadline) => {
                    // What arrived meanwhile still counts (a `104`'s URL).
                    tell_interims(upload, id, &mut interims);
                    return Ok(Answer::Final(Err(stalled(stall))));
                }
            }
            if pos >= end {
                // Every byte is handed over; the body ends on its own count.
                tx = None;
            }
        }
    }
}

/// Carries out what the engine hands out while a request is in flight: the
/// checkpoints it makes due, until it awaits the answer. Any other action
/// means the engine ended meanwhile; it is returned, to be carried out in
/// place of the next poll.
async fn carry_out_due<S: AsyncSource + ?Sized>(
    upload: &mut Upload,
    store: Option<(&SharedStore, &str)>,
    source: &mut S,
) -> Result<Option<Action>, Halt> {
    loop {
        match upload.poll_action(now()) {
            Action::Checkpoint(checkpoint) => save_checkpoint(store, source, checkpoint).await?,
            Action::AwaitResponse(_) => return Ok(None),
            other => return Ok(Some(other)),
        }
    }
}

/// Hands one interim response to the engine.
fn tell_interim(upload: &mut Upload, id: RequestId, status: StatusCode, headers: &HeaderMap) {
    tracing::debug!(status = status.as_u16(), "interim response");
    if let Err(error) = upload.handle_informational(id, status, headers, now()) {
        // The request is the one in flight: the engine cannot refuse it.
        tracing::warn!(%error, "interim response refused");
    }
}

/// Hands the engine the interim responses that arrived before the final
/// one but were not read yet.
fn tell_interims(
    upload: &mut Upload,
    id: RequestId,
    interims: &mut UnboundedReceiver<(StatusCode, HeaderMap)>,
) {
    while let Ok((status, headers)) = interims.try_recv() {
        tell_interim(upload, id, status, &headers);
    }
}

fn stalled(stall: Duration) -> TransportError {
    TransportError::new(TransportErrorKind::Timeout, Stalled(stall))
}
