//! The drivers against the emulator's tus 1.0 mode over real sockets,
//! the catalogue both run: a whole upload, a deferred length, a `PATCH`
//! cut off by a fault and resumed, a `460` re-sent, a lie about the offset
//! met with `409` and a new `HEAD`, an expired upload started over, a
//! checkpoint resumed, and termination. Every upload is checked against the
//! emulator's stored bytes and its request log.
#![allow(unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use resumable_core::{Config, TusCreate};
use resumable_emulator::{
    Emulator, EmulatorHandle, RequestKind, RequestRecord, Storage, TusStatus,
};

use crate::driver::{Call, Driver, Source};
use crate::emulator::{
    KEY, UNIT, cancelled_after_unit, data, emulator, interrupted_at_unit, settled, uploader,
};

/// A creation at the emulator's tus endpoint, with the file's name and type.
fn creation(emu: &EmulatorHandle, name: &str) -> TusCreate {
    let mut create = TusCreate::new(emu.tus_endpoint());
    create.filename = Some(name.into());
    create.filetype = Some("application/octet-stream".into());
    create
}

/// Uploads `bytes` (of known length unless `stream`) to `emu` with a fresh
/// uploader of `D`, to its successful end.
fn upload<D: Driver>(emu: &EmulatorHandle, name: &str, bytes: &[u8], stream: bool) -> u32 {
    let length = (!stream).then_some(bytes.len() as u64);
    let source = if stream {
        Source::Stream(bytes.to_vec())
    } else {
        Source::Bytes(bytes.to_vec())
    };
    let outcome = uploader::<D>()
        .call(Call::Run {
            config: Config::tus_create(creation(emu, name), length),
            source,
            key: None,
        })
        .unwrap_or_else(|e| panic!("{}: {e}\n{:#?}", D::NAME, emu.request_log()));
    assert_eq!(outcome.object.size, bytes.len() as u64);
    outcome.restarts
}

/// The bytes of the one complete tus upload the emulator holds.
fn stored_only(emu: &EmulatorHandle) -> Vec<u8> {
    let complete: Vec<_> = emu
        .tus_uploads()
        .into_iter()
        .filter(|u| u.state == TusStatus::Complete)
        .collect();
    let [upload] = complete.as_slice() else {
        panic!("expected one complete upload: {:#?}", emu.tus_uploads())
    };
    emu.tus_upload_bytes(&upload.url).unwrap()
}

/// The PATCHes of the log.
fn patches(log: &[RequestRecord]) -> Vec<&RequestRecord> {
    log.iter()
        .filter(|r| r.kind == RequestKind::TusPatch)
        .collect()
}

/// Discovery, creation with the file's metadata, then `PATCH`es of 256 KiB
/// each answered `204`: the emulator holds the file byte for byte.
pub fn tus_emulator_stores_a_file_whole<D: Driver>() {
    let emu = emulator("");
    let bytes = data(3 * UNIT + 123, 51);
    assert_eq!(upload::<D>(&emu, "whole.bin", &bytes, false), 0);
    assert!(stored_only(&emu) == bytes, "stored bytes differ");
    let log = emu.request_log();
    let kinds: Vec<_> = log.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds[..2],
        [RequestKind::TusOptions, RequestKind::TusCreate],
        "{log:#?}"
    );
    assert_eq!(patches(&log).len(), 4, "{log:#?}");
    assert!(log.iter().all(|r| r.outcome == "ok"), "{log:#?}");
    let info = &emu.tus_uploads()[0];
    assert_eq!(info.metadata["filename"], "whole.bin");
    assert_eq!(info.metadata["filetype"], "application/octet-stream");
}

/// A creation answered with a relative `Location` (`/tus/files/{id}`): the
/// driver resolves it against the endpoint and uploads there.
pub fn tus_emulator_follows_a_relative_location<D: Driver>() {
    let emu = Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Memory)
        .tus_relative_location(true)
        .seed(7)
        .start_in_background()
        .expect("emulator starts");
    let bytes = data(2 * UNIT + 1, 61);
    upload::<D>(&emu, "relative.bin", &bytes, false);
    assert!(stored_only(&emu) == bytes, "stored bytes differ");
    assert_eq!(emu.tus_uploads().len(), 1);
}

/// A stream of unknown length: created with `Upload-Defer-Length: 1`, its
/// length told with the `PATCH` that reaches its end.
pub fn tus_emulator_takes_a_deferred_length<D: Driver>() {
    let emu = emulator("");
    let bytes = data(2 * UNIT + 7, 52);
    upload::<D>(&emu, "stream.bin", &bytes, true);
    assert!(stored_only(&emu) == bytes, "stored bytes differ");
    assert_eq!(emu.tus_uploads()[0].length, Some(bytes.len() as u64));
}

