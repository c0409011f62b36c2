//! A stream that ends below what the server already holds: the engine
//! finds it where it reads ahead, and the error is typed (the same in
//! `resumable-blocking`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use resumable_tokio::{
    AsyncTransport, Chunking, Error, ReadSource, RequestBody, SessionUrl, SourceError,
    TransportError, UploadError, Uploader,
};

const UNIT: u64 = 256 * 1024;

/// A session that claims `held` bytes to every request.
struct Holds {
    held: u64,
    requests: Arc<Mutex<Vec<String>>>,
}

impl AsyncTransport for Holds {
    async fn send(
        &mut self,
        request: http::Request<RequestBody>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let range = request.headers().get("content-range").unwrap();
        let range = range.to_str().unwrap().to_owned();
        self.requests.lock().unwrap().push(range);
        Ok(http::Response::builder()
            .status(308)
            .header("range", format!("bytes=0-{}", self.held - 1))
            .body(Bytes::new())
            .unwrap())
    }
}

#[tokio::test]
async fn a_stream_shorter_than_the_session_holds_is_a_typed_source_error() {
    let stream = vec![7u8; (UNIT + UNIT / 4) as usize];
    let requests = Arc::new(Mutex::new(Vec::new()));
    let transport = Holds {
        held: 2 * UNIT,
        requests: Arc::clone(&requests),
    };
    let result = Uploader::with_transport(transport)
        .chunking(Chunking::Fixed(UNIT))
        .upload_to_session(
            SessionUrl::new("https://upload.example/u?upload_id=x"),
            &mut ReadSource::new(&stream[..]),
        )
        .await;
    let Err(UploadError::Upload(Error::Source(SourceError::EndedEarly { total, held }))) = result
    else {
        panic!("{result:?}")
    };
    assert_eq!((total, held), (stream.len() as u64, 2 * UNIT));
    // Found before any byte was sent.
    assert_eq!(*requests.lock().unwrap(), ["bytes */*"]);
}
