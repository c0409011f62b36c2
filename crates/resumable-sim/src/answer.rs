//! What the protocol models share: an answer's status and headers, and how
//! a request's body arrived.

/// An answer's status and headers, in the order they go on the wire; the
/// body, if any, is the server's to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// The headers, the protocol's version header first where the answer
    /// has it.
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    /// An answer of `status` with no headers.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
        }
    }

    /// The answer with header `name` added.
    pub(crate) fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }

    /// The value of header `name`, if the answer has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Replaces the value of header `name` where the answer has it (a
    /// server's scripted lie); `false` when it has none.
    pub fn replace(&mut self, name: &str, value: String) -> bool {
        match self.headers.iter_mut().find(|(k, _)| *k == name) {
            Some((_, v)) => {
                *v = value;
                true
            }
            None => false,
        }
    }

    /// A response builder with this status and these headers; add the body.
    pub fn builder(&self) -> http::response::Builder {
        self.headers.iter().fold(
            http::Response::builder().status(self.status),
            |b, (k, v)| b.header(*k, v),
        )
    }
}

/// How a request's body arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Whole: every byte its framing promised.
    Whole,
    /// Cut off: the connection broke or went idle first.
    CutOff,
}