/// A `PATCH` reset after 100 KiB of its body: the driver declared its
/// checksum, so the emulator keeps none of those bytes it cannot verify;
/// the driver asks for the offset (`HEAD`) and sends the chunk again, in
/// the same upload.
pub fn tus_emulator_resumes_a_patch_cut_off_by_a_reset<D: Driver>() {
    let emu = emulator("patch#2 reset after=100KiB");
    let bytes = data(3 * UNIT, 53);
    assert_eq!(upload::<D>(&emu, "reset.bin", &bytes, false), 0);
    assert!(stored_only(&emu) == bytes, "stored bytes differ");
    let log = emu.request_log();
    let cut = log.iter().position(|r| r.fault.is_some()).unwrap();
    assert_eq!(log[cut].outcome, "fault-reset");
    assert_eq!(log[cut].bytes_received, 100 * 1024);
    assert_eq!(
        log[cut].persisted,
        Some(UNIT),
        "unverified bytes are not kept"
    );
    let next = &log[cut + 1];
    assert_eq!(
        (next.kind, next.persisted),
        (RequestKind::TusHead, Some(UNIT)),
        "the offset is asked for: {log:#?}"
    );
    let again = &log[cut + 2];
    assert_eq!(
        (again.kind, again.persisted),
        (RequestKind::TusPatch, Some(2 * UNIT))
    );
    assert_eq!(emu.tus_uploads().len(), 1);
}

/// Against a server without the checksum extension (the first chunk then
/// rides in the creation), a `PATCH` reset after 100 KiB keeps those bytes:
/// the driver asks for the offset (`HEAD`) and goes on from the middle of
/// its chunk.
pub fn tus_emulator_resumes_mid_chunk_from_a_patch_cut_off_without_checksums<D: Driver>() {
    let emu = Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Memory)
        .tus_checksum_algorithms(Vec::<String>::new())
        .faults("patch#2 reset after=100KiB")
        .seed(7)
        .start_in_background()
        .expect("emulator starts");
    let bytes = data(3 * UNIT, 60);
    assert_eq!(upload::<D>(&emu, "partial.bin", &bytes, false), 0);
    assert!(stored_only(&emu) == bytes, "stored bytes differ");
    let log = emu.request_log();
    let cut = log.iter().position(|r| r.fault.is_some()).unwrap();
    // Without a checksum to agree on, the first chunk rides in the creation.
    assert_eq!(
        (log[1].kind, log[1].bytes_received),
        (RequestKind::TusCreate, UNIT)
    );
    let kept = log[cut - 1].persisted.unwrap() + 100 * 1024;
    assert_eq!(log[cut].persisted, Some(kept), "what arrived is kept");
    let next = &log[cut + 1];
    assert_eq!(
        (next.kind, next.persisted),
        (RequestKind::TusHead, Some(kept))
    );
    let on = &log[cut + 2];
    assert_eq!(on.kind, RequestKind::TusPatch, "{log:#?}");
    assert!(on.persisted > Some(kept), "{log:#?}");
    assert_eq!(emu.tus_uploads().len(), 1);
}

/// A `PATCH` of which the emulator keeps 100 KiB less than it received,
/// and says so: the driver goes on from the offset the answer names.
pub fn tus_emulator_goes_on_from_a_patch_persisted_in_part<D: Driver>() {
    let emu = emulator("patch#2 short=100KiB");
    let bytes = data(3 * UNIT, 59);
    assert_eq!(upload::<D>(&emu, "short.bin", &bytes, false), 0);
    assert!(stored_only(&emu) == bytes, "stored bytes differ");
    let log = emu.request_log();
    let short = log.iter().position(|r| r.fault.is_some()).unwrap();
    assert_eq!(log[short].persisted, Some(2 * UNIT - 100 * 1024));
    assert_eq!(log[short].status, Some(204));
    let next = &log[short + 1];
    assert_eq!(next.kind, RequestKind::TusPatch, "no HEAD needed: {log:#?}");
    assert_eq!(emu.tus_uploads().len(), 1);
}

/// A byte damaged on its way in fails the `PATCH`'s checksum: `460`, and
/// the driver sends that `PATCH` again, whole.
pub fn tus_emulator_resends_a_patch_refused_with_460<D: Driver>() {
    let emu = emulator("patch#2 corrupt");
    let bytes = data(3 * UNIT, 54);
    upload::<D>(&emu, "checksum.bin", &bytes, false);
    assert!(stored_only(&emu) == bytes, "stored bytes differ");
    let log = emu.request_log();
    let refused = log
        .iter()
        .position(|r| r.status == Some(460))
        .unwrap_or_else(|| panic!("no 460: did the driver send Upload-Checksum? {log:#?}"));
    assert_eq!(log[refused].persisted, Some(UNIT), "nothing of it kept");
    let again = &log[refused + 1];
    assert_eq!(again.kind, RequestKind::TusPatch, "{log:#?}");
    assert_eq!(again.bytes_received, log[refused].bytes_received);
    assert_eq!((again.status, again.persisted), (Some(204), Some(2 * UNIT)));
}

