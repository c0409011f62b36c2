//! Session URLs come from the emulator's own address, never from the `Host`
//! header a client sends (some send it without the port, or a name of their own).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;

#[test]
fn session_urls_use_the_emulators_address_whatever_the_host_header() {
    let emu = start(builder());
    let base = emu.base_url().to_owned();
    let bucket = emu.bucket().to_owned();
    for host in ["127.0.0.1", "example.test", "example.test:1"] {
        let mut c = Conn::open(&emu);
        c.set_host(host);
        // The file API's upload_url.
        let r = api_post(
            &mut c,
            "/v1/organizations/org_1/files/upload-url",
            Some(KEY),
            &json!({"filename": "h.txt", "file_size": 2, "mime_type": "text/plain"}),
        );
        assert_eq!(r.status, 200);
        let url = r.json()["upload_url"].as_str().unwrap().to_owned();
        assert!(
            url.starts_with(&format!("{base}/upload/storage/v1/b/{bucket}/o?")),
            "Host: {host}: {url}"
        );
        // The initiate's Location.
        let r = c
            .send(
                "POST",
                &format!("/upload/storage/v1/b/{bucket}/o?uploadType=resumable&name=h.bin"),
                &[],
                b"",
            )
            .unwrap();
        assert_eq!(r.status, 200);
        let location = r.header("location").unwrap().to_owned();
        assert!(
            location.starts_with(&format!("{base}/upload/storage/v1/b/{bucket}/o?")),
            "Host: {host}: {location}"
        );
        // Both work, and the object's links name the emulator too.
        let r = put(&mut c, &target(&location), "bytes 0-1/2", b"hi", &[]).unwrap();
        assert_eq!(r.status, 200);
        for link in ["selfLink", "mediaLink"] {
            let v = r.json()[link].as_str().unwrap().to_owned();
            assert!(v.starts_with(&base), "Host: {host}: {link} {v}");
        }
        let r = put(&mut c, &target(&url), "bytes 0-1/2", b"hi", &[]).unwrap();
        assert_eq!(r.status, 200);
        let rec = emu.request_log().pop().unwrap();
        assert_eq!(
            rec.host.as_deref(),
            Some(host),
            "the log keeps the Host sent"
        );
    }
}
