//! The run loop: polls the engine and carries out every action it hands
//! out, until the upload is done or has failed.

use std::io;
use std::time::Duration;

use bytes::BytesMut;
use resumable_core::{
    Action, Body, Error, Event, Outcome, Purpose, SourceError, Upload, url_policy,
};

use resumable_local::UploadError;
use resumable_local::driver::drain_events;

use crate::exchange::{Exchange, FRAME_SIZE};
use crate::source::AsyncSource;
use crate::store::SharedStore;
use crate::transport::AsyncTransport;

/// The progress callback's type.
pub(crate) type EventCallback = Box<dyn FnMut(&Event) + Send>;

/// Everything the loop works with, borrowed from the uploader.
pub(crate) struct Pump<'a, T, S: ?Sized> {
    pub(crate) transport: &'a mut T,
    pub(crate) source: &'a mut S,
    /// The store and key checkpoints go to, if any.
    pub(crate) store: Option<(&'a SharedStore, &'a str)>,
    pub(crate) on_event: &'a mut Option<EventCallback>,
    pub(crate) allow_insecure_http: bool,
    pub(crate) stall: Duration,
}

impl<T: AsyncTransport, S: AsyncSource + ?Sized> Pump<'_, T, S> {
    /// Drives `upload` to its end. Dropping the future stops it; the last
    /// checkpoint saved stays valid.
    pub(crate) async fn run(&mut self, upload: &mut Upload) -> Result<Outcome, UploadError> {
        let mut scratch = BytesMut::with_capacity(FRAME_SIZE);
        loop {
            let step = self.step(upload, &mut scratch).await;
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
    ) -> Result<Option<Outcome>, UploadError> {
        self.learn_total(upload).await?;
        match upload.poll_action(now()) {
            Action::Send(request) => {
                let uri = request.http.uri();
                if !url_policy::is_allowed(uri, self.allow_insecure_http) {
                    return Err(UploadError::Insecure {
                        host: uri.host().unwrap_or_default().to_owned(),
                    });
                }
                // Before register too: a file changed during its last chunk
                // is not the file that was uploaded.
                if (matches!(request.http.body(), Body::Source(_))
                    || request.purpose == Purpose::Register)
                    && !self
                        .source
                        .is_unchanged()
                        .await
                        .map_err(UploadError::Source)?
                {
                    return Err(UploadError::ChangedDuringUpload);
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
                    source: &mut *self.source,
                    upload: &mut *upload,
                    scratch,
                    stall: self.stall,
                }
                .send(&mut *self.transport, request.http)
                .await?;
                let at = now();
                let handled = match answer {
                    Ok(response) => {
                        tracing::debug!(status = response.status().as_u16(), "answered");
                        upload.handle_response(request.id, response, at)
                    }
                    Err(error) => {
                        tracing::warn!(kind = %error.kind, error = %error.source, "request failed");
                        upload.handle_transport_error(request.id, error.kind, at)
                    }
                };
                handled.map_err(|e| UploadError::DriverBug(e.to_string()))?;
            }
            Action::Checksum(range) => {
                let mut pos = range.start;
                while pos < range.end {
                    let len = usize::try_from(range.end - pos)
                        .unwrap_or(usize::MAX)
                        .min(FRAME_SIZE);
                    let frame = self
                        .source
                        .read_frame(pos, len, scratch)
                        .await
                        .map_err(UploadError::Source)?;
                    upload.feed_checksum(pos, &frame);
                    pos += len as u64;
                }
            }
            Action::Checkpoint(checkpoint) => {
                tracing::trace!(persisted = checkpoint.persisted, "checkpoint");
                let persisted = checkpoint.persisted;
                if let Some((store, key)) = self.store {
                    store
                        .save(key, checkpoint)
                        .await
                        .map_err(UploadError::Checkpoint)?;
                }
                self.source.release(persisted);
            }
            Action::Wait(until) => tokio::time::sleep_until(until.into()).await,
            Action::Done(outcome) => {
                if let Some((store, key)) = self.store
                    && let Err(e) = store.remove(key).await
                {
                    // The upload succeeded; a stale checkpoint only costs a
                    // status query next time.
                    tracing::warn!(error = %e, "could not remove the finished upload's checkpoint");
                }
                return Ok(Some(outcome));
            }
            Action::Failed(error) => {
                if matches!(error, Error::SessionGone | Error::Cancelled)
                    && let Some((store, key)) = self.store
                {
                    store.remove(key).await.map_err(UploadError::Checkpoint)?;
                }
                tracing::warn!(error = %error, "upload failed");
                return Err(match error {
                    // Found while resuming: the same error as a changed fingerprint.
                    Error::Source(SourceError::Changed) => UploadError::Changed,
                    other => other.into(),
                });
            }
            // AwaitResponse: this loop answers every request before polling
            // again, so this is a bug, reported not panicked.
            other => {
                return Err(UploadError::DriverBug(format!("unexpected {other:?}")));
            }
        }
        Ok(None)
    }

    /// For a source of unknown length: reads one chunk (and a byte) ahead of
    /// the persisted offset, and tells the engine the total once the source
    /// ends there, so that the next chunk is sent as the last one.
    async fn learn_total(&mut self, upload: &mut Upload) -> Result<(), UploadError> {
        if upload.total().is_some() {
            return Ok(());
        }
        let horizon = upload
            .persisted()
            .saturating_add(upload.chunk_size())
            .saturating_add(1);
        let total = self
            .source
            .fill_to(horizon)
            .await
            .map_err(UploadError::Source)?;
        if let Some(total) = total {
            tracing::debug!(total, "the source's end is known");
            upload.set_total(total).map_err(|_| {
                UploadError::Source(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "the source ended at {total} bytes, before the {} the server already holds",
                        upload.persisted()
                    ),
                ))
            })?;
        }
        Ok(())
    }

    /// Hands every pending event to the callback and to `tracing`.
    fn drain_events(&mut self, upload: &mut Upload) {
        let on_event = &mut *self.on_event;
        drain_events(upload, |event| {
            if let Some(callback) = on_event.as_mut() {
                callback(event);
            }
        });
    }
}

/// The current instant, on tokio's clock (which tests may pause).
pub(crate) fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}