/// A `204` that says less was kept than was: the driver's next `PATCH`
/// from there meets `409`, and it asks for the offset again (`HEAD`)
/// rather than guess.
pub fn tus_emulator_requeries_after_a_409_from_a_lie_about_the_offset<D: Driver>() {
    let emu = emulator("patch#1 persisted=1000");
    let bytes = data(2 * UNIT, 55);
    upload::<D>(&emu, "lie.bin", &bytes, false);
    assert!(stored_only(&emu) == bytes, "stored bytes differ");
    let log = emu.request_log();
    let conflict = log
        .iter()
        .position(|r| r.status == Some(409))
        .unwrap_or_else(|| panic!("no 409: {log:#?}"));
    let next = &log[conflict + 1];
    assert_eq!(
        (next.kind, next.persisted),
        (RequestKind::TusHead, Some(UNIT)),
        "{log:#?}"
    );
}

/// An upload that expires mid-way (`410`) starts over with a new creation,
/// which ends whole.
pub fn tus_emulator_starts_an_expired_upload_over<D: Driver>() {
    let emu = emulator("patch#2 expire");
    let bytes = data(3 * UNIT, 56);
    assert_eq!(
        upload::<D>(&emu, "expire.bin", &bytes, false),
        1,
        "one restart"
    );
    assert!(stored_only(&emu) == bytes, "stored bytes differ");
    let states: Vec<_> = emu.tus_uploads().iter().map(|u| u.state).collect();
    assert_eq!(states, [TusStatus::Expired, TusStatus::Complete]);
    let log = emu.request_log();
    assert!(log.iter().any(|r| r.status == Some(410)), "{log:#?}");
}

/// An upload interrupted mid-way resumes from its checkpoint at the offset
/// the emulator reports (`HEAD`), in the same upload.
pub fn tus_emulator_resumes_an_interrupted_upload_from_its_checkpoint<D: Driver>() {
    let emu = emulator("");
    let state = tempfile::tempdir().unwrap();
    let bytes = data(4 * UNIT + 5, 57);
    let run = || Call::Run {
        config: Config::tus_create(creation(&emu, "resume.bin"), Some(bytes.len() as u64)),
        source: Source::Bytes(bytes.clone()),
        key: Some("tus-resume"),
    };
    let mut second = interrupted_at_unit::<D>(state.path(), run());
    settled(&emu);
    emu.clear_request_log();
    second
        .call(run())
        .unwrap_or_else(|e| panic!("{}: {e}", D::NAME));
    assert!(stored_only(&emu) == bytes, "one upload, stored whole");
    assert_eq!(emu.tus_uploads().len(), 1);
    let log = emu.request_log();
    let asked = log
        .iter()
        .find(|r| r.kind != RequestKind::TusOptions)
        .unwrap();
    assert_eq!(
        asked.kind,
        RequestKind::TusHead,
        "the resume asks first: {log:#?}"
    );
}

/// Termination: cancelling an interrupted upload by its key sends `DELETE`,
/// and the emulator holds it as terminated.
pub fn tus_emulator_terminates_a_cancelled_upload<D: Driver>() {
    let emu = emulator("");
    let bytes = data(3 * UNIT, 58);
    let call = Call::Run {
        config: Config::tus_create(creation(&emu, "gone.bin"), Some(bytes.len() as u64)),
        source: Source::Bytes(bytes),
        key: Some("tus-cancel"),
    };
    cancelled_after_unit::<D>(&emu, call, "tus-cancel", RequestKind::TusTerminate);
    assert_eq!(emu.tus_uploads()[0].state, TusStatus::Terminated);
}

/// One `#[test]` per case of this catalogue, run with `$driver`.
#[macro_export]
macro_rules! tus_emulator_tests {
    ($driver:ty) => {
        $crate::tests_of!($driver, tus_emulator:
            tus_emulator_stores_a_file_whole,
            tus_emulator_takes_a_deferred_length,
            tus_emulator_follows_a_relative_location,
            tus_emulator_resumes_a_patch_cut_off_by_a_reset,
            tus_emulator_goes_on_from_a_patch_persisted_in_part,
            tus_emulator_resumes_mid_chunk_from_a_patch_cut_off_without_checksums,
            tus_emulator_resends_a_patch_refused_with_460,
            tus_emulator_requeries_after_a_409_from_a_lie_about_the_offset,
            tus_emulator_starts_an_expired_upload_over,
            tus_emulator_resumes_an_interrupted_upload_from_its_checkpoint,
            tus_emulator_terminates_a_cancelled_upload,
        );
    };
}
