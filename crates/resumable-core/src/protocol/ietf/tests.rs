//! The draft's own examples as golden tests: request heads as the draft
//! shows them (plus the interop version every draft request carries), and
//! its responses read.

use http::HeaderValue;

use super::*;
use crate::config::IetfStrategy;

/// A request head as HTTP/1.1 writes it, header names in the draft's case;
/// `Host` from the URI, as a driver adds it.
fn head(req: &http::Request<Body>) -> String {
    let uri = req.uri();
    let mut text = format!(
        "{} {} HTTP/1.1\nHost: {}\n",
        req.method(),
        uri.path(),
        uri.host().unwrap()
    );
    for (name, value) in req.headers() {
        let name: Vec<String> = name
            .as_str()
            .split('-')
            .map(|w| w[..1].to_uppercase() + &w[1..])
            .collect();
        text.push_str(&format!(
            "{}: {}\n",
            name.join("-"),
            value.to_str().unwrap()
        ));
    }
    text
}

fn map(headers: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    map
}

fn read_at(sent: Sent, status: u16, headers: &[(&str, &str)], body: &'static str) -> Answer {
    read(
        sent,
        "https://example.com/upload",
        StatusCode::from_u16(status).unwrap(),
        &map(headers),
        &Bytes::from_static(body.as_bytes()),
    )
}

fn base(uri: &http::Uri) -> Base<'_> {
    static EMPTY: std::sync::OnceLock<HeaderMap> = std::sync::OnceLock::new();
    Base {
        uri,
        extra: EMPTY.get_or_init(HeaderMap::new),
    }
}

/// §4.2.3 B: a creation carrying the first 23456789 of 123456789 bytes.
#[test]
fn creation_example_b() {
    let create = IetfCreate {
        strategy: IetfStrategy::Optimistic,
        ..IetfCreate::new("https://example.com/upload")
    };
    let req = super::create(
        &create,
        Some(123_456_789),
        Some(0..23_456_789),
        Digests::default(),
        &HeaderMap::new(),
    )
    .unwrap();
    assert_eq!(
        head(&req),
        "POST /upload HTTP/1.1\nHost: example.com\nUpload-Complete: ?0\n\
         Content-Length: 23456789\nUpload-Length: 123456789\n\
         Upload-Draft-Interop-Version: 8\n"
    );
    assert_eq!(req.body(), &Body::Source(0..23_456_789));
    // Its answer: the upload resource, and the bytes it holds.
    assert_eq!(
        read_at(
            Sent::Create {
                end: 23_456_789,
                total: Some(123_456_789)
            },
            201,
            &[
                ("location", "https://example.com/upload/3fd4994ad"),
                ("upload-complete", "?0"),
                ("upload-limit", "max-size=1234567890"),
            ],
            ""
        ),
        Answer::Created {
            url: "https://example.com/upload/3fd4994ad".into(),
            persisted: Some(23_456_789)
        }
    );
}

/// §4.2.3 C: the whole upload in the creation, answered `500` after a `104`.
#[test]
fn creation_example_c_and_its_104() {
    let create = IetfCreate {
        strategy: IetfStrategy::Optimistic,
        ..IetfCreate::new("https://example.com/upload")
    };
    let req = super::create(
        &create,
        Some(123_456_789),
        Some(0..123_456_789),
        Digests::default(),
        &HeaderMap::new(),
    )
    .unwrap();
    assert_eq!(
        head(&req),
        "POST /upload HTTP/1.1\nHost: example.com\nUpload-Complete: ?1\n\
         Content-Length: 123456789\nUpload-Length: 123456789\n\
         Upload-Draft-Interop-Version: 8\n"
    );
    let interim = map(&[
        ("upload-draft-interop-version", "8"),
        ("location", "https://example.com/upload/0587fa44b"),
    ]);
    let status = StatusCode::from_u16(104).unwrap();
    assert_eq!(
        read_interim(
            InteropVersion::V8,
            "https://example.com/upload",
            status,
            &interim
        ),
        Some(Interim {
            location: Some(Ok("https://example.com/upload/0587fa44b".into())),
            offset: None
        })
    );
    // The version must be there, and be this one.
    assert_eq!(read_interim(InteropVersion::V6, "", status, &interim), None);
    assert_eq!(
        read_interim(InteropVersion::V8, "", status, &map(&[("location", "/x")])),
        None
    );
    assert_eq!(
        read_interim(InteropVersion::V8, "", StatusCode::CONTINUE, &interim),
        None
    );
    let sent = Sent::Create {
        end: 123_456_789,
        total: Some(123_456_789),
    };
    assert_eq!(read_at(sent, 500, &[], ""), Answer::Retry { status: 500 });
}

