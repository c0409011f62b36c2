//! A request a model refuses, and the error body it answers with.

/// A refused request: the status, a short machine-readable reason and a
/// message that says what was wrong and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// A short reason, e.g. `invalid_argument`.
    pub reason: &'static str,
    /// What was wrong.
    pub message: String,
}

impl Refusal {
    /// A refusal with this status and reason.
    pub fn new(status: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            reason,
            message: message.into(),
        }
    }

    /// `400 invalid_argument`: the client broke the protocol.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_argument", message)
    }

    /// Whether the refusal says the client broke a protocol rule (as
    /// opposed to an answer a correct client can get, such as `404`).
    pub fn is_violation(&self) -> bool {
        matches!(self.status, 400 | 405 | 411)
    }

    /// The JSON error answer, as Cloud Storage and the file API write it:
    /// `{"error": {"code", "reason", "message"}}`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": {"code": self.status, "reason": self.reason, "message": self.message}
        })
    }

    /// [`Refusal::json`] as the bytes of a body.
    pub fn body(&self) -> String {
        self.json().to_string()
    }
}
