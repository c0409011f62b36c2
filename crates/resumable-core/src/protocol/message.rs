//! The human message of an error answer, whatever the server: what a
//! refusal says, for the error the user sees.

/// The human message of an error answer: the JSON `message`, `detail` or
/// `error` field in their usual shapes, else the body's first line when it
/// is short text, else the status's reason phrase.
pub(crate) fn error_message(status: http::StatusCode, body: &[u8]) -> String {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body)
        && let Some(msg) = json_message(&json)
    {
        return msg;
    }
    match std::str::from_utf8(body) {
        Ok(text) if !text.trim().is_empty() && !text.contains('<') => {
            let line = text.trim().lines().next().unwrap_or_default();
            line.chars().take(300).collect()
        }
        _ => status.canonical_reason().unwrap_or("no message").to_owned(),
    }
}

fn json_message(v: &serde_json::Value) -> Option<String> {
    for key in ["message", "detail", "error", "error_description"] {
        match v.get(key) {
            Some(serde_json::Value::String(s)) => return Some(s.chars().take(300).collect()),
            Some(inner @ serde_json::Value::Object(_)) => {
                if let Some(m) = json_message(inner) {
                    return Some(m);
                }
            }
            Some(serde_json::Value::Array(items)) => {
                // FastAPI validation errors: [{"msg": …, "loc": …}, …]
                let msgs: Vec<&str> = items
                    .iter()
                    .filter_map(|i| i.get("msg").or_else(|| i.get("message")))
                    .filter_map(serde_json::Value::as_str)
                    .collect();
                if !msgs.is_empty() {
                    return Some(msgs.join("; ").chars().take(300).collect());
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_from_common_shapes() {
        let s = http::StatusCode::BAD_REQUEST;
        assert_eq!(
            error_message(s, br#"{"error":{"code":"x","message":"bad name"}}"#),
            "bad name"
        );
        assert_eq!(
            error_message(s, br#"{"detail":"Invalid API key"}"#),
            "Invalid API key"
        );
        assert_eq!(
            error_message(s, br#"{"detail":[{"msg":"a"},{"msg":"b"}]}"#),
            "a; b"
        );
        assert_eq!(error_message(s, b"plain words\nmore"), "plain words");
        assert_eq!(error_message(s, b"<html>"), "Bad Request");
        assert_eq!(error_message(s, b""), "Bad Request");
        assert_eq!(error_message(s, &[0xff, 0xfe]), "Bad Request");
    }
}
