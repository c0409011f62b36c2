//! Raw HTTP/1.1 over `std::net::TcpStream` (no upload library), and helpers shared
//! by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest as _, Md5};
use resumable_emulator::{Emulator, EmulatorBuilder, EmulatorHandle, RequestRecord, Storage};
use serde_json::{Value, json};

pub(crate) const UNIT: usize = 262_144;
pub(crate) const KEY: &str = "test-key";

/// A response as read off the wire.
#[derive(Debug, Clone)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The JSON error message; asserts the error shape.
    pub(crate) fn error_message(&self) -> String {
        let v = self.json();
        assert_eq!(v["error"]["code"], self.status, "error shape: {v}");
        assert!(v["error"]["reason"].is_string(), "error shape: {v}");
        let m = v["error"]["message"]
            .as_str()
            .expect("error message")
            .to_owned();
        assert!(!m.is_empty());
        m
    }

    /// Persisted bytes a 308 reports (Range absent = 0).
    pub(crate) fn persisted(&self) -> u64 {
        match self.header("range") {
            None => 0,
            Some(r) => {
                let last = r.strip_prefix("bytes=0-").expect("Range bytes=0-N");
                last.parse::<u64>().unwrap() + 1
            }
        }
    }
}

/// One keep-alive connection.
pub(crate) struct Conn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    pub(crate) fn open(emu: &EmulatorHandle) -> Conn {
        Conn::open_addr(emu.addr())
    }

    /// A connection to an emulator at `addr` (one the test did not start in-process).
    pub(crate) fn open_addr(addr: std::net::SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Conn {
            stream,
            reader,
            host: addr.to_string(),
        }
    }

    /// Writes a request head; `headers` are sent as given (no Content-Length added).
    pub(crate) fn write_head(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, String)],
    ) -> io::Result<()> {
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        self.stream.write_all(head.as_bytes())
    }

    pub(crate) fn write_body(&mut self, body: &[u8]) -> io::Result<()> {
        self.stream.write_all(body)
    }

    /// Sends a request with an explicit Content-Length and reads the answer.
    pub(crate) fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> io::Result<Resp> {
        let mut all = headers.to_vec();
        all.push(("Content-Length", body.len().to_string()));
        self.write_head(method, target, &all)?;
        // A server may answer early; a failed write still leaves its answer to read.
        let _ = self.write_body(body);
        self.read_response()
    }

    /// Writes `pieces` as the chunks of a `Transfer-Encoding: chunked` body
    /// (an empty piece is skipped: it would end the body), then the last chunk.
    pub(crate) fn write_chunked_body(&mut self, pieces: &[&[u8]]) -> io::Result<()> {
        for piece in pieces.iter().filter(|p| !p.is_empty()) {
            self.stream
                .write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
            self.stream.write_all(piece)?;
            self.stream.write_all(b"\r\n")?;
        }
        self.stream.write_all(b"0\r\n\r\n")
    }

    /// Sends a request with a chunked body of `pieces` (no Content-Length)
    /// and reads the answer.
    pub(crate) fn send_chunked(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, String)],
        pieces: &[&[u8]],
    ) -> io::Result<Resp> {
        let mut all = headers.to_vec();
        all.push(("Transfer-Encoding", "chunked".to_owned()));
        self.write_head(method, target, &all)?;
        let _ = self.write_chunked_body(pieces);
        self.read_response()
    }

    /// Writes a request head with the given `Host` header instead of the
    /// emulator's address.
    pub(crate) fn set_host(&mut self, host: &str) {
        self.host = host.to_owned();
    }

    /// Closes the sending side (FIN): a body in flight is cut off.
    pub(crate) fn finish_writing(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Reads an answer's head, then its body as whatever arrives until the
    /// server closes the connection, whatever its `Content-Length` says.
    pub(crate) fn read_until_close(&mut self) -> io::Result<Resp> {
        let head = self.read_head()?;
        let mut body = Vec::new();
        self.reader.read_to_end(&mut body)?;
        Ok(Resp { body, ..head })
    }

    /// Sends a `HEAD` and reads its answer, which has no body whatever its
    /// `Content-Length` says.
    pub(crate) fn head(&mut self, target: &str, headers: &[(&str, String)]) -> io::Result<Resp> {
        self.write_head("HEAD", target, headers)?;
        self.read_head()
    }

    pub(crate) fn read_response(&mut self) -> io::Result<Resp> {
        let resp = self.read_head()?;
        let mut body = Vec::new();
        if let Some(n) = resp.header("content-length") {
            let n: usize = n.parse().unwrap();
            body.resize(n, 0);
            self.reader.read_exact(&mut body)?;
        } else if resp
            .header("transfer-encoding")
            .is_some_and(|t| t.contains("chunked"))
        {
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size)?;
                let n = usize::from_str_radix(size.trim(), 16).unwrap();
                let mut chunk = vec![0; n + 2];
                self.reader.read_exact(&mut chunk)?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        }
        Ok(Resp { body, ..resp })
    }

    fn read_head(&mut self) -> io::Result<Resp> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, format!("status line {line:?}"))
            })?;
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            self.reader.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap();
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        Ok(Resp {
            status,
            headers,
            body: Vec::new(),
        })
    }
}

