//! Scripted faults: the spec language, its parser and the engine that picks the
//! fault (if any) for each request.
//!
//! The grammar is documented on the crate root ([`crate#fault-spec`]).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use crate::log::RequestKind;

/// A parsed fault spec: a list of rules, tried in order for each request.
///
/// Parse one with [`str::parse`]; [`Display`](fmt::Display) gives the rules back,
/// one per line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultPlan {
    rules: Vec<FaultRule>,
}

impl FaultPlan {
    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Appends the rules of `other`.
    pub fn extend(&mut self, other: FaultPlan) {
        self.rules.extend(other.rules);
    }

    /// Each rule's text, in order.
    pub fn rules(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.source.as_str())
    }
}

impl FromStr for FaultPlan {
    type Err = FaultSpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let rules = spec
            .split([';', '\n'])
            .map(str::trim)
            .filter(|r| !r.is_empty() && !r.starts_with('#'))
            .map(FaultRule::parse)
            .collect::<Result<_, _>>()?;
        Ok(FaultPlan { rules })
    }
}

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rule) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(&rule.source)?;
        }
        Ok(())
    }
}

/// A fault spec that does not parse; says which rule and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault rule {rule:?}: {message}")]
pub struct FaultSpecError {
    /// The rule's text.
    pub rule: String,
    /// What is wrong with it.
    pub message: String,
}

/// Which requests a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selector {
    Request,
    Put,
    Chunk,
    Final,
    Query,
    Delete,
    Initiate,
    UploadUrl,
    Register,
    Api,
    Tus,
    Options,
    Create,
    Head,
    Patch,
    Terminate,
    Ietf,
    IetfOptions,
    IetfCreate,
    IetfHead,
    IetfPatch,
    IetfDelete,
}

impl Selector {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "request" => Selector::Request,
            "put" => Selector::Put,
            "chunk" => Selector::Chunk,
            "final" => Selector::Final,
            "query" => Selector::Query,
            "delete" => Selector::Delete,
            "initiate" => Selector::Initiate,
            "upload-url" => Selector::UploadUrl,
            "register" => Selector::Register,
            "api" => Selector::Api,
            "tus" => Selector::Tus,
            "options" => Selector::Options,
            "create" => Selector::Create,
            "head" => Selector::Head,
            "patch" => Selector::Patch,
            "terminate" => Selector::Terminate,
            "ietf" => Selector::Ietf,
            "ietf-options" => Selector::IetfOptions,
            "ietf-create" => Selector::IetfCreate,
            "ietf-head" => Selector::IetfHead,
            "ietf-patch" => Selector::IetfPatch,
            "ietf-delete" => Selector::IetfDelete,
            _ => return None,
        })
    }

    fn matches(self, kind: RequestKind) -> bool {
        use RequestKind as K;
        match self {
            Selector::Request => kind.is_upload_endpoint(),
            Selector::Put => matches!(kind, K::Chunk | K::Final | K::Query | K::Put),
            Selector::Chunk => kind == K::Chunk,
            Selector::Final => kind == K::Final,
            Selector::Query => kind == K::Query,
            Selector::Delete => kind == K::Delete,
            Selector::Initiate => kind == K::Initiate,
            Selector::UploadUrl => kind == K::UploadUrl,
            Selector::Register => kind == K::Register,
            Selector::Api => matches!(kind, K::UploadUrl | K::Register),
            Selector::Tus => kind.is_tus(),
            Selector::Options => kind == K::TusOptions,
            Selector::Create => kind == K::TusCreate,
            Selector::Head => kind == K::TusHead,
            Selector::Patch => kind == K::TusPatch,
            Selector::Terminate => kind == K::TusTerminate,
            Selector::Ietf => kind.is_ietf(),
            Selector::IetfOptions => kind == K::IetfOptions,
            Selector::IetfCreate => kind == K::IetfCreate,
            Selector::IetfHead => kind == K::IetfHead,
            Selector::IetfPatch => kind == K::IetfAppend,
            Selector::IetfDelete => kind == K::IetfCancel,
        }
    }

    /// Whether the rule counts requests of a resumable-upload protocol
    /// (tus or the IETF draft), which share the body and offset faults.
    fn is_resumable(self) -> bool {
        self.is_tus()
            || matches!(
                self,
                Selector::Ietf
                    | Selector::IetfOptions
                    | Selector::IetfCreate
                    | Selector::IetfHead
                    | Selector::IetfPatch
                    | Selector::IetfDelete
            )
    }

    fn is_tus(self) -> bool {
        matches!(
            self,
            Selector::Tus
                | Selector::Options
                | Selector::Create
                | Selector::Head
                | Selector::Patch
                | Selector::Terminate
        )
    }

    fn is_api(self) -> bool {
        matches!(
            self,
            Selector::UploadUrl | Selector::Register | Selector::Api
        )
    }
}

