//! The engine's redaction of session credentials however the session URL
//! spells them: a percent-encoded `upload_id` value, a percent-encoded
//! parameter name, and a server upload id that repeats the credential.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Instant, SystemTime};

use bytes::Bytes;
use resumable_core::{Action, Config, Event, SessionUrl, Upload};

const SECRET: &str = "ADPy+cd/Secret=42";

/// The secret as a query value: `ADPy%2Bcd%2FSecret%3D42`.
fn encoded() -> String {
    SECRET
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

/// Starts an upload to `url`, answers its status query with a 308 whose
/// `X-GUploader-UploadID` is `upload_id`, and returns everything a user
/// could print along the way.
fn run(url: &str, upload_id: &str) -> (String, Vec<Event>) {
    let now = Instant::now();
    let config = Config::gcs_session(SessionUrl::new(url), Some(10));
    let mut shown = format!("{config:?}{config:#?}");
    let mut up = Upload::new(config, now, SystemTime::now()).unwrap();
    let action = up.poll_action(now);
    shown += &format!("{action:?}{action:#?}");
    let Action::Send(request) = action else {
        panic!("a session upload starts with a status query")
    };
    assert_eq!(request.http.uri().to_string(), url, "sent as given");
    let response = http::Response::builder()
        .status(308)
        .header("x-guploader-uploadid", upload_id)
        .body(Bytes::new())
        .unwrap();
    up.handle_response(request.id, response, now).unwrap();
    let action = up.poll_action(now);
    shown += &format!("{action:?}{action:#?}{up:?}");
    let checkpoint = up.checkpoint();
    shown += &format!("{checkpoint:?}{checkpoint:#?}");
    let events: Vec<Event> = std::iter::from_fn(|| up.poll_event()).collect();
    shown += &format!("{events:?}");
    (shown, events)
}

fn assert_hidden(shown: &str) {
    for s in [SECRET.to_owned(), encoded(), "Secret".to_owned()] {
        assert!(!shown.contains(&s), "{s:?} in {shown}");
    }
}

#[test]
fn a_percent_encoded_credential_is_redacted_and_not_echoed_as_upload_id() {
    let url = format!(
        "https://up.example/upload/storage/v1/b/b/o?uploadType=resumable&upload_id={}",
        encoded()
    );
    // The upload host names the upload by the credential, decoded.
    let (shown, events) = run(&url, SECRET);
    assert_hidden(&shown);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::UploadId(id) if id.contains("redacted"))),
        "{events:?}"
    );
    // Or by a longer id that holds it.
    let (shown, _) = run(&url, &format!("v1.{}.x", encoded()));
    assert_hidden(&shown);
}

#[test]
fn a_percent_encoded_parameter_name_still_names_the_credential() {
    for name in ["upload%5Fid", "upload%5fid", "%75pload_id", "UPLOAD_ID"] {
        let url = format!("https://up.example/u?name=obj&{name}={}", encoded());
        let (shown, _) = run(&url, "AHxI1nP-unrelated");
        assert_hidden(&shown);
        assert!(shown.contains("name=obj"), "{shown}");
        assert!(
            shown.contains("AHxI1nP-unrelated"),
            "a harmless id is shown"
        );
    }
}
