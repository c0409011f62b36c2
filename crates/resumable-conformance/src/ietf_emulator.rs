//! The drivers against the emulator's mode for Resumable Uploads for HTTP
//! (the IETF draft) over real sockets, the catalogue both run: a careful
//! creation and its appends in either interop version, an append cut off
//! by a reset and resumed, a lie about the offset met with `409`, a bare
//! `413` met with appends of half the size, damage
//! found by the `Repr-Digest` of a completion or of a `HEAD`, an
//! expired upload started over, an optimistic creation cut off, a
//! checkpoint resumed, an upload interrupted in its first body and resumed,
//! and cancellation. Every upload is checked against
//! the emulator's stored bytes and its request log.
//!
//! The engine and the emulator were written apart from the draft's text,
//! so these cases are where the two readings meet.
#![allow(unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use resumable_core::{
    Config, Error, IetfCreate, IetfStrategy, IntegrityError, InteropVersion, Outcome,
};
use resumable_emulator::{EmulatorHandle, IetfStatus, RequestKind, RequestRecord};
use resumable_local::{CheckpointStore as _, UploadError};

use crate::driver::{Call, Driver, Interrupt, Source};
use crate::emulator::{
    UNIT, cancelled_after_unit, data, emulator, interrupted_at_unit, keeping, settled, uploader,
};

/// A creation at the emulator's draft endpoint in `interop`, by `strategy`.
fn creation(emu: &EmulatorHandle, interop: InteropVersion, strategy: IetfStrategy) -> IetfCreate {
    let mut create = IetfCreate::new(emu.ietf_endpoint());
    create.interop = interop;
    create.strategy = strategy;
    create.content_type = Some("application/octet-stream".into());
    create
}

/// The configuration of `bytes` sent to `emu` with `create`.
fn config(create: IetfCreate, bytes: &[u8]) -> Config {
    Config::ietf_create(create, Some(bytes.len() as u64))
}

/// Uploads `bytes` with `create` with a fresh uploader of `D`, to its end.
fn attempt<D: Driver>(create: IetfCreate, bytes: &[u8]) -> Result<Outcome, UploadError> {
    uploader::<D>().call(Call::Run {
        config: config(create, bytes),
        source: Source::Bytes(bytes.to_vec()),
        key: None,
    })
}

/// A careful upload of 3 units (a pattern of `seed`) to an emulator with
/// `faults`, which must fail with an error `expected` accepts; returns the
/// emulator, to look into.
fn failed_careful_upload<D: Driver>(
    faults: &str,
    seed: u32,
    expected: fn(&Error) -> bool,
) -> EmulatorHandle {
    let emu = emulator(faults);
    let bytes = data(3 * UNIT, seed);
    let create = creation(&emu, InteropVersion::LATEST, IetfStrategy::Careful);
    let result = attempt::<D>(create, &bytes);
    assert!(
        matches!(&result, Err(UploadError::Upload(e)) if expected(e)),
        "{}: {result:?}\n{:#?}",
        D::NAME,
        emu.request_log()
    );
    emu
}

/// Uploads `bytes` to `emu` with a fresh uploader of `D`, to its
/// successful end; returns its session restarts.
fn upload<D: Driver>(emu: &EmulatorHandle, create: IetfCreate, bytes: &[u8]) -> u32 {
    let outcome = attempt::<D>(create, bytes)
        .unwrap_or_else(|e| panic!("{}: {e}\n{:#?}", D::NAME, emu.request_log()));
    assert_eq!(outcome.object.size, bytes.len() as u64);
    outcome.restarts
}

/// The bytes of the one complete upload the emulator holds.
fn stored_only(emu: &EmulatorHandle) -> Vec<u8> {
    let complete: Vec<_> = emu
        .ietf_uploads()
        .into_iter()
        .filter(|u| u.state == IetfStatus::Complete)
        .collect();
    let [upload] = complete.as_slice() else {
        panic!("expected one complete upload: {:#?}", emu.ietf_uploads())
    };
    emu.ietf_upload_bytes(&upload.url).unwrap()
}

/// The kinds of the log's requests, in order.
fn kinds(log: &[RequestRecord]) -> Vec<RequestKind> {
    log.iter().map(|r| r.kind).collect()
}

