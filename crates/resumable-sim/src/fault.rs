//! What a model does wrong with one request, on purpose.

/// A fault for one request. The same vocabulary as the emulator's fault
/// specs, for the requests an IO-free model can spoil.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Behave.
    None,
    /// Answer this status without processing (`Retry-After` seconds if given).
    Status(u16, Option<u64>),
    /// Process the request, then answer this status instead of the real one.
    StatusAfter(u16),
    /// The connection resets before the server sees the request.
    Reset,
    /// The server processes the request, the answer is lost (reset).
    LostResponse,
    /// Persist only this many 256 KiB units of the new bytes of a chunk.
    PersistUnits(u64),
    /// Answer a 308 as `200` + `X-Http-Status-Code-Override: 308`.
    Override308,
    /// The session disappears before this request (404).
    KillSession,
    /// Process the request, then answer with the real answer's body cut to
    /// this many bytes (a whole message: its length says so).
    CutBody(usize),
}
