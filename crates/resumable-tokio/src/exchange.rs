//! One request and its answer: the body streamed in frames from the source
//! while the response is awaited, under the stall timeout.

use std::io;
use std::ops::Range;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use resumable_core::{Body, TransportError, TransportErrorKind, Upload};
use tokio::time::Instant;

use crate::body::RequestBody;
use crate::source::AsyncSource;
use crate::transport::AsyncTransport;

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
    pub(crate) source: &'a mut S,
    pub(crate) upload: &'a mut Upload,
    pub(crate) scratch: &'a mut BytesMut,
    pub(crate) stall: Duration,
}

impl<S: AsyncSource + ?Sized> Exchange<'_, S> {
    /// Sends `request` through `transport`, streaming a source body frame by
    /// frame (each one fed to the checksum as it goes).
    ///
    /// The outer error is the source's (the request is abandoned); the
    /// inner result is the transport's answer. The stall timeout runs from
    /// the last progress: a frame taken by the transport, or the start.
    pub(crate) async fn send<T: AsyncTransport>(
        self,
        transport: &mut T,
        request: http::Request<Body>,
    ) -> Result<Result<http::Response<Bytes>, TransportError>, io::Error> {
        let (parts, body) = request.into_parts();
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
        let Some((tx, Range { start, end })) = feed else {
            return Ok(tokio::select! {
                response = &mut responding => response,
                () = tokio::time::sleep_until(deadline) => Err(stalled(stall)),
            });
        };
        let mut tx = Some(tx);
        let mut pos = start;
        loop {
            let frame = match &tx {
                Some(_) if pos < end => {
                    let len = usize::try_from(end - pos)
                        .unwrap_or(usize::MAX)
                        .min(FRAME_SIZE);
                    let frame = self.source.read_frame(pos, len, self.scratch).await?;
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
                response = &mut responding => return Ok(response),
                permit = room => match (permit, frame) {
                    (Some(permit), Some(frame)) => {
                        self.upload.feed_checksum(pos, &frame);
                        pos += frame.len() as u64;
                        drop(permit.send(frame));
                        deadline = Instant::now() + stall;
                    }
                    // The transport dropped the body: its answer follows.
                    _ => tx = None,
                },
                () = tokio::time::sleep_until(deadline) => return Ok(Err(stalled(stall))),
            }
            if pos >= end {
                // Every byte is handed over; the body ends on its own count.
                tx = None;
            }
        }
    }
}

fn stalled(stall: Duration) -> TransportError {
    TransportError::new(TransportErrorKind::Timeout, Stalled(stall))
}
