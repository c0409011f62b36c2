//! Plain `http` carries the API key and the session URL in the clear, so it
//! may only go to loopback unless the caller allows it: API bases and the
//! session URLs a server hands out alike, refused before anything is sent.

use resumable_core::{Chunking, SessionUrl};
use resumable_emulator::EmulatorHandle;
use resumable_local::{CheckpointStore, UploadError};

use super::{
    Recording, UNIT, assert_clean, builder, captured_logs, fast_retries, file, secrets_of, shown,
    target,
};
use crate::{Driver, Notes, Setup, Wire};

/// An uploader whose every request goes to `emu` whatever host it names
/// (the hosts named are in the notes), plain `http` off loopback allowed
/// when `allow`, checkpoints in `store` when given.
fn routed<D: Driver>(emu: &EmulatorHandle, allow: bool, store: Option<Recording>) -> (D, Notes) {
    let notes = Notes::default();
    let up = D::build(Setup {
        chunking: Chunking::Fixed(UNIT),
        retry: fast_retries(),
        store: store.map(|s| Box::new(s) as Box<dyn CheckpointStore + Send>),
        wire: Wire::Noting {
            to: Some(emu.addr()),
            notes: notes.clone(),
        },
        allow_insecure_http: allow,
        ..Setup::default()
    });
    (up, notes)
}

/// API bases off loopback over plain `http`, however they dress up as
/// loopback (a look-alike name, another address, the scheme in capitals),
/// are refused with the host named and nothing sent; allowed explicitly,
/// the same host is used.
pub fn plain_http_api_bases_off_loopback_are_refused_and_nothing_is_sent<D: Driver>() {
    captured_logs();
    let emu = builder("").start_in_background().unwrap();
    let (_dir, path) = file(1, "refused.bin");
    let port = emu.addr().port();
    for base in [
        format!("http://api.example:{port}"),
        format!("http://10.0.0.1:{port}"),
        format!("http://127.0.0.1.evil.example:{port}"),
        format!("http://localhost.example:{port}"),
        format!("http://[::2]:{port}"),
        format!("HTTP://api.example:{port}"),
    ] {
        let (mut up, notes) = routed::<D>(&emu, false, None);
        let err = up.upload_file(&target(&base), &path).unwrap_err();
        let UploadError::Insecure { host } = &err else {
            panic!("{} {base}: {err}", D::NAME)
        };
        assert!(
            base.to_ascii_lowercase()
                .contains(&host.to_ascii_lowercase()),
            "{host}"
        );
        assert!(notes.hosts().is_empty(), "{base}: sent anyway");
        assert_clean("the error", &shown(&err), &secrets_of::<&str>([]));
    }
    assert!(emu.request_log().is_empty());

    let (mut up, notes) = routed::<D>(&emu, true, None);
    let outcome = up
        .upload_file(&target(&format!("http://api.example:{port}")), &path)
        .unwrap();
    assert!(outcome.file.is_some());
    let hosts = notes.hosts();
    assert!(hosts.iter().any(|h| h == "api.example"), "{hosts:?}");
    assert!(
        hosts.iter().all(|h| h == "api.example" || h == "127.0.0.1"),
        "the API, and the session on the emulator: {hosts:?}"
    );
}

/// A session URL off loopback over plain `http`, handed out by a loopback
/// API, is refused before anything is sent to it (the error holds no
/// secret); allowed explicitly, it is used and the File registered.
pub fn a_plain_http_upload_url_off_loopback_is_refused_unless_allowed<D: Driver>() {
    captured_logs();
    let emu = builder("")
        .upload_base_url("http://uploads.example:{port}")
        .start_in_background()
        .unwrap();
    let (_dir, path) = file(2, "elsewhere.bin");
    let api = target(emu.base_url());
    let store = Recording::default();
    let (mut up, notes) = routed::<D>(&emu, false, Some(store.clone()));
    let err = up.upload_file(&api, &path).unwrap_err();
    assert!(
        matches!(&err, UploadError::Insecure { host } if host == "uploads.example"),
        "{err}"
    );
    assert_eq!(notes.hosts(), ["127.0.0.1"], "only the API was asked");
    assert!(
        emu.request_log()
            .iter()
            .all(|r| !r.kind.is_upload_endpoint())
    );
    let urls = store.session_urls();
    assert!(
        urls.iter()
            .all(|u| u.expose().starts_with("http://uploads.example:"))
    );
    let mut secrets = secrets_of(urls.iter().map(SessionUrl::expose));
    secrets.extend(super::secrets(&emu));
    assert_clean("the error", &(shown(&err) + &err.to_string()), &secrets);

    let (mut up, notes) = routed::<D>(&emu, true, None);
    let outcome = up.upload_file(&api, &path).unwrap();
    assert!(outcome.file.is_some());
    assert!(notes.hosts().iter().any(|h| h == "uploads.example"));
    assert_eq!(emu.registrations(), 1);
}

/// Every spelling of loopback (any 127/8 address, `[::1]`, `localhost` in
/// any case) may use plain `http` without being allowed.
pub fn every_loopback_form_may_use_plain_http<D: Driver>() {
    captured_logs();
    for base in [
        "http://127.9.9.9:{port}",
        "http://[::1]:{port}",
        "http://localhost:{port}",
        "http://LocalHost:{port}",
    ] {
        let emu = builder("")
            .upload_base_url(base)
            .start_in_background()
            .unwrap();
        let (_dir, path) = file(1, "loopback.bin");
        let (mut up, notes) = routed::<D>(&emu, false, None);
        let outcome = up
            .upload_file(&target(emu.base_url()), &path)
            .unwrap_or_else(|e| panic!("{} {base}: {e}", D::NAME));
        assert!(outcome.file.is_some());
        assert!(notes.hosts().len() >= 3, "upload-url, a chunk, register");
    }
}

/// One `#[test]` per case of the secrets catalogue, run with `$driver`.
#[macro_export]
macro_rules! secrets_tests {
    ($driver:ty) => {
        $crate::tests_of!($driver, secrets:
            no_log_line_and_no_debug_output_holds_a_secret,
            a_percent_encoded_upload_id_name_is_redacted_too,
            plain_http_api_bases_off_loopback_are_refused_and_nothing_is_sent,
            a_plain_http_upload_url_off_loopback_is_refused_unless_allowed,
            every_loopback_form_may_use_plain_http,
            an_upload_header_credential_on_the_draft_shows_nowhere,
        );
    };
}
