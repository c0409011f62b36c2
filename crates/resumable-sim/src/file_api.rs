//! The rules of the application file API, written once: the API key, the
//! JSON bodies of `upload-url` and register, and what a registration must
//! match. The sim's [`Server`](crate::Server) and the emulator both apply
//! them; each keeps its own sessions, ids and objects.

use serde_json::{Map, Value};

use crate::refusal::Refusal;

/// The largest JSON body the file API reads (1 MiB).
pub const MAX_JSON_BODY: usize = 1 << 20;

/// Checks a request's `X-API-Key` value against the one key accepted.
pub fn check_key(sent: Option<&[u8]>, key: &str) -> Result<(), Refusal> {
    match sent {
        None => Err(Refusal::new(
            401,
            "unauthenticated",
            "missing X-API-Key header",
        )),
        Some(k) if k != key.as_bytes() => {
            Err(Refusal::new(401, "unauthenticated", "invalid API key"))
        }
        Some(_) => Ok(()),
    }
}

/// A request body read as the JSON object both endpoints take.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, Refusal> {
    if body.len() > MAX_JSON_BODY {
        return Err(body_too_large());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Refusal::bad("request body must be a JSON object")),
        Err(e) => Err(Refusal::bad(format!("request body is not valid JSON: {e}"))),
    }
}

/// `413` for a JSON body over [`MAX_JSON_BODY`].
pub fn body_too_large() -> Refusal {
    Refusal::new(
        413,
        "payload_too_large",
        "request body is larger than 1 MiB",
    )
}

/// What `POST …/files/upload-url` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadUrlRequest {
    /// 1 to 255 characters.
    pub filename: String,
    /// More than 0, at most the server's maximum.
    pub file_size: u64,
    /// Not blank.
    pub mime_type: String,
}

impl UploadUrlRequest {
    /// Reads and checks the body; `max_file_size` bounds `file_size` (`413`).
    pub fn parse(body: &Map<String, Value>, max_file_size: u64) -> Result<Self, Refusal> {
        let request = Self {
            filename: filename_field(body)?,
            file_size: size_field(body, max_file_size)?,
            mime_type: mime_field(body)?,
        };
        match body.get("upload_type") {
            None | Some(Value::Null) => Ok(request),
            Some(Value::String(t)) if t == "resumable" => Ok(request),
            Some(other) => Err(Refusal::bad(format!(
                "unsupported `upload_type` {other}; only \"resumable\""
            ))),
        }
    }
}

/// What `POST …/files` asks to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRequest {
    /// 1 to 255 characters.
    pub filename: String,
    /// The object's path, as `upload-url` handed it out.
    pub gcs_path: String,
    /// More than 0, at most the server's maximum.
    pub file_size: u64,
    /// Not blank.
    pub mime_type: String,
}

impl RegisterRequest {
    /// Reads and checks the body; `max_file_size` bounds `file_size` (`413`).
    pub fn parse(body: &Map<String, Value>, max_file_size: u64) -> Result<Self, Refusal> {
        let filename = filename_field(body)?;
        let gcs_path = string_field(body, "gcs_path")?;
        if gcs_path.is_empty() {
            return Err(Refusal::bad("`gcs_path` must not be empty"));
        }
        Ok(Self {
            filename,
            gcs_path: gcs_path.to_owned(),
            file_size: size_field(body, max_file_size)?,
            mime_type: mime_field(body)?,
        })
    }

    /// `404`: no object (of this organization) at the path.
    pub fn not_found(&self) -> Refusal {
        Refusal::new(
            404,
            "not_found",
            format!("no uploaded object at gcs_path {:?}", self.gcs_path),
        )
    }

    /// Checks the stored object's size and type against the request (`409`).
    pub fn check_object(&self, size: u64, content_type: &str) -> Result<(), Refusal> {
        if size != self.file_size {
            return Err(Refusal::new(
                409,
                "size_mismatch",
                format!(
                    "`file_size` is {} but the uploaded object has {size} bytes",
                    self.file_size
                ),
            ));
        }
        if content_type != self.mime_type {
            return Err(Refusal::new(
                409,
                "mime_type_mismatch",
                format!(
                    "`mime_type` is {:?} but the uploaded object is {content_type:?}",
                    self.mime_type
                ),
            ));
        }
        Ok(())
    }
}