/// A careful creation (no body, `Upload-Complete: ?0`) in `interop`, then
/// one append of 256 KiB after another, the last completing the upload:
/// the emulator holds the file byte for byte, in one upload of that
/// version, and nothing was refused.
fn stores_a_file_whole<D: Driver>(interop: InteropVersion, seed: u32) {
    let emu = emulator("");
    let bytes = data(3 * UNIT + 123, seed);
    let create = creation(&emu, interop, IetfStrategy::Careful);
    assert_eq!(upload::<D>(&emu, create, &bytes), 0);
    assert!(stored_only(&emu) == bytes, "stored bytes differ");
    let log = emu.request_log();
    assert_eq!(
        kinds(&log),
        [
            RequestKind::IetfCreate,
            RequestKind::IetfAppend,
            RequestKind::IetfAppend,
            RequestKind::IetfAppend,
            RequestKind::IetfAppend,
        ],
        "{log:#?}"
    );
    assert_eq!(
        log[0].bytes_received, 0,
        "a careful creation carries no bytes"
    );
    assert!(log.iter().all(|r| r.outcome == "ok"), "{log:#?}");
    let uploads = emu.ietf_uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].interop, u64::from(interop.number()));
}

/// A careful creation and its appends in the latest interop version (see
/// the module's cases).
pub fn ietf_emulator_stores_a_file_whole<D: Driver>() {
    stores_a_file_whole::<D>(InteropVersion::V8, 71);
}

/// The same in interop version 6 (draft -05), the one tus-js-client and
/// tusd speak.
pub fn ietf_emulator_stores_a_file_whole_in_interop_6<D: Driver>() {
    stores_a_file_whole::<D>(InteropVersion::V6, 72);
}

/// An append reset after 100 KiB of its body: the emulator keeps what
/// arrived, the driver asks for the offset (`HEAD`) and goes on from the
/// middle of its chunk, in the same upload.
pub fn ietf_emulator_resumes_an_append_cut_off_by_a_reset<D: Driver>() {
    let emu = emulator("ietf-patch#2 reset after=100KiB");
    let bytes = data(3 * UNIT, 73);
    let create = creation(&emu, InteropVersion::LATEST, IetfStrategy::Careful);
    assert_eq!(upload::<D>(&emu, create, &bytes), 0);
    assert!(stored_only(&emu) == bytes, "stored bytes differ");
    let log = emu.request_log();
    let cut = log.iter().position(|r| r.fault.is_some()).unwrap();
    assert_eq!(log[cut].outcome, "fault-reset", "{log:#?}");
    let kept = UNIT + 100 * 1024;
    let next = &log[cut + 1];
    assert_eq!(
        (next.kind, next.persisted),
        (RequestKind::IetfHead, Some(kept)),
        "the offset is asked for: {log:#?}"
    );
    let on = &log[cut + 2];
    assert_eq!(on.kind, RequestKind::IetfAppend, "{log:#?}");
    assert_eq!(
        on.persisted,
        Some(kept + on.bytes_received),
        "from the server's offset: {log:#?}"
    );
    assert_eq!(emu.ietf_uploads().len(), 1);
}

/// An append refused with a bare `413` (as an intermediary's limit on
/// message size would): the driver asks for the offset and goes on at half
/// the size (§4.1.4), to the end.
pub fn ietf_emulator_sends_appends_at_half_the_size_after_a_bare_413<D: Driver>() {
    let emu = emulator("ietf-patch#1 status=413");
    let bytes = data(2 * UNIT, 84);
    let create = creation(&emu, InteropVersion::LATEST, IetfStrategy::Careful);
    upload::<D>(&emu, create, &bytes);
    assert!(stored_only(&emu) == bytes, "stored bytes differ");
    let log = emu.request_log();
    assert_eq!(log[1].status, Some(413), "{log:#?}");
    assert_eq!(log[2].kind, RequestKind::IetfHead, "{log:#?}");
    let appends: Vec<_> = log[3..]
        .iter()
        .map(|r| (r.kind, r.bytes_received))
        .collect();
    assert_eq!(
        appends,
        [(RequestKind::IetfAppend, UNIT / 2); 4],
        "{log:#?}"
    );
}

/// An append answered with an offset below what was kept: the next append
/// from there meets `409` with the `mismatching-upload-offset` problem,
/// and the driver goes on from the offset the problem names.
pub fn ietf_emulator_goes_on_after_a_409_from_a_lie_about_the_offset<D: Driver>() {
    let emu = emulator("ietf-patch#1 persisted=1000");
    let bytes = data(2 * UNIT, 74);
    let create = creation(&emu, InteropVersion::LATEST, IetfStrategy::Careful);
    upload::<D>(&emu, create, &bytes);
    assert!(stored_only(&emu) == bytes, "stored bytes differ");
    let log = emu.request_log();
    let conflict = log
        .iter()
        .position(|r| r.status == Some(409))
        .unwrap_or_else(|| panic!("no 409: {log:#?}"));
    let after: Vec<_> = log[conflict + 1..].iter().map(|r| r.kind).collect();
    assert!(
        after
            .iter()
            .all(|&k| k == RequestKind::IetfAppend || k == RequestKind::IetfHead),
        "{log:#?}"
    );
    assert_eq!(emu.ietf_uploads().len(), 1);
}

