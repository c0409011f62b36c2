//! Streaming a request body to storage as the tus and IETF draft modes
//! take it: a fault's `corrupt`, `after=` and `short=` applied on the way,
//! the body's framing obeyed, a break or an idle connection noticed.

use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use resumable_sim::Arrival;

use crate::faults::Respond;
use crate::inject;
use crate::reply::{Refusal, Reply};
use crate::shared::Call;
use crate::storage::Appender;

/// What a mode does with a body's bytes besides storing them.
pub(crate) trait Sink {
    /// Each piece of the body as it arrives (after any damage): for its
    /// request digest.
    fn arrived(&mut self, piece: &[u8]);

    /// The bytes just handed to storage, which now holds the upload up to
    /// offset `end`.
    async fn stored(&mut self, piece: &[u8], end: u64);
}

/// A sink that only hashes what arrives (or does nothing).
impl Sink for Option<resumable_sim::tus::Hasher> {
    fn arrived(&mut self, piece: &[u8]) {
        if let Some(h) = self {
            h.update(piece);
        }
    }

    async fn stored(&mut self, _: &[u8], _: u64) {}
}

/// The bytes a request's framing promises: `None` for a chunked body,
/// known only at its end; `0` with neither framing.
pub(crate) fn body_len(headers: &HeaderMap) -> Result<Option<u64>, Refusal> {
    if resumable_sim::wire::is_chunked(headers) {
        return Ok(None);
    }
    resumable_sim::wire::content_length(headers)
        .map(|n| Some(n.unwrap_or(0)))
        .map_err(Refusal::bad)
}

/// How reading a body ended.
pub(crate) struct Received {
    /// Body bytes read.
    pub(crate) bytes: u64,
    pub(crate) arrival: Arrival,
    /// A fault's `after=` threshold stopped it, to answer `status=` or reset.
    pub(crate) by_fault: bool,
}

/// Streams a body of `len` bytes (`None`: chunked) into `app` from offset
/// `first`, through `sink`; a `corrupt` fault damages its first byte, an
/// `after=` fault stops it, a `short=` fault holds its last bytes back
/// from storage.
pub(crate) async fn receive(
    call: &mut Call,
    body: &mut Incoming,
    app: &mut Appender,
    first: u64,
    len: Option<u64>,
    sink: &mut impl Sink,
    idle: Duration,
) -> std::io::Result<Received> {
    let fault = call.fault.clone().unwrap_or_default();
    let mut trigger = (fault.after > 0).then_some(len.map_or(fault.after, |l| fault.after.min(l)));
    let mut received = 0u64;
    let mut damage = fault.corrupt;
    // The last `hold` bytes received, not stored: never, if the body ends.
    let hold = usize::try_from(fault.short.unwrap_or(0)).unwrap_or(usize::MAX);
    let mut held_back: Vec<u8> = Vec::new();
    let mut stored = 0u64;
    let all_in = |received: u64| len.is_none_or(|l| received == l);
    let (arrival, by_fault) = loop {
        if len == Some(received) {
            break (Arrival::Whole, false);
        }
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Ok(Some(Ok(frame))) => frame,
            Ok(None) if all_in(received) => break (Arrival::Whole, false),
            Ok(None) | Ok(Some(Err(_))) | Err(_) => break (Arrival::CutOff, false),
        };
        let Ok(mut chunk) = frame.into_data() else {
            continue;
        };
        let mut stopped = false;
        while !chunk.is_empty() {
            let take = inject::take_before(trigger, received, chunk.len());
            let mut piece = chunk.split_to(take);
            if damage && !piece.is_empty() {
                let mut copy = piece.to_vec();
                copy[0] ^= 0xff;
                piece = Bytes::from(copy);
                damage = false;
            }
            sink.arrived(&piece);
            received += piece.len() as u64;
            if hold == 0 {
                app.write(first + stored, &piece).await?;
                stored += piece.len() as u64;
                sink.stored(&piece, app.pos()).await;
            } else {
                held_back.extend_from_slice(&piece);
                if let Some(n) = held_back.len().checked_sub(hold).filter(|n| *n > 0) {
                    app.write(first + stored, &held_back[..n]).await?;
                    stored += n as u64;
                    sink.stored(&held_back[..n], app.pos()).await;
                    held_back.drain(..n);
                }
            }
            if trigger == Some(received) {
                trigger = None;
                if let Some(d) = fault.stall {
                    call.stall(d).await;
                }
                if matches!(fault.respond, Some(Respond::Status { .. } | Respond::Reset)) {
                    stopped = true;
                    break;
                }
            }
        }
        if stopped {
            break (Arrival::CutOff, true);
        }
    };
    call.record.bytes_received = received;
    Ok(Received {
        bytes: received,
        arrival,
        by_fault,
    })
}

/// The reply to a body an `after=` fault stopped, or that was cut off.
pub(crate) fn stopped(call: &mut Call, received: &Received) -> Reply {
    let fault = call.fault.clone().unwrap_or_default();
    match (received.by_fault, fault.respond) {
        (true, Some(Respond::Status { code, retry_after })) => {
            call.outcome = Some("fault");
            inject::fault_status(code, retry_after).into()
        }
        (true, _) => {
            call.outcome = Some("fault-reset");
            Reply::Reset
        }
        (false, _) => {
            call.outcome = Some("cut-off");
            Reply::Reset
        }
    }
}
