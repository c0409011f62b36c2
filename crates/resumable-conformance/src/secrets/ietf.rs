//! A credential in an upload header, on an upload by the IETF draft
//! ("Resumable Uploads for HTTP"): sent with every request the upload
//! makes, shown nowhere else.

use http::{HeaderName, HeaderValue};
use resumable_core::{Chunking, Config, IetfCreate, InteropVersion};
use resumable_emulator::RequestKind;
use resumable_local::CheckpointStore;

use super::logs::{Recording, recorded, refused_with_400};
use super::{UNIT, assert_clean, captured_logs, fast_retries, shown};
use crate::emulator::{data, emulator};
use crate::{Call, Driver, Setup, Source};

/// A bearer token with characters that percent-encoding changes.
const TOKEN: &str = "tok/Ietf+Bearer=7e11c0de";

/// The configuration of `bytes` sent to `endpoint` by a careful creation,
/// with the token in `Authorization`.
fn config(endpoint: &str, bytes: &[u8]) -> Config {
    let mut create = IetfCreate::new(endpoint);
    create.interop = InteropVersion::LATEST;
    let mut config = Config::ietf_create(create, Some(bytes.len() as u64));
    config.upload_headers.insert(
        HeaderName::from_static("authorization"),
        HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap(),
    );
    config
}

/// An uploader in [`UNIT`] chunks with quick retries, keeping checkpoints
/// in `store`, calling `on_event` when given.
fn uploader<D: Driver>(store: &Recording, on_event: Option<crate::OnEvent>) -> D {
    D::build(Setup {
        chunking: Chunking::Fixed(UNIT),
        retry: fast_retries(),
        store: Some(Box::new(store.clone()) as Box<dyn CheckpointStore + Send>),
        on_event,
        ..Setup::default()
    })
}

/// An upload by the draft with `Authorization: Bearer …` in its upload
/// headers, through a `503`, a reset mid-append and the `HEAD` after it,
/// then an upload refused with `400` twice (resumed from its checkpoint in
/// between): every request to the draft's endpoint carried the header,
/// and the token shows in no log line at any level, no event, no error
/// text, and no `Debug` output of a value the user holds (the uploader,
/// the configuration, the outcome, errors, checkpoints).
pub fn an_upload_header_credential_on_the_draft_shows_nowhere<D: Driver>() {
    let logs = captured_logs();
    let mut debug = String::new();

    let emu = emulator("ietf-patch#2 status=503; ietf-patch#3 reset after=100KiB");
    let bytes = data(4 * UNIT + 17, 91);
    let store = Recording::default();
    let (events, on_event) = recorded();
    let mut up = uploader::<D>(&store, Some(on_event));
    let first = config(&emu.ietf_endpoint(), &bytes);
    debug += &shown(&first);
    let outcome = up
        .call(Call::Run {
            config: first,
            source: Source::Bytes(bytes.clone()),
            key: Some("ietf-secret"),
        })
        .unwrap_or_else(|e| panic!("{}: {e}\n{:#?}", D::NAME, emu.request_log()));
    assert_eq!(outcome.object.size, bytes.len() as u64);
    let log = emu.request_log();
    let kinds: Vec<RequestKind> = log.iter().map(|r| r.kind).collect();
    for kind in [
        RequestKind::IetfCreate,
        RequestKind::IetfAppend,
        RequestKind::IetfHead,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} in {kinds:?}");
    }
    assert!(log.iter().all(|r| r.authorization), "{log:#?}");
    debug += &shown(&outcome);
    debug += &shown(&up);
    for e in events.lock().unwrap().iter() {
        debug += &shown(e);
    }
    for cp in store.saved() {
        debug += &shown(&cp);
        debug += &serde_json::to_string(&cp).unwrap();
    }
    assert!(!store.saved().is_empty(), "the upload was checkpointed");

    let emu2 = emulator("ietf-patch#2 status=400; ietf-patch#3 status=400");
    let bytes2 = data(3 * UNIT, 92);
    let store2 = Recording::default();
    let mut up2 = uploader::<D>(&store2, None);
    for _ in 0..2 {
        let err = up2
            .call(Call::Run {
                config: config(&emu2.ietf_endpoint(), &bytes2),
                source: Source::Bytes(bytes2.clone()),
                key: Some("ietf-refused"),
            })
            .unwrap_err();
        debug += &refused_with_400(&err);
    }
    let log2 = emu2.request_log();
    assert!(
        log2.iter().any(|r| r.kind == RequestKind::IetfHead),
        "the second run resumed: {log2:#?}"
    );
    assert!(log2.iter().all(|r| r.authorization), "{log2:#?}");
    for cp in store2.saved() {
        debug += &shown(&cp);
        debug += &serde_json::to_string(&cp).unwrap();
    }

    let text = logs.text();
    for expected in ["retrying", "persisted"] {
        assert!(text.contains(expected), "{expected:?} is logged:\n{text}");
    }
    let secrets = super::forms_of(TOKEN);
    assert_clean("the logs", &text, &secrets);
    assert_clean("Debug output", &debug, &secrets);
    assert_clean("the request logs", &(shown(&log) + &shown(&log2)), &secrets);
}
