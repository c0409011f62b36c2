//! For writers of drivers: the engine's progress events as log lines, the
//! same in every driver. Applications never call these; a driver's pump
//! does, after each action it carries out.

use resumable_core::{Event, Upload};

/// Takes every pending event from `upload`, logs it ([`trace_event`]) and
/// hands it to `deliver` (a driver passes its progress callback). A driver
/// calls it after each action it carries out, and once more when the
/// upload ends.
pub fn drain_events(upload: &mut Upload, mut deliver: impl FnMut(&Event)) {
    while let Some(event) = upload.poll_event() {
        trace_event(&event);
        deliver(&event);
    }
}

/// Logs an event: warnings for retries and session restarts, information
/// for the milestones (session, upload id, finalized, registered), debug
/// for the rest. The upload id is also recorded in the current span's
/// `upload_id` field when it has one. None holds a credential: events
/// carry offsets, counts and ids, and the engine redacts an upload id that
/// is the session's.
pub fn trace_event(event: &Event) {
    match event {
        Event::SessionStarted {
            expires_at,
            chunk_size,
        } => tracing::info!(?expires_at, chunk_size, "session started"),
        Event::UploadId(id) => {
            tracing::Span::current().record("upload_id", id.as_str());
            tracing::info!(upload_id = %id, "upload id");
        }
        Event::Persisted { offset, total } => tracing::debug!(offset, ?total, "persisted"),
        Event::Retrying {
            attempt,
            after,
            cause,
        } => tracing::warn!(attempt, ?after, %cause, "retrying"),
        Event::SessionRestarted { restarts } => {
            tracing::warn!(restarts, "session gone: session restarted with a new one");
        }
        Event::Finalized { size, crc32c } => {
            tracing::info!(size, crc32c = ?crc32c.map(|c| format!("{c:08x}")), "finalized");
        }
        Event::Registered { file_id } => tracing::info!(file_id = %file_id, "registered"),
        other => tracing::debug!(event = ?other, "event"),
    }
}