/// Which of the matching requests a rule fires on (1-based, inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Count {
    from: u64,
    to: Option<u64>,
}

impl Count {
    const EVERY: Count = Count { from: 1, to: None };

    fn parse(s: &str) -> Option<Self> {
        if s == "*" {
            return Some(Count::EVERY);
        }
        match s.split_once('-') {
            None => {
                let n = positive(s)?;
                Some(Count {
                    from: n,
                    to: Some(n),
                })
            }
            Some((a, "")) => Some(Count {
                from: positive(a)?,
                to: None,
            }),
            Some((a, b)) => {
                let (from, to) = (positive(a)?, positive(b)?);
                (from <= to).then_some(Count { from, to: Some(to) })
            }
        }
    }

    fn contains(self, n: u64) -> bool {
        n >= self.from && self.to.is_none_or(|to| n <= to)
    }
}

fn positive(s: &str) -> Option<u64> {
    s.parse().ok().filter(|n| *n > 0)
}

/// Whose requests a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Every request, one counter.
    Global,
    /// Requests of the Nth session only.
    Session(u64),
    /// Requests of any session, one counter per session.
    EachSession,
}

/// How the server answers a faulted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Respond {
    /// This status, with a JSON error body (and `Retry-After` when given).
    Status { code: u16, retry_after: Option<u64> },
    /// Reset the connection, no response.
    Reset,
    /// Process the request fully (commit), then reset instead of answering.
    DropResponse,
    /// Answer a 308 as `200` with `X-Http-Status-Code-Override: 308`.
    Override308,
}

/// What happens to the request's session before it is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionEffect {
    /// The session expires now: 410 from this request on.
    Expire,
    /// The session is killed now: 404 from this request on.
    Kill,
}

/// What a lying `308` says in its `Range` header instead of the truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RangeLie {
    /// This text, verbatim (empty: an empty header).
    Text(String),
    /// `bytes=0-{N-1}`, or no `Range` for 0, while the data really kept stays.
    Persisted(u64),
}

/// An edit of the top-level object of a JSON answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JsonEdit {
    /// Set the field to this value.
    Set(String, serde_json::Value),
    /// Remove the field.
    Unset(String),
}

/// The effects of one rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Fault {
    pub(crate) stall: Option<Duration>,
    pub(crate) respond: Option<Respond>,
    /// Body bytes read before the stall, status or reset (0: before the body).
    pub(crate) after: u64,
    /// Persist this many bytes less than received (rounded down to 256 KiB units).
    pub(crate) short: Option<u64>,
    /// Answer 308 without `Range`, discarding everything persisted so it is true.
    pub(crate) no_range: bool,
    pub(crate) session: Option<SessionEffect>,
    /// A `308`'s `Range` lies.
    pub(crate) range: Option<RangeLie>,
    /// Edits of a JSON answer, in order.
    pub(crate) edits: Vec<JsonEdit>,
    /// Pad the answer's body with spaces to this many bytes.
    pub(crate) bloat: Option<u64>,
    /// Cut the answer's body short.
    pub(crate) cut: Option<Cut>,
    /// Damage the first byte of a tus request's body on its way in.
    pub(crate) corrupt: bool,
}