/// A byte damaged on its way in, with no `Content-Digest` asked for: the
/// completing append carries the whole file's `Repr-Digest`, the emulator
/// finds the upload does not match it, and the upload ends as a failed
/// processing of a complete upload, never reported done.
pub fn ietf_emulator_refuses_a_damaged_upload_by_its_repr_digest<D: Driver>() {
    let emu = failed_careful_upload::<D>("ietf-patch#2 corrupt", 79, |e| {
        matches!(e, Error::ProcessingFailed { status: 400, .. })
    });
    let states: Vec<_> = emu.ietf_uploads().iter().map(|u| u.state).collect();
    assert_eq!(states, [IetfStatus::Failed]);
}

/// The same damage, with the answer to the completing append lost: the
/// `HEAD` that follows finds the upload complete, and the `Repr-Digest`
/// the emulator computed of what it stored (§10.1) is not the file's, so
/// the upload ends with an integrity error, never reported done.
pub fn ietf_emulator_damage_found_by_the_repr_digest_of_a_head<D: Driver>() {
    let faults = "ietf-patch#2 corrupt; ietf-patch#3 drop-response";
    let emu = failed_careful_upload::<D>(faults, 83, |e| {
        matches!(e, Error::Integrity(IntegrityError::Sha256))
    });
    let log = emu.request_log();
    assert_eq!(
        kinds(&log),
        [
            RequestKind::IetfCreate,
            RequestKind::IetfAppend,
            RequestKind::IetfAppend,
            RequestKind::IetfAppend,
            RequestKind::IetfHead,
        ],
        "{log:#?}"
    );
}

/// An upload that expires mid-way starts over with a new creation, which
/// ends whole.
pub fn ietf_emulator_starts_an_expired_upload_over<D: Driver>() {
    let emu = emulator("ietf-patch#2 expire");
    let bytes = data(3 * UNIT, 75);
    let create = creation(&emu, InteropVersion::LATEST, IetfStrategy::Careful);
    assert_eq!(upload::<D>(&emu, create, &bytes), 1, "one restart");
    assert!(stored_only(&emu) == bytes, "stored bytes differ");
    let states: Vec<_> = emu.ietf_uploads().iter().map(|u| u.state).collect();
    assert_eq!(states, [IetfStatus::Expired, IetfStatus::Complete]);
}

/// An optimistic creation (the first chunk in the creation request) reset
/// after 100 KiB of its body, past the emulator's `104` with `Location`. A
/// driver whose transport hands over interim responses learned the upload
/// from it: it asks for the offset there (`HEAD`) and goes on, one upload
/// in all. One that cannot has no upload to resume and creates another.
pub fn ietf_emulator_resumes_an_optimistic_creation_after_its_104<D: Driver>() {
    let emu = emulator("ietf-create#1 reset after=100KiB");
    let bytes = data(3 * UNIT, 76);
    let create = creation(&emu, InteropVersion::LATEST, IetfStrategy::Optimistic);
    upload::<D>(&emu, create, &bytes);
    assert!(stored_only(&emu) == bytes, "stored bytes differ");
    let log = emu.request_log();
    assert!(
        log[0].bytes_received > 0,
        "the creation carries bytes: {log:#?}"
    );
    let next = &log[1];
    if D::INTERIMS {
        assert_eq!(
            (next.kind, next.persisted),
            (RequestKind::IetfHead, Some(100 * 1024)),
            "the upload the 104 named is asked for: {log:#?}"
        );
        assert_eq!(emu.ietf_uploads().len(), 1);
    } else {
        assert_eq!(next.kind, RequestKind::IetfCreate, "{log:#?}");
        assert_eq!(emu.ietf_uploads().len(), 2);
    }
}

/// An upload interrupted mid-way resumes from its checkpoint at the offset
/// the emulator reports (`HEAD` first), in the same upload.
pub fn ietf_emulator_resumes_an_interrupted_upload_from_its_checkpoint<D: Driver>() {
    let emu = emulator("");
    let state = tempfile::tempdir().unwrap();
    let bytes = data(4 * UNIT + 5, 77);
    let run = || Call::Run {
        config: config(
            creation(&emu, InteropVersion::LATEST, IetfStrategy::Careful),
            &bytes,
        ),
        source: Source::Bytes(bytes.clone()),
        key: Some("ietf-resume"),
    };
    let mut second = interrupted_at_unit::<D>(state.path(), run());
    settled(&emu);
    emu.clear_request_log();
    second
        .call(run())
        .unwrap_or_else(|e| panic!("{}: {e}", D::NAME));
    assert!(stored_only(&emu) == bytes, "one upload, stored whole");
    assert_eq!(emu.ietf_uploads().len(), 1);
    let log = emu.request_log();
    assert_eq!(
        log[0].kind,
        RequestKind::IetfHead,
        "the resume asks first: {log:#?}"
    );
}

