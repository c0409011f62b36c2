//! Applying a picked fault at the points of a request where it can strike.

use std::time::Duration;

use http::{HeaderValue, StatusCode};
use hyper::body::Incoming;

use crate::faults::Respond;
use crate::reply::{Body, Reply, drain, error_response};
use crate::shared::Call;

/// The response of a `status=` fault.
pub(crate) fn fault_status(code: u16, retry_after: Option<u64>) -> http::Response<Body> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut r = error_response(
        status,
        "injected_fault",
        &format!("scripted fault: the server answers {code}"),
    );
    if let Some(secs) = retry_after {
        r.headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

/// What the fault does before any body byte is read: stall, then answer or reset.
/// `Err` carries the reply that ends the request (the body is drained).
pub(crate) async fn before_body(
    call: &mut Call,
    body: Incoming,
    idle: Duration,
) -> Result<Incoming, Reply> {
    let Some(fault) = call.fault.clone() else {
        return Ok(body);
    };
    if fault.after > 0 {
        return Ok(body);
    }
    if let Some(d) = fault.stall {
        tokio::time::sleep(d).await;
    }
    match fault.respond {
        Some(Respond::Status { code, retry_after }) => {
            drain(body, idle);
            call.outcome = Some("fault");
            Err(fault_status(code, retry_after).into())
        }
        Some(Respond::Reset) => {
            call.outcome = Some("fault-reset");
            Err(Reply::Reset)
        }
        _ => Ok(body),
    }
}

/// What the fault does once the threshold `after` (> 0) is reached on a request
/// whose body is already read (file API requests, bodiless upload requests).
pub(crate) async fn after_body(call: &mut Call) -> Option<Reply> {
    let fault = call.fault.clone()?;
    if fault.after == 0 {
        return None;
    }
    if let Some(d) = fault.stall {
        tokio::time::sleep(d).await;
    }
    match fault.respond {
        Some(Respond::Status { code, retry_after }) => {
            call.outcome = Some("fault");
            Some(fault_status(code, retry_after).into())
        }
        Some(Respond::Reset) => {
            call.outcome = Some("fault-reset");
            Some(Reply::Reset)
        }
        _ => None,
    }
}

/// Turns the final answer into a dropped one when the fault says so.
pub(crate) fn finish(call: &mut Call, reply: Reply) -> Reply {
    if call.drops_response() {
        call.outcome = Some("fault-dropped-response");
        Reply::Reset
    } else {
        reply
    }
}