/// How a `cut=` or `cut-close=` fault ends an answer's body early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cut {
    /// Body bytes sent.
    pub(crate) keep: u64,
    /// `Content-Length` names the whole body and the connection closes after
    /// `keep` bytes (`cut-close=`); else it names `keep` (`cut=`), a whole
    /// message whose body ends early.
    pub(crate) close: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct FaultRule {
    selector: Selector,
    count: Count,
    scope: Scope,
    probability: Option<f64>,
    fault: Fault,
    source: String,
}

impl FaultRule {
    fn parse(source: &str) -> Result<Self, FaultSpecError> {
        let err = |message: String| FaultSpecError {
            rule: source.to_owned(),
            message,
        };
        let mut words = source.split_whitespace();
        let target = words.next().ok_or_else(|| err("empty rule".into()))?;
        let (kind, count) = target.split_once('#').unwrap_or((target, "*"));
        let selector = Selector::parse(kind).ok_or_else(|| {
            err(format!(
                "unknown request kind {kind:?} (expected request, put, chunk, final, query, \
                 delete, initiate, upload-url, register, api, tus, options, create, head, patch, \
                 terminate, ietf, ietf-options, ietf-create, ietf-head, ietf-patch or ietf-delete)"
            ))
        })?;
        let count = Count::parse(count)
            .ok_or_else(|| err(format!("bad count {count:?} (expected N, N-M, N- or *)")))?;
        let mut rule = FaultRule {
            selector,
            count,
            scope: Scope::Global,
            probability: None,
            fault: Fault::default(),
            source: source.split_whitespace().collect::<Vec<_>>().join(" "),
        };
        let mut after = None;
        let mut retry_after = None;
        let lie = |l: RangeLie, f: &mut Fault| {
            if f.range.replace(l).is_some() {
                Err(err("at most one of range=, persisted=".into()))
            } else {
                Ok(())
            }
        };
        let respond = |r: Respond, f: &mut Fault| {
            if f.respond.replace(r).is_some() {
                Err(err(
                    "at most one of status=, reset, drop-response, override-308".into(),
                ))
            } else {
                Ok(())
            }
        };
        for word in words {
            let (key, value) = match word.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (word, None),
            };
            let f = &mut rule.fault;
            match (key, value) {
                ("status", v) => {
                    let v = v.ok_or_else(|| err(format!("{key} needs a value")))?;
                    let code = v
                        .parse::<u16>()
                        .ok()
                        .filter(|c| (400..=599).contains(c))
                        .ok_or_else(|| err(format!("status {v:?} is not a 4xx or 5xx code")))?;
                    respond(
                        Respond::Status {
                            code,
                            retry_after: None,
                        },
                        f,
                    )?;
                }
                ("reset", None) => respond(Respond::Reset, f)?,
                ("drop-response", None) => respond(Respond::DropResponse, f)?,
                ("override-308", None) => respond(Respond::Override308, f)?,
                ("no-range", None) => f.no_range = true,
                ("corrupt", None) => f.corrupt = true,
                ("range", Some(v)) => {
                    if http::HeaderValue::from_str(v).is_err() {
                        return Err(err(format!("range {v:?} cannot be a header value")));
                    }
                    lie(RangeLie::Text(v.to_owned()), f)?;
                }
                ("persisted", v) => {
                    let v = v.ok_or_else(|| err(format!("{key} needs a value")))?;
                    let n = size(v).ok_or_else(|| err(format!("bad size {v:?}")))?;
                    lie(RangeLie::Persisted(n), f)?;
                }
                ("set", v) => {
                    let v = v.ok_or_else(|| err(format!("{key} needs a value")))?;
                    let (field, json) = v
                        .split_once(':')
                        .filter(|(field, _)| !field.is_empty())
                        .ok_or_else(|| err(format!("set={v:?}: expected set=FIELD:JSON")))?;
                    let value = serde_json::from_str(json)
                        .map_err(|e| err(format!("set={v:?}: {json:?} is not JSON: {e}")))?;
                    f.edits.push(JsonEdit::Set(field.to_owned(), value));
                }
                ("unset", Some(field)) if !field.is_empty() => {
                    f.edits.push(JsonEdit::Unset(field.to_owned()));
                }
                ("bloat", v) => {
                    let v = v.ok_or_else(|| err(format!("{key} needs a value")))?;
                    let n = size(v).filter(|n| *n > 0);
                    f.bloat = Some(n.ok_or_else(|| err(format!("bad size {v:?}")))?);
                }
                ("cut" | "cut-close", v) => {
                    let v = v.ok_or_else(|| err(format!("{key} needs a value")))?;
                    let keep = size(v).ok_or_else(|| err(format!("bad size {v:?}")))?;
                    let cut = Cut {
                        keep,
                        close: key == "cut-close",
                    };
                    if f.cut.replace(cut).is_some() {
                        return Err(err("at most one of cut=, cut-close=".into()));
                    }
                }
                ("expire", None) | ("kill", None) => {
                    let effect = if key == "expire" {
                        SessionEffect::Expire
                    } else {
                        SessionEffect::Kill
                    };
                    if f.session.replace(effect).is_some() {
                        return Err(err("at most one of expire, kill".into()));
                    }
                }
                ("after", v) => {
                    let v = v.ok_or_else(|| err(format!("{key} needs a value")))?;
                    after = Some(size(v).ok_or_else(|| err(format!("bad size {v:?}")))?);
                }
                ("short", v) => {
                    let v = v.ok_or_else(|| err(format!("{key} needs a value")))?;
                    let n = size(v).filter(|n| *n > 0);
                    f.short = Some(n.ok_or_else(|| err(format!("bad size {v:?}")))?);
                }
                ("stall", v) => {
                    let v = v.ok_or_else(|| err(format!("{key} needs a value")))?;
                    f.stall = Some(duration(v).ok_or_else(|| {
                        err(format!("bad duration {v:?} (expected e.g. 250ms, 2s, 1m)"))
                    })?);
                }
                ("retry-after", v) => {
                    let v = v.ok_or_else(|| err(format!("{key} needs a value")))?;
                    retry_after = Some(
                        v.parse::<u64>()
                            .map_err(|_| err(format!("bad seconds {v:?}")))?,
                    );
                }
                ("session", v) => {
                    rule.scope =
                        match v.ok_or_else(|| err(format!("{key} needs a value")))? {
                            "*" => Scope::EachSession,
                            n => Scope::Session(positive(n).ok_or_else(|| {
                                err(format!("bad session {n:?} (expected N or *)"))
                            })?),
                        };
                }
                ("p", v) => {
                    let v = v.ok_or_else(|| err(format!("{key} needs a value")))?;
                    let p = v
                        .parse::<f64>()
                        .ok()
                        .filter(|p| (0.0..=1.0).contains(p))
                        .ok_or_else(|| err(format!("probability {v:?} is not in 0..=1")))?;
                    rule.probability = Some(p);
                }
                _ => return Err(err(format!("unknown word {word:?}"))),
            }
        }
        let f = &mut rule.fault;
        if let Some(secs) = retry_after {
            match &mut f.respond {
                Some(Respond::Status { retry_after, .. }) => *retry_after = Some(secs),
                _ => return Err(err("retry-after= needs status=".into())),
            }
        }
        if let Some(n) = after {
            let takes_after = f.stall.is_some()
                || matches!(f.respond, Some(Respond::Status { .. } | Respond::Reset));
            if !takes_after {
                return Err(err("after= needs status=, reset or stall=".into()));
            }
            f.after = n;
        }
        if *f == Fault::default() {
            return Err(err("no effect (status=, reset, stall=, short=, no-range, \
                            drop-response, override-308, expire, kill, range=, persisted=, \
                            set=, unset=, bloat=, cut=, cut-close= or corrupt)"
                .into()));
        }
        if f.cut.is_some() && f.bloat.is_some() {
            return Err(err(
                "cut=/cut-close= and bloat= contradict each other".into()
            ));
        }
        if f.no_range && f.range.is_some() {
            return Err(err(
                "no-range and range=/persisted= contradict each other".into()
            ));
        }
        if f.corrupt && !selector.is_resumable() {
            return Err(err(
                "corrupt applies to tus and IETF draft requests only".into()
            ));
        }
        if selector.is_resumable() {
            let gcs_only = f.no_range
                || matches!(f.range, Some(RangeLie::Text(_)))
                || !f.edits.is_empty()
                || f.respond == Some(Respond::Override308);
            if gcs_only {
                return Err(err(
                    "no-range, override-308, range=, set= and unset= apply to Cloud Storage \
                     requests only"
                        .into(),
                ));
            }
        }
        if selector.is_api() {
            let upload_only = f.short.is_some()
                || f.no_range
                || f.session.is_some()
                || f.range.is_some()
                || f.respond == Some(Respond::Override308);
            if upload_only {
                return Err(err(
                    "short=, no-range, override-308, expire, kill, range= and persisted= apply \
                     to upload requests only"
                        .into(),
                ));
            }
            if rule.scope != Scope::Global {
                return Err(err("session= applies to upload requests only".into()));
            }
        }
        Ok(rule)
    }
}