/// `http://host:port/path?query` → `/path?query`.
pub(crate) fn target(url: &str) -> String {
    let rest = url.strip_prefix("http://").expect("http URL");
    rest[rest.find('/').expect("a path")..].to_owned()
}

pub(crate) fn builder() -> EmulatorBuilder {
    Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Memory)
        .seed(7)
}

pub(crate) fn start(b: EmulatorBuilder) -> EmulatorHandle {
    b.start_in_background().expect("emulator starts")
}

/// Deterministic bytes.
pub(crate) fn data(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678 ^ n as u32;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

pub(crate) fn crc32c_b64(data: &[u8]) -> String {
    STANDARD.encode(crc32c::crc32c(data).to_be_bytes())
}

pub(crate) fn md5_b64(data: &[u8]) -> String {
    STANDARD.encode(Md5::digest(data))
}

pub(crate) fn api_post(c: &mut Conn, path: &str, key: Option<&str>, body: &Value) -> Resp {
    let mut headers = vec![("Content-Type", "application/json".to_owned())];
    if let Some(k) = key {
        headers.push(("X-API-Key", k.to_owned()));
    }
    c.send("POST", path, &headers, body.to_string().as_bytes())
        .unwrap()
}

/// A session from the file API.
#[derive(Debug, Clone)]
pub(crate) struct Sess {
    pub(crate) upload_url: String,
    pub(crate) target: String,
    pub(crate) gcs_path: String,
    pub(crate) file_id: String,
    pub(crate) json: Value,
}

pub(crate) fn new_session(emu: &EmulatorHandle, size: u64, mime: &str) -> Sess {
    new_session_named(emu, "org_1", "data.bin", size, mime)
}

pub(crate) fn new_session_named(
    emu: &EmulatorHandle,
    org: &str,
    filename: &str,
    size: u64,
    mime: &str,
) -> Sess {
    let mut c = Conn::open(emu);
    let r = api_post(
        &mut c,
        &format!("/v1/organizations/{org}/files/upload-url"),
        Some(KEY),
        &json!({"filename": filename, "file_size": size, "mime_type": mime}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let json = r.json();
    let upload_url = json["upload_url"].as_str().unwrap().to_owned();
    Sess {
        target: target(&upload_url),
        upload_url,
        gcs_path: json["gcs_path"].as_str().unwrap().to_owned(),
        file_id: json["file_id"].as_str().unwrap().to_owned(),
        json,
    }
}

/// `PUT` with a Content-Range (and extra headers).
pub(crate) fn put(
    c: &mut Conn,
    target: &str,
    range: &str,
    body: &[u8],
    extra: &[(&str, String)],
) -> io::Result<Resp> {
    let mut headers = vec![("Content-Range", range.to_owned())];
    headers.extend_from_slice(extra);
    c.send("PUT", target, &headers, body)
}

/// `PUT` of bytes `from..to` of `data` with total `total` (`None`: `*`).
pub(crate) fn put_range(
    c: &mut Conn,
    target: &str,
    data: &[u8],
    from: usize,
    to: usize,
    total: Option<usize>,
) -> io::Result<Resp> {
    let total = total.map_or("*".to_owned(), |t| t.to_string());
    put(
        c,
        target,
        &format!("bytes {from}-{}/{total}", to - 1),
        &data[from..to],
        &[],
    )
}

/// A status query on a fresh connection.
pub(crate) fn query(emu: &EmulatorHandle, target: &str, total: Option<usize>) -> Resp {
    let total = total.map_or("*".to_owned(), |t| t.to_string());
    put(
        &mut Conn::open(emu),
        target,
        &format!("bytes */{total}"),
        b"",
        &[],
    )
    .unwrap()
}

/// Waits (bounded) until the log holds a request matching `pred`; returns it.
pub(crate) fn wait_for_log(
    emu: &EmulatorHandle,
    pred: impl Fn(&RequestRecord) -> bool,
) -> RequestRecord {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(r) = emu.request_log().into_iter().find(|r| pred(r)) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "no such request in the log: {:#?}",
            emu.request_log()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How a [`careful_upload`] went.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) gcs_path: String,
    pub(crate) object: Value,
    pub(crate) sessions: u32,
    pub(crate) requests: u32,
}

/// A simple protocol-following client loop, written out here (not an upload library):
/// chunks from the persisted offset, a status query after any failure, a new session
/// on 404/410. Bounded: panics after 200 requests.
pub(crate) fn careful_upload(emu: &EmulatorHandle, data: &[u8], chunk: usize) -> Outcome {
    let total = data.len();
    let mut sess = new_session_retrying(emu, total as u64);
    let mut sessions = 1;
    let mut offset = 0usize;
    let mut c = Conn::open(emu);
    for requests in 1..=200 {
        let end = (offset + chunk).min(total);
        let answer = put_range(&mut c, &sess.target, data, offset, end, Some(total));
        let answer = match answer {
            Ok(r) if matches!(r.status, 408 | 429 | 500..=599) => {
                c = Conn::open(emu);
                Err(r.status)
            }
            Ok(r) => Ok(r),
            Err(_) => {
                c = Conn::open(emu);
                Err(0)
            }
        };
        let r = match answer {
            Ok(r) => r,
            Err(_) => loop {
                // Status query after a doubtful failure (itself retried on failures).
                match put(&mut c, &sess.target, &format!("bytes */{total}"), b"", &[]) {
                    Ok(r) if !matches!(r.status, 408 | 429 | 500..=599) => break r,
                    _ => c = Conn::open(emu),
                }
            },
        };
        match r.status {
            200 if r.header("x-http-status-code-override") == Some("308") => {
                offset = r.persisted() as usize
            }
            200 | 201 => {
                return Outcome {
                    gcs_path: sess.gcs_path,
                    object: r.json(),
                    sessions,
                    requests,
                };
            }
            308 => offset = r.persisted() as usize,
            404 | 410 => {
                sess = new_session_retrying(emu, total as u64);
                sessions += 1;
                offset = 0;
            }
            s => panic!("unexpected {s}: {}", String::from_utf8_lossy(&r.body)),
        }
    }
    panic!(
        "upload did not finish in 200 requests: {:#?}",
        emu.request_log()
    );
}

fn new_session_retrying(emu: &EmulatorHandle, size: u64) -> Sess {
    for _ in 0..10 {
        let mut c = Conn::open(emu);
        let r = api_post(
            &mut c,
            "/v1/organizations/org_1/files/upload-url",
            Some(KEY),
            &json!({"filename": "data.bin", "file_size": size, "mime_type": "application/octet-stream"}),
        );
        if r.status == 200 {
            let json = r.json();
            let upload_url = json["upload_url"].as_str().unwrap().to_owned();
            return Sess {
                target: target(&upload_url),
                upload_url,
                gcs_path: json["gcs_path"].as_str().unwrap().to_owned(),
                file_id: json["file_id"].as_str().unwrap().to_owned(),
                json,
            };
        }
    }
    panic!("upload-url keeps failing");
}