/// §4.2.3 A's final answer, and D: a failure of the target resource.
#[test]
fn creation_examples_a_and_d_answers() {
    let sent = Sent::Create {
        end: 123_456_789,
        total: Some(123_456_789),
    };
    assert!(matches!(
        read_at(
            sent,
            200,
            &[
                ("location", "https://example.com/upload/b530ce8ff"),
                ("upload-complete", "?1"),
                ("content-type", "application/json"),
            ],
            r#"{"attachmentId": "b530ce8ff"}"#
        ),
        Answer::Complete(Ok(_))
    ));
    let partial = Sent::Create {
        end: 23_456_789,
        total: Some(123_456_789),
    };
    assert!(matches!(
        read_at(partial, 400, &[("upload-complete", "?1")], ""),
        Answer::ProcessingFailed { status: 400, .. }
    ));
}

/// §4.3.3: offset retrieval.
#[test]
fn offset_retrieval_example() {
    let uri: http::Uri = "https://example.com/upload/c35e2cd29".parse().unwrap();
    let req = query(&base(&uri), InteropVersion::V8).unwrap();
    assert_eq!(
        head(&req),
        "HEAD /upload/c35e2cd29 HTTP/1.1\nHost: example.com\nUpload-Draft-Interop-Version: 8\n"
    );
    let answer = read_at(
        Sent::Query,
        204,
        &[
            ("upload-complete", "?0"),
            ("upload-offset", "25000000"),
            ("upload-length", "100000000"),
            ("upload-limit", "max-age=3600"),
            ("cache-control", "no-store"),
        ],
        "",
    );
    assert_eq!(answer, Answer::Persisted(25_000_000));
}

/// §4.4.3 A and B: appends, and their answers.
#[test]
fn append_examples() {
    let uri: http::Uri = "https://example.com/upload/37a504d87".parse().unwrap();
    let req = append(
        &base(&uri),
        InteropVersion::V8,
        20_000_000..23_456_789,
        None,
        Digests::default(),
    )
    .unwrap();
    assert_eq!(
        head(&req),
        "PATCH /upload/37a504d87 HTTP/1.1\nHost: example.com\nUpload-Complete: ?0\n\
         Upload-Offset: 20000000\nContent-Length: 3456789\n\
         Content-Type: application/partial-upload\nUpload-Draft-Interop-Version: 8\n"
    );
    let interim = map(&[
        ("upload-draft-interop-version", "8"),
        ("upload-offset", "21728394"),
    ]);
    let status = StatusCode::from_u16(104).unwrap();
    assert_eq!(
        read_interim(InteropVersion::V8, "", status, &interim).and_then(|i| i.offset),
        Some(21_728_394)
    );
    let sent = Sent::Append {
        digest: false,
        total: None,
        end: 23_456_789,
    };
    assert_eq!(
        read_at(sent, 204, &[("upload-complete", "?0")], ""),
        Answer::Persisted(23_456_789)
    );
    let uri: http::Uri = "https://example.com/upload/d38d6ffe8".parse().unwrap();
    let req = append(
        &base(&uri),
        InteropVersion::V8,
        1_230_000_000..1_234_567_890,
        Some(1_234_567_890),
        Digests::default(),
    )
    .unwrap();
    assert_eq!(
        head(&req),
        "PATCH /upload/d38d6ffe8 HTTP/1.1\nHost: example.com\nUpload-Complete: ?1\n\
         Upload-Offset: 1230000000\nContent-Length: 4567890\n\
         Content-Type: application/partial-upload\nUpload-Draft-Interop-Version: 8\n"
    );
    let last = Sent::Append {
        digest: true,
        total: Some(1_234_567_890),
        end: 1_234_567_890,
    };
    assert!(matches!(
        read_at(
            last,
            200,
            &[
                ("upload-complete", "?1"),
                ("content-type", "application/json")
            ],
            "{}"
        ),
        Answer::Complete(Ok(_))
    ));
}

/// §4.5.3: cancellation.
#[test]
fn cancellation_example() {
    let uri: http::Uri = "https://example.com/upload/5688a431c".parse().unwrap();
    let req = cancel(&base(&uri), InteropVersion::V8).unwrap();
    assert_eq!(
        head(&req),
        "DELETE /upload/5688a431c HTTP/1.1\nHost: example.com\nUpload-Draft-Interop-Version: 8\n"
    );
    assert_eq!(read_at(Sent::Cancel, 204, &[], ""), Answer::Deleted);
}

