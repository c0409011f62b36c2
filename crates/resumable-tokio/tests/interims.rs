//! Interim responses through a custom transport that hands them over with
//! its final answer, as hyper does when both heads arrive in one read: the
//! engine may abandon the request on an interim, and the driver must then
//! go on with what the engine asks next, whatever the final answer was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::BodyExt as _;
use resumable_core::{Config, Error, IetfCreate, IetfStrategy};
use resumable_tokio::{
    AsyncTransport, BytesSource, InterimResponses, RequestBody, TransportError, UploadError,
    Uploader,
};

const ENDPOINT: &str = "https://example.com/files";
const UPLOAD: &str = "https://example.com/files/abc";

/// Answers an optimistic creation with a `104` naming the upload and a
/// `max-size` below the source, then at once a `413`; a `DELETE` with
/// `204`. Keeps each request's method and URL.
#[derive(Clone, Default)]
struct TooLargeAtOnce {
    seen: Arc<Mutex<Vec<(Method, String)>>>,
}

impl AsyncTransport for TooLargeAtOnce {
    fn send(
        &mut self,
        mut request: http::Request<RequestBody>,
    ) -> impl Future<Output = Result<Response<Bytes>, TransportError>> + Send {
        let seen = self.seen.clone();
        async move {
            let (method, url) = (request.method().clone(), request.uri().to_string());
            seen.lock().unwrap().push((method.clone(), url));
            let interims = request.extensions_mut().remove::<InterimResponses>();
            let _ = request.into_body().collect().await;
            let answer = |status: u16| {
                Response::builder()
                    .status(status)
                    .header("upload-draft-interop-version", "8")
                    .body(Bytes::new())
                    .unwrap()
            };
            if method != Method::POST {
                return Ok(answer(204));
            }
            let mut head = HeaderMap::new();
            head.insert(
                "upload-draft-interop-version",
                HeaderValue::from_static("8"),
            );
            head.insert("location", HeaderValue::from_static(UPLOAD));
            head.insert("upload-limit", HeaderValue::from_static("max-size=10"));
            interims
                .expect("the driver listens for interims")
                .arrived(StatusCode::from_u16(104).unwrap(), head);
            Ok(answer(413))
        }
    }
}

#[tokio::test]
async fn a_104_that_stops_the_upload_arriving_with_its_final_answer_still_cancels_it() {
    let transport = TooLargeAtOnce::default();
    let seen = transport.seen.clone();
    let create = IetfCreate {
        strategy: IetfStrategy::Optimistic,
        ..IetfCreate::new(ENDPOINT)
    };
    let source = Bytes::from(vec![7u8; 1000]);
    let result = Uploader::with_transport(transport)
        .run(
            Config::ietf_create(create, Some(1000)),
            &mut BytesSource::new(source),
            None,
        )
        .await;
    assert!(
        matches!(
            result,
            Err(UploadError::Upload(Error::TooLarge { max: Some(10), .. }))
        ),
        "{result:?}"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (Method::POST, ENDPOINT.to_owned()),
            (Method::DELETE, UPLOAD.to_owned())
        ]
    );
}