/// `123`, `256KiB`, `5MiB`, `1GiB`.
fn size(s: &str) -> Option<u64> {
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits.parse().ok()?;
    let mul = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mul)
}

/// `250ms`, `2s`, `1m`.
fn duration(s: &str) -> Option<Duration> {
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = digits.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        _ => None,
    }
}

/// A fault picked for a request, with the rule's text for the log.
#[derive(Debug, Clone)]
pub(crate) struct Applied {
    pub(crate) fault: Fault,
    pub(crate) rule: String,
}

#[derive(Debug)]
struct ActiveRule {
    rule: FaultRule,
    seen: u64,
    seen_by_session: HashMap<u64, u64>,
}

/// The rules in force, their counters and the seeded random source.
#[derive(Debug)]
pub(crate) struct FaultEngine {
    rules: Vec<ActiveRule>,
    rng: StdRng,
}

impl FaultEngine {
    pub(crate) fn new(seed: u64) -> Self {
        FaultEngine {
            rules: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Adds rules; their counters start at zero now.
    pub(crate) fn add(&mut self, plan: FaultPlan) {
        self.rules
            .extend(plan.rules.into_iter().map(|rule| ActiveRule {
                rule,
                seen: 0,
                seen_by_session: HashMap::new(),
            }));
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    pub(crate) fn plan(&self) -> FaultPlan {
        FaultPlan {
            rules: self.rules.iter().map(|r| r.rule.clone()).collect(),
        }
    }

    /// Counts the request against every rule and returns the first rule that fires.
    pub(crate) fn decide(&mut self, kind: RequestKind, session: Option<u64>) -> Option<Applied> {
        let mut picked = None;
        for active in &mut self.rules {
            let rule = &active.rule;
            if !rule.selector.matches(kind) {
                continue;
            }
            let n = match (rule.scope, session) {
                (Scope::Global, _) => {
                    active.seen += 1;
                    active.seen
                }
                (Scope::Session(want), Some(s)) if want == s => {
                    active.seen += 1;
                    active.seen
                }
                (Scope::EachSession, Some(s)) => {
                    let c = active.seen_by_session.entry(s).or_insert(0);
                    *c += 1;
                    *c
                }
                _ => continue,
            };
            if picked.is_some() || !rule.count.contains(n) {
                continue;
            }
            let fires = match rule.probability {
                None => true,
                Some(p) => self.rng.random::<f64>() < p,
            };
            if fires {
                picked = Some(Applied {
                    fault: rule.fault.clone(),
                    rule: rule.source.clone(),
                });
            }
        }
        picked
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn one(spec: &str) -> FaultRule {
        let plan: FaultPlan = spec.parse().unwrap();
        assert_eq!(plan.len(), 1);
        plan.rules.into_iter().next().unwrap()
    }

    #[test]
    fn parses_every_effect() {
        let r = one("chunk#2 status=503 after=256KiB retry-after=3");
        assert_eq!(r.selector, Selector::Chunk);
        assert_eq!(
            r.count,
            Count {
                from: 2,
                to: Some(2)
            }
        );
        assert_eq!(
            r.fault.respond,
            Some(Respond::Status {
                code: 503,
                retry_after: Some(3)
            })
        );
        assert_eq!(r.fault.after, 262_144);
        assert_eq!(
            one("request#4 reset after=1000").fault.respond,
            Some(Respond::Reset)
        );
        assert_eq!(
            one("final#1 drop-response").fault.respond,
            Some(Respond::DropResponse)
        );
        assert_eq!(
            one("query override-308").fault.respond,
            Some(Respond::Override308)
        );
        assert_eq!(
            one("chunk#1-3 stall=250ms").fault.stall,
            Some(Duration::from_millis(250))
        );
        assert_eq!(one("chunk#3- short=1MiB").fault.short, Some(1 << 20));
        assert!(one("put#* no-range").fault.no_range);
        assert_eq!(
            one("chunk#1 expire").fault.session,
            Some(SessionEffect::Expire)
        );
        assert_eq!(one("chunk#1 kill session=2").scope, Scope::Session(2));
        assert_eq!(one("chunk#1 kill session=*").scope, Scope::EachSession);
        assert_eq!(one("register#1 status=500").selector, Selector::Register);
        assert!(one("patch#2 corrupt").fault.corrupt);
        assert_eq!(
            one("head#1 persisted=0").fault.range,
            Some(RangeLie::Persisted(0))
        );
        assert_eq!(one("terminate#1 kill session=*").scope, Scope::EachSession);
        for (kind, selector) in [
            ("tus", Selector::Tus),
            ("options", Selector::Options),
            ("create", Selector::Create),
            ("head", Selector::Head),
            ("patch", Selector::Patch),
            ("terminate", Selector::Terminate),
        ] {
            assert_eq!(one(&format!("{kind}#1 status=503")).selector, selector);
        }
        assert_eq!(one("chunk p=0.5 status=500").probability, Some(0.5));
        assert_eq!(one("chunk   status=500").source, "chunk status=500");
        assert_eq!(
            one("chunk#1 range=bytes=0-x").fault.range,
            Some(RangeLie::Text("bytes=0-x".into()))
        );
        assert_eq!(
            one("query range=").fault.range,
            Some(RangeLie::Text(String::new()))
        );
        assert_eq!(
            one("chunk#2 persisted=256KiB").fault.range,
            Some(RangeLie::Persisted(262_144))
        );
        assert_eq!(
            one(r#"upload-url#1 set=upload_url:"ftp://h/x" unset=file_id set=max_file_size:1"#)
                .fault
                .edits,
            vec![
                JsonEdit::Set("upload_url".into(), serde_json::json!("ftp://h/x")),
                JsonEdit::Unset("file_id".into()),
                JsonEdit::Set("max_file_size".into(), serde_json::json!(1)),
            ]
        );
        assert_eq!(one("api bloat=1GiB").fault.bloat, Some(1 << 30));
        assert_eq!(
            one("final#1 cut=10").fault.cut,
            Some(Cut {
                keep: 10,
                close: false
            })
        );
        assert_eq!(
            one("register cut-close=1KiB").fault.cut,
            Some(Cut {
                keep: 1024,
                close: true
            })
        );
        let plan: FaultPlan = "chunk#1 status=503; final#1 drop-response\n# comment\n\n"
            .parse()
            .unwrap();
        assert_eq!(plan.len(), 2);
        assert_eq!(
            plan.to_string(),
            "chunk#1 status=503\nfinal#1 drop-response"
        );
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "chunk",
            "chunks#1 status=503",
            "chunk#0 status=503",
            "chunk#3-2 status=503",
            "chunk#x status=503",
            "chunk status=200",
            "chunk status=503 reset",
            "chunk retry-after=2",
            "chunk short=1 after=5",
            "chunk stall=5",
            "chunk stall=5h",
            "chunk short=0",
            "chunk short=1XB",
            "chunk p=2 status=500",
            "chunk expire kill",
            "chunk status",
            "chunk bogus",
            "register#1 short=5",
            "upload-url#1 expire",
            "api session=1 status=500",
            "patch#1 no-range",
            "head override-308",
            "patch range=bytes=0-1",
            "create set=a:1",
            "head unset=a",
            "chunk corrupt",
            "api corrupt",
            "patches#1 status=503",
            "chunk range",
            "chunk range=a\u{7f}",
            "chunk range=x persisted=1",
            "chunk no-range persisted=1",
            "chunk persisted=x",
            "upload-url range=bytes=0-1",
            "register persisted=5",
            "final set=size",
            "final set=:1",
            "final set=size:nope",
            "final unset=",
            "api bloat=0",
            "api bloat=big",
            "final cut",
            "final cut=x",
            "final cut=1 cut-close=2",
            "final cut=1 bloat=5",
        ] {
            assert!(bad.parse::<FaultPlan>().is_err(), "{bad:?} accepted");
        }
        let e = "chunk#1 explode".parse::<FaultPlan>().unwrap_err();
        assert!(e.to_string().contains("explode"));
    }

    #[test]
    fn the_readme_examples_parse() {
        let readme = include_str!("../README.md");
        let (_, rest) = readme.split_once("Examples:\n\n```text\n").unwrap();
        let (block, _) = rest.split_once("```").unwrap();
        let mut n = 0;
        for line in block.lines() {
            let rule = line.split_once("  #").map_or(line, |(r, _)| r);
            assert_eq!(one(rule.trim()).source, rule.trim(), "{line}");
            n += 1;
        }
        assert!(n >= 20, "only {n} examples found");
    }

    #[test]
    fn counts_and_scopes() {
        let mut e = FaultEngine::new(1);
        e.add(
            "chunk#2 status=503; chunk#1 status=500 session=*; request#5 reset"
                .parse()
                .unwrap(),
        );
        let code = |a: Option<Applied>| match a.map(|a| a.fault.respond) {
            Some(Some(Respond::Status { code, .. })) => Some(code),
            Some(Some(Respond::Reset)) => Some(1),
            _ => None,
        };
        // Session 1: first chunk hits the per-session rule.
        assert_eq!(code(e.decide(RequestKind::Chunk, Some(1))), Some(500));
        // Global second chunk (session 2's first): the first matching rule wins.
        assert_eq!(code(e.decide(RequestKind::Chunk, Some(2))), Some(503));
        assert_eq!(code(e.decide(RequestKind::Query, Some(2))), None);
        assert_eq!(code(e.decide(RequestKind::UploadUrl, None)), None);
        assert_eq!(code(e.decide(RequestKind::Chunk, Some(1))), None);
        assert_eq!(code(e.decide(RequestKind::Final, Some(1))), Some(1));
        assert_eq!(code(e.decide(RequestKind::Chunk, Some(3))), Some(500));
    }

    #[test]
    fn tus_kinds_count_apart_from_cloud_storage_ones() {
        let mut e = FaultEngine::new(1);
        e.add(
            "patch#2 status=503; tus#4 reset; request#1 status=500"
                .parse()
                .unwrap(),
        );
        let fired = |a: Option<Applied>| a.map(|a| a.rule);
        assert_eq!(fired(e.decide(RequestKind::TusCreate, None)), None);
        assert_eq!(fired(e.decide(RequestKind::TusPatch, Some(1))), None);
        assert_eq!(
            fired(e.decide(RequestKind::TusPatch, Some(1))).as_deref(),
            Some("patch#2 status=503")
        );
        assert_eq!(
            fired(e.decide(RequestKind::TusHead, Some(1))).as_deref(),
            Some("tus#4 reset")
        );
        // Cloud Storage's `request` counts no tus request.
        assert_eq!(
            fired(e.decide(RequestKind::Chunk, Some(1))).as_deref(),
            Some("request#1 status=500")
        );
    }

    #[test]
    fn probability_is_seeded() {
        let run = |seed| {
            let mut e = FaultEngine::new(seed);
            e.add("chunk p=0.5 status=503".parse().unwrap());
            (0..64)
                .map(|_| e.decide(RequestKind::Chunk, Some(1)).is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let hits = run(7).iter().filter(|h| **h).count();
        assert!((10..54).contains(&hits));
    }
}