/// Where the file API puts an upload's object.
pub fn gcs_path(org: &str, file_id: &str, filename: &str) -> String {
    format!("files/{org}/{file_id}/{filename}")
}

fn string_field<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a str, Refusal> {
    match body.get(name) {
        None | Some(Value::Null) => Err(Refusal::bad(format!("missing field `{name}`"))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(Refusal::bad(format!("`{name}` must be a string"))),
    }
}

fn filename_field(body: &Map<String, Value>) -> Result<String, Refusal> {
    let name = string_field(body, "filename")?;
    match name.chars().count() {
        0 => Err(Refusal::bad("`filename` must not be empty")),
        n if n > 255 => Err(Refusal::bad(format!(
            "`filename` is {n} characters long; at most 255 are allowed"
        ))),
        _ => Ok(name.to_owned()),
    }
}

fn size_field(body: &Map<String, Value>, max: u64) -> Result<u64, Refusal> {
    let size = match body.get("file_size") {
        None | Some(Value::Null) => return Err(Refusal::bad("missing field `file_size`")),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                u
            } else if n.as_i64().is_some() || n.as_f64().is_some_and(|f| f <= 0.0) {
                0
            } else {
                return Err(Refusal::bad("`file_size` must be a whole number of bytes"));
            }
        }
        Some(_) => return Err(Refusal::bad("`file_size` must be a number")),
    };
    if size == 0 {
        return Err(Refusal::bad("`file_size` must be greater than 0"));
    }
    if size > max {
        return Err(Refusal::new(
            413,
            "file_too_large",
            format!("`file_size` {size} is larger than the maximum of {max} bytes"),
        ));
    }
    Ok(size)
}

fn mime_field(body: &Map<String, Value>) -> Result<String, Refusal> {
    let mime = string_field(body, "mime_type")?;
    if mime.trim().is_empty() {
        return Err(Refusal::bad("`mime_type` must not be empty"));
    }
    Ok(mime.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn body(json: &str) -> Map<String, Value> {
        json_object(json.as_bytes()).unwrap()
    }

    #[test]
    fn reads_and_checks_both_bodies() {
        let ok = body(r#"{"filename":"a.bin","file_size":5,"mime_type":"x/y"}"#);
        let req = UploadUrlRequest::parse(&ok, 10).unwrap();
        assert_eq!((req.filename.as_str(), req.file_size), ("a.bin", 5));
        assert_eq!(UploadUrlRequest::parse(&ok, 4).unwrap_err().status, 413);
        for bad in [
            r#"{"filename":"","file_size":5,"mime_type":"x/y"}"#,
            r#"{"filename":"a","file_size":0,"mime_type":"x/y"}"#,
            r#"{"filename":"a","file_size":-1,"mime_type":"x/y"}"#,
            r#"{"filename":"a","file_size":1.5,"mime_type":"x/y"}"#,
            r#"{"filename":"a","file_size":"5","mime_type":"x/y"}"#,
            r#"{"filename":"a","file_size":5,"mime_type":" "}"#,
            r#"{"filename":"a","file_size":5,"mime_type":"x/y","upload_type":"multipart"}"#,
        ] {
            assert_eq!(
                UploadUrlRequest::parse(&body(bad), 10).unwrap_err().status,
                400,
                "{bad}"
            );
        }
        assert_eq!(json_object(b"[1]").unwrap_err().status, 400);
        let reg = body(r#"{"filename":"a","gcs_path":"p","file_size":5,"mime_type":"x/y"}"#);
        let reg = RegisterRequest::parse(&reg, 10).unwrap();
        assert!(reg.check_object(5, "x/y").is_ok());
        assert_eq!(
            reg.check_object(4, "x/y").unwrap_err().reason,
            "size_mismatch"
        );
        assert_eq!(
            reg.check_object(5, "x/z").unwrap_err().reason,
            "mime_type_mismatch"
        );
        assert_eq!(check_key(None, "k").unwrap_err().status, 401);
        assert_eq!(
            check_key(Some(b"j"), "k").unwrap_err().message,
            "invalid API key"
        );
        assert!(check_key(Some(b"k"), "k").is_ok());
    }
}