/// §7.1 and §7.2 (and -05's completed-upload) as answers.
#[test]
fn problem_answers() {
    let sent = Sent::Append {
        digest: false,
        total: None,
        end: 25_000_000,
    };
    let body = r#"{"type":"https://iana.org/assignments/http-problem-types#mismatching-upload-offset",
        "title": "offset from request does not match offset of resource",
        "expected-offset": 12500000, "provided-offset": 25000000}"#;
    let json = ("content-type", "application/problem+json");
    assert_eq!(
        read_at(
            sent,
            409,
            &[
                json,
                ("upload-offset", "12500000"),
                ("upload-complete", "?0")
            ],
            body
        ),
        Answer::Persisted(12_500_000)
    );
    assert_eq!(
        read_at(sent, 409, &[("upload-offset", "7")], ""),
        Answer::Persisted(7)
    );
    assert_eq!(read_at(sent, 409, &[], ""), Answer::Conflict);
    let body = r#"{"type":"https://iana.org/assignments/http-problem-types#inconsistent-upload-length",
        "title": "inconsistent length values for upload"}"#;
    assert_eq!(
        read_at(sent, 400, &[json, ("upload-complete", "?0")], body),
        Answer::Problem {
            status: 400,
            problem: UploadProblem::InconsistentLength
        }
    );
}

/// Draft -05's (interop 6) examples: the same fields, its version.
#[test]
fn interop_6_heads() {
    let create = IetfCreate {
        interop: InteropVersion::V6,
        ..IetfCreate::new("https://example.com/upload")
    };
    let req = super::create(
        &create,
        Some(100),
        Some(0..25),
        Digests::default(),
        &HeaderMap::new(),
    )
    .unwrap();
    assert_eq!(req.headers()[UPLOAD_DRAFT_INTEROP_VERSION], "6");
    assert_eq!(req.headers()[UPLOAD_COMPLETE], "?0");
    assert_eq!(req.headers()[UPLOAD_LENGTH], "100");
    assert_eq!(req.headers()["content-length"], "25");
    // -05's creation answer carries the offset.
    assert_eq!(
        read_at(
            Sent::Create {
                end: 25,
                total: Some(100)
            },
            201,
            &[
                ("location", "https://example.com/upload/b530ce8ff"),
                ("upload-complete", "?0"),
                ("upload-offset", "25"),
                ("upload-limit", "max-size=1000000000"),
            ],
            ""
        ),
        Answer::Created {
            url: "https://example.com/upload/b530ce8ff".into(),
            persisted: Some(25)
        }
    );
    assert_eq!(
        expires_at(
            &map(&[("upload-limit", "expires=60")]),
            InteropVersion::V6,
            SystemTime::UNIX_EPOCH
        ),
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(60))
    );
}

#[test]
fn digests_ride_on_the_request() {
    let uri: http::Uri = "https://example.com/upload/x".parse().unwrap();
    let sum = [0u8; 32];
    let req = append(
        &base(&uri),
        InteropVersion::V8,
        0..10,
        Some(10),
        Digests {
            repr: Some(&sum),
            content: Some(&sum),
        },
    )
    .unwrap();
    let zero = "sha-256=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:";
    assert_eq!(req.headers()[REPR_DIGEST], zero);
    assert_eq!(req.headers()[CONTENT_DIGEST], zero);
}

#[test]
fn bad_answers_are_typed_never_panics() {
    let sent = Sent::Append {
        digest: false,
        total: Some(10),
        end: 5,
    };
    assert!(matches!(
        read_at(sent, 204, &[("upload-offset", "-5")], ""),
        Answer::Malformed(ProtocolError::IetfField { .. })
    ));
    assert_eq!(
        read_at(Sent::Query, 204, &[("upload-complete", "?0")], ""),
        Answer::Malformed(ProtocolError::MissingHeader("Upload-Offset"))
    );
    assert_eq!(
        read_at(
            Sent::Query,
            204,
            &[("upload-offset", "11"), ("upload-length", "10")],
            ""
        ),
        Answer::Malformed(ProtocolError::OffsetBeyondLength {
            offset: 11,
            length: 10
        })
    );
    assert!(matches!(
        read_at(
            Sent::Query,
            200,
            &[("upload-offset", "10"), ("upload-complete", "?1")],
            ""
        ),
        Answer::Complete(Ok(_))
    ));
    let create = Sent::Create {
        end: 0,
        total: Some(10),
    };
    assert_eq!(
        read_at(create, 201, &[], ""),
        Answer::Malformed(ProtocolError::MissingLocation)
    );
    assert!(matches!(
        read_at(create, 201, &[("location", "ftp://x/y")], ""),
        Answer::Malformed(ProtocolError::Location(_))
    ));
    assert_eq!(read_at(sent, 404, &[], ""), Answer::Gone);
    assert!(matches!(read_at(sent, 413, &[], ""), Answer::TooLarge(_)));
    assert!(matches!(
        read_at(create, 404, &[], ""),
        Answer::Rejected { status: 404, .. }
    ));
    assert!(validate_create(&IetfCreate::new("/relative")).is_err());
    let bad_type = IetfCreate {
        content_type: Some("a\nb".into()),
        ..IetfCreate::new("https://example.com/x")
    };
    assert!(validate_create(&bad_type).is_err());
}
