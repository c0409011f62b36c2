//! The run loop: polls the engine and carries out every action it hands
//! out, until the upload is done or has failed.

use std::time::Duration;

use bytes::BytesMut;
use resumable_core::{Action, Checkpoint, Outcome, Request, Upload};

use resumable_local::UploadError;
use resumable_local::driver::{self, Ending, EventCallback, Halt, drain_events};

use crate::exchange::{Answer, Exchange, FRAME_SIZE};
use crate::source::AsyncSource;
use crate::store::SharedStore;
use crate::transport::AsyncTransport;

/// Everything the loop works with, borrowed from the uploader.
pub(crate) struct Pump<'a, T, S: ?Sized> {
    pub(crate) transport: &'a mut T,
    pub(crate) source: &'a mut S,
    /// The store and key checkpoints go to, if any.
    pub(crate) store: Option<(&'a SharedStore, &'a str)>,
    pub(crate) on_event: &'a mut Option<EventCallback>,
    pub(crate) stall: Duration,
    /// An action the engine handed out while a request was in flight, to
    /// carry out before polling again.
    pub(crate) ended: Option<Action>,
}

impl<T: AsyncTransport, S: AsyncSource + ?Sized> Pump<'_, T, S> {
    /// Drives `upload` to its end. Dropping the future stops it; the last
    /// checkpoint saved stays valid.
    pub(crate) async fn run(&mut self, upload: &mut Upload) -> Result<Outcome, UploadError> {
        let mut scratch = BytesMut::with_capacity(FRAME_SIZE);
        let mut ending = Ending::default();
        loop {
            let step = self.step(upload, &mut scratch, &mut ending).await;
            self.drain_events(upload);
            if let Some(outcome) = step? {
                return Ok(outcome);
            }
        }
    }

    /// Carries out the next action; the outcome once the upload is done.
    async fn step(
        &mut self,
        upload: &mut Upload,
        scratch: &mut BytesMut,
        ending: &mut Ending,
    ) -> Result<Option<Outcome>, UploadError> {
        let action = match self.ended.take() {
            Some(action) => action,
            None => upload.poll_action(now()),
        };
        let done = match action {
            Action::Send(request) => {
                // Events raised with the request (a transfer starting) are
                // told before it goes, not once it is answered.
                self.drain_events(upload);
                self.send(upload, request, scratch).await
            }
            Action::Checksum(range) => {
                let mut pos = range.start;
                let mut read = Ok(());
                while pos < range.end {
                    let len = usize::try_from(range.end - pos)
                        .unwrap_or(usize::MAX)
                        .min(FRAME_SIZE);
                    match self.source.read_frame(pos, len, scratch).await {
                        Ok(frame) => upload.feed_checksum(pos, &frame),
                        Err(error) => {
                            read = Err(Halt::Source(error));
                            break;
                        }
                    }
                    pos += len as u64;
                }
                read
            }
            Action::ReadAhead { to } => match self.source.fill_to(to).await {
                Ok(total) => {
                    tracing::debug!(?total, to, "read ahead");
                    upload.handle_read_ahead(total).map_err(Halt::from)
                }
                Err(error) => Err(Halt::Source(error)),
            },
            Action::Checkpoint(checkpoint) => {
                save_checkpoint(self.store, &mut *self.source, checkpoint).await?;
                Ok(())
            }
            Action::RemoveCheckpoint => {
                if let Some((store, key)) = self.store
                    && let Err(error) = store.remove(key).await
                {
                    driver::warn_not_removed(&error);
                }
                Ok(())
            }
            Action::Wait(until) => {
                tokio::time::sleep_until(until.into()).await;
                Ok(())
            }
            Action::Done(outcome) => return Ok(Some(outcome)),
            Action::Failed(error) => {
                tracing::warn!(error = %error, "upload failed");
                return Err(ending.failure(error));
            }
            // AwaitResponse: this loop answers every request before polling
            // again, so this is a bug, reported not panicked.
            other => Err(Halt::End(UploadError::DriverBug(format!(
                "unexpected {other:?}"
            )))),
        };
        if let Err(halt) = done {
            ending.halt(upload, halt)?;
        }
        Ok(None)
    }

    /// Sends `request` (after the source check it asks for) and hands its
    /// answer to the engine.
    async fn send(
        &mut self,
        upload: &mut Upload,
        request: Request,
        scratch: &mut BytesMut,
    ) -> Result<(), Halt> {
        if request.check_source && !self.source.is_unchanged().await.map_err(Halt::Source)? {
            return Err(Halt::Changed);
        }
        let content_range = request
            .http
            .headers()
            .get(http::header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        tracing::debug!(
            purpose = ?request.purpose,
            method = %request.http.method(),
            content_range,
            "sending"
        );
        let answer = Exchange {
            id: request.id,
            source: &mut *self.source,
            upload: &mut *upload,
            scratch,
            stall: self.stall,
            store: self.store,
            on_event: &mut *self.on_event,
        }
        .send(&mut *self.transport, request.http)
        .await?;
        let answer = match answer {
            Answer::Final(answer) => answer,
            Answer::Ended(action) => {
                self.ended = Some(*action);
                return Ok(());
            }
        };
        let at = now();
        match answer {
            Ok(response) => {
                tracing::debug!(status = response.status().as_u16(), "answered");
                upload.handle_response(request.id, response, at)?;
            }
            Err(error) => {
                tracing::warn!(kind = %error.kind, error = %error.source, "request failed");
                upload.handle_transport_error(request.id, &error, at)?;
            }
        }
        Ok(())
    }

    /// Hands every pending event to the callback and to `tracing`.
    fn drain_events(&mut self, upload: &mut Upload) {
        tell_events(self.on_event, upload);
    }
}

/// Hands every pending event of `upload` to the callback and to `tracing`.
pub(crate) fn tell_events(on_event: &mut Option<EventCallback>, upload: &mut Upload) {
    drain_events(upload, |event| {
        if let Some(callback) = on_event.as_mut() {
            callback(event);
        }
    });
}

/// Saves `checkpoint` to the store, if any, and lets the source drop what
/// the server now holds.
pub(crate) async fn save_checkpoint<S: AsyncSource + ?Sized>(
    store: Option<(&SharedStore, &str)>,
    source: &mut S,
    checkpoint: Checkpoint,
) -> Result<(), UploadError> {
    tracing::trace!(persisted = checkpoint.persisted, "checkpoint");
    let persisted = checkpoint.persisted;
    if let Some((store, key)) = store {
        store
            .save(key, checkpoint)
            .await
            .map_err(UploadError::Checkpoint)?;
    }
    source.release(persisted);
    Ok(())
}

/// The current instant, on tokio's clock (which tests may pause).
pub(crate) fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}
