//! The JSON bodies a server sends: the upload session, the final object, the File.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use resumable_core::codecs::object;
use resumable_core::{File, UploadSession};

fuzz_target!(|data: &[u8]| {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    if let Ok(session) = UploadSession::parse(data, 1024, now) {
        assert!(session.expires_at > now);
        assert!(session.max_file_size.is_none_or(|m| m >= 1024));
    }
    let mut headers = http::HeaderMap::new();
    if let Some(split) = data.iter().position(|&b| b == 0) {
        if let Ok(v) = http::HeaderValue::from_bytes(&data[..split]) {
            headers.insert("x-goog-hash", v);
        }
    }
    let _ = object::parse(data, &headers);
    let _ = serde_json::from_slice::<File>(data);
});