/// An upload interrupted while the emulator holds the first request that
/// carries its bytes, 100 KiB in, resumes from its checkpoint in the same
/// upload: `HEAD` first, no second creation. A driver whose transport
/// hands over interim responses sent those bytes in an optimistic
/// creation, so its checkpoint is the one the `104` with `Location` made,
/// saved while the creation was still in flight; one that cannot created
/// carefully, and the `201` made it.
pub fn ietf_emulator_resumes_an_upload_interrupted_in_its_first_body<D: Driver>() {
    let held = if D::INTERIMS {
        "ietf-create#1"
    } else {
        "ietf-patch#1"
    };
    let emu = emulator(&format!("{held} after=100KiB stall=2s"));
    let state = tempfile::tempdir().unwrap();
    let store = || resumable_local::FileCheckpointStore::new(state.path()).unwrap();
    let bytes = data(3 * UNIT, 79);
    let run = || Call::Run {
        config: config(
            creation(&emu, InteropVersion::LATEST, IetfStrategy::Optimistic),
            &bytes,
        ),
        source: Source::Bytes(bytes.clone()),
        key: Some("ietf-held"),
    };
    // The checkpoint is saved while the body streams: interrupting before
    // it is would test the machine's load, not the driver.
    let held_and_saved = || {
        emu.stats().held > 0
            && store()
                .load("ietf-held")
                .is_ok_and(|cp| cp.is_some_and(|cp| cp.session.is_some()))
    };
    keeping::<D>(store()).interrupted(run(), Interrupt::When(&held_and_saved));
    let checkpoint = keeping::<D>(store())
        .load_checkpoint("ietf-held")
        .unwrap()
        .unwrap_or_else(|| panic!("{}: no checkpoint of the held upload", D::NAME));
    assert!(
        checkpoint.session.is_some(),
        "{}: the checkpoint names the upload: {checkpoint:?}",
        D::NAME
    );
    // The held request ends (cut off) once its stall is over.
    while emu.stats().held > 0 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    settled(&emu);
    emu.clear_request_log();
    keeping::<D>(store())
        .call(run())
        .unwrap_or_else(|e| panic!("{}: {e}\n{:#?}", D::NAME, emu.request_log()));
    assert!(stored_only(&emu) == bytes, "one upload, stored whole");
    assert_eq!(emu.ietf_uploads().len(), 1, "{:#?}", emu.ietf_uploads());
    let log = emu.request_log();
    assert_eq!(log[0].kind, RequestKind::IetfHead, "{log:#?}");
    assert!(
        !kinds(&log).contains(&RequestKind::IetfCreate),
        "no second creation: {log:#?}"
    );
}

/// Cancelling an interrupted upload by its key sends `DELETE`, and the
/// emulator holds it as cancelled; the checkpoint is gone.
pub fn ietf_emulator_cancels_an_upload<D: Driver>() {
    let emu = emulator("");
    let bytes = data(3 * UNIT, 78);
    let create = creation(&emu, InteropVersion::LATEST, IetfStrategy::Careful);
    let call = Call::Run {
        config: config(create, &bytes),
        source: Source::Bytes(bytes.clone()),
        key: Some("ietf-cancel"),
    };
    cancelled_after_unit::<D>(&emu, call, "ietf-cancel", RequestKind::IetfCancel);
    assert_eq!(emu.ietf_uploads()[0].state, IetfStatus::Cancelled);
}

/// One `#[test]` per case of this catalogue, run with `$driver`.
#[macro_export]
macro_rules! ietf_emulator_tests {
    ($driver:ty) => {
        $crate::tests_of!($driver, ietf_emulator:
            ietf_emulator_stores_a_file_whole,
            ietf_emulator_stores_a_file_whole_in_interop_6,
            ietf_emulator_resumes_an_append_cut_off_by_a_reset,
            ietf_emulator_goes_on_after_a_409_from_a_lie_about_the_offset,
            ietf_emulator_sends_appends_at_half_the_size_after_a_bare_413,
            ietf_emulator_starts_an_expired_upload_over,
            ietf_emulator_refuses_a_damaged_upload_by_its_repr_digest,
            ietf_emulator_damage_found_by_the_repr_digest_of_a_head,
            ietf_emulator_resumes_an_optimistic_creation_after_its_104,
            ietf_emulator_resumes_an_interrupted_upload_from_its_checkpoint,
            ietf_emulator_resumes_an_upload_interrupted_in_its_first_body,
            ietf_emulator_cancels_an_upload,
        );
    };
}
