//! The drivers against the emulator over real sockets, the catalogue both
//! run: files and streams of every boundary size, every scripted fault and
//! stall, answers cut short, a 100 MiB file ([`transfer`]); and what a
//! checkpoint promises: an interrupted upload resumes where the server
//! stopped, a changed file is refused, a cancel deletes the session, and
//! one upload of a file runs at a time ([`resume`]).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod resume;
pub mod transfer;

pub use resume::*;
pub use transfer::*;

use std::path::{Path, PathBuf};
use std::time::Duration;

use resumable_core::{Chunking, Outcome, RetryPolicy, Secret};
use resumable_emulator::{Emulator, EmulatorHandle, Storage};
use resumable_local::{CheckpointStore, FileApiTarget};

use crate::{Driver, Setup};

/// The API key of every emulator here.
pub const KEY: &str = "test-key";
/// The chunk size the uploads use.
pub const UNIT: u64 = 256 * 1024;

/// An emulator in memory with these faults.
pub fn emulator(faults: &str) -> EmulatorHandle {
    Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Memory)
        .faults(faults)
        .seed(7)
        .start_in_background()
        .expect("emulator starts")
}

/// The file API of `emu`.
pub fn api(emu: &EmulatorHandle) -> FileApiTarget {
    FileApiTarget::new(emu.base_url(), "org_1", Secret::new(KEY))
}

/// Retries enough for every scripted fault, quickly.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        max_elapsed: Duration::from_secs(60),
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
    }
}

/// The catalogue's settings: [`UNIT`] chunks, [`fast_retries`].
pub fn setup() -> Setup {
    Setup {
        chunking: Chunking::Fixed(UNIT),
        retry: fast_retries(),
        ..Setup::default()
    }
}

/// A driver with [`setup`].
pub fn uploader<D: Driver>() -> D {
    D::build(setup())
}

/// A driver with [`setup`], keeping checkpoints in `store`.
pub fn keeping<D: Driver>(store: impl CheckpointStore + Send + 'static) -> D {
    D::build(Setup {
        store: Some(Box::new(store)),
        ..setup()
    })
}

/// Carries `call` out with a driver keeping checkpoints in the directory
/// `state`, interrupted once [`UNIT`] bytes are persisted, as a user
/// would; returns a fresh driver on the same checkpoints, to resume or
/// cancel with.
pub fn interrupted_at_unit<D: Driver>(state: &std::path::Path, call: crate::driver::Call<'_>) -> D {
    let store = || resumable_local::FileCheckpointStore::new(state).unwrap();
    keeping::<D>(store()).interrupted(call, crate::driver::Interrupt::Persisted(UNIT));
    keeping::<D>(store())
}

/// Waits until `emu` has logged every request it was sent: its log has
/// not grown for 100 ms (at most 5 s). A request an interrupted upload had
/// in flight is logged once the emulator sees it cut off, which can be
/// after the interruption returns: clear the log only after this.
pub fn settled(emu: &EmulatorHandle) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut seen = emu.request_log().len();
    while std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        let now = emu.request_log().len();
        if now == seen {
            return;
        }
        seen = now;
    }
}

/// Interrupts `call` (checkpointed under `key`) once [`UNIT`] bytes are
/// persisted, then cancels the upload by its key: the last request the
/// emulator saw is `kind` (the protocol's deletion), answered `204`, and
/// the checkpoint is gone.
pub fn cancelled_after_unit<D: Driver>(
    emu: &EmulatorHandle,
    call: crate::driver::Call<'_>,
    key: &str,
    kind: resumable_emulator::RequestKind,
) {
    let state = tempfile::tempdir().unwrap();
    let mut up = interrupted_at_unit::<D>(state.path(), call);
    assert!(up.cancel(key).unwrap(), "there was an upload to cancel");
    let log = emu.request_log();
    let last = log.last().unwrap();
    assert_eq!((last.kind, last.status), (kind, Some(204)), "{log:#?}");
    assert!(up.load_checkpoint(key).unwrap().is_none());
}

/// `len` bytes of a pattern that varies with `seed`.
pub fn data(len: u64, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

/// Writes `bytes` to `name` in `dir`.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The registered File's `gcs_path`.
pub fn gcs_path(outcome: &Outcome) -> String {
    let file = outcome.file.as_ref().expect("registered");
    file.fields["gcs_path"].as_str().unwrap().to_owned()
}

/// The file API got the key on every request, the upload endpoint never,
/// nor any `Authorization`.
pub fn assert_key_stayed_home(emu: &EmulatorHandle) {
    for r in emu.request_log() {
        if r.kind.is_upload_endpoint() {
            assert!(!r.x_api_key, "the API key went to the upload host: {r:?}");
            assert!(!r.authorization, "{r:?}");
        } else {
            assert!(r.x_api_key, "the file API got no key: {r:?}");
        }
    }
}

/// Waits until `emu` holds a request (a `stall=` fault), failing if
/// `upload` ends first.
pub fn wait_until_held<T>(emu: &EmulatorHandle, upload: &std::thread::JoinHandle<T>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while emu.stats().held == 0 {
        assert!(!upload.is_finished(), "the upload ended before it was held");
        assert!(std::time::Instant::now() < deadline, "no request was held");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One `#[test]` per case of this catalogue, run with `$driver`.
#[macro_export]
macro_rules! emulator_tests {
    ($driver:ty) => {
        $crate::tests_of!($driver, emulator:
            every_boundary_size_round_trips_and_the_key_stays_home,
            the_mime_type_is_guessed_and_the_name_can_be_set,
            every_scripted_fault_is_survived_with_the_bytes_intact,
            a_stalled_server_times_out_and_the_upload_goes_on,
            answers_cut_short_are_asked_again_and_the_upload_ends_well,
            a_hundred_mebibyte_file_arrives_whole,
            the_transfer_start_is_told_before_the_first_data_request,
            streams_of_unknown_length_upload_through_an_initiated_session,
            a_bare_initiation_and_a_raw_session_url_upload_bytes,
            if_generation_match_0_uploads_once_and_never_overwrites,
            a_wrong_api_key_is_an_api_error_that_never_shows_the_key,
            a_file_larger_than_the_api_accepts_is_refused_before_any_byte,
            an_interrupted_upload_resumes_from_its_checkpoint,
            a_file_changed_since_the_checkpoint_is_refused_with_a_way_to_start_over,
            a_file_rewritten_with_its_size_and_mtime_kept_does_not_resume,
            a_checkpoint_of_an_expired_session_starts_a_new_one,
            a_failed_upload_is_cancelled_by_its_key,
            an_interrupted_upload_is_cancelled_by_its_key,
            an_interruption_cuts_a_request_in_flight,
            a_second_upload_of_a_file_being_uploaded_is_refused_and_cannot_cancel_it,
        );
    };
}
