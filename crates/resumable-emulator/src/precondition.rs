//! `ifGenerationMatch` and its kin: conditions an initiation puts on the object it
//! will write, checked at the initiation and again when the session finalizes.

use crate::object::ObjectInfo;
use crate::reply::Refusal;
use crate::url::query_value;

/// The four conditions of a Cloud Storage upload, as the initiation's query gave them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Preconditions {
    generation_match: Option<i64>,
    generation_not_match: Option<i64>,
    metageneration_match: Option<i64>,
    metageneration_not_match: Option<i64>,
}

const NAMES: [&str; 4] = [
    "ifGenerationMatch",
    "ifGenerationNotMatch",
    "ifMetagenerationMatch",
    "ifMetagenerationNotMatch",
];

impl Preconditions {
    /// Reads them from decoded query pairs; a value that is not a base-10 int64 is
    /// refused (400).
    pub(crate) fn parse(query: &[(String, String)]) -> Result<Self, Refusal> {
        let mut values = [None; 4];
        for (slot, name) in values.iter_mut().zip(NAMES) {
            if let Some(text) = query_value(query, name) {
                match text.parse::<i64>() {
                    Ok(v) => *slot = Some(v),
                    Err(_) => {
                        return Err(Refusal::bad(format!(
                            "{name}={text:?} is not a whole number (an int64 generation)"
                        )));
                    }
                }
            }
        }
        let [
            generation_match,
            generation_not_match,
            metageneration_match,
            metageneration_not_match,
        ] = values;
        Ok(Self {
            generation_match,
            generation_not_match,
            metageneration_match,
            metageneration_not_match,
        })
    }

    /// Whether none is set (a file-API session, or an initiation without any).
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Checks them against the live object of the name (`None`: there is none).
    /// A failed one is refused with 412, `conditionNotMet`, and a message naming it.
    pub(crate) fn check(&self, live: Option<&ObjectInfo>) -> Result<(), Refusal> {
        // Generations are int64 on the wire; the emulator's never exceed it.
        let current = live.map(|o| {
            (
                i64::try_from(o.generation).unwrap_or(i64::MAX),
                i64::try_from(o.metageneration).unwrap_or(i64::MAX),
            )
        });
        let now = match current {
            Some((g, m)) => format!("the object has generation {g} and metageneration {m}"),
            None => "no live object has this name".to_owned(),
        };
        let held = [
            self.generation_match.map(|want| match current {
                Some((g, _)) => g == want,
                None => want == 0,
            }),
            self.generation_not_match
                .map(|not| current.is_some_and(|(g, _)| g != not)),
            self.metageneration_match
                .map(|want| current.is_some_and(|(_, m)| m == want)),
            self.metageneration_not_match
                .map(|not| current.is_some_and(|(_, m)| m != not)),
        ];
        let values = [
            self.generation_match,
            self.generation_not_match,
            self.metageneration_match,
            self.metageneration_not_match,
        ];
        for ((name, value), held) in NAMES.iter().zip(values).zip(held) {
            if let (Some(value), Some(false)) = (value, held) {
                return Err(Refusal::new(
                    412,
                    "conditionNotMet",
                    format!("the precondition {name}={value} did not hold: {now}"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn parse(q: &[(&str, &str)]) -> Result<Preconditions, Refusal> {
        let q: Vec<(String, String)> = q
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Preconditions::parse(&q)
    }

    fn object(generation: u64, metageneration: u64) -> ObjectInfo {
        ObjectInfo {
            bucket: "b".into(),
            name: "o".into(),
            size: 0,
            crc32c: 0,
            md5: [0; 16],
            content_type: "x/y".into(),
            generation,
            metageneration,
            time_created: String::new(),
        }
    }

    #[test]
    fn values_must_be_int64s() {
        assert!(parse(&[]).unwrap().is_empty());
        assert!(!parse(&[("ifGenerationMatch", "0")]).unwrap().is_empty());
        for bad in ["", "x", "1.5", "99999999999999999999", " 1"] {
            let e = parse(&[("ifMetagenerationNotMatch", bad)]).unwrap_err();
            assert_eq!(e.status, 400, "{bad:?}");
        }
    }

    #[test]
    fn conditions_hold_as_cloud_storage_says() {
        let live = object(17, 1);
        let cases = [
            ("ifGenerationMatch", "0", None, true),
            ("ifGenerationMatch", "0", Some(&live), false),
            ("ifGenerationMatch", "17", Some(&live), true),
            ("ifGenerationMatch", "16", Some(&live), false),
            ("ifGenerationMatch", "17", None, false),
            ("ifGenerationNotMatch", "16", Some(&live), true),
            ("ifGenerationNotMatch", "17", Some(&live), false),
            ("ifGenerationNotMatch", "0", None, false),
            ("ifMetagenerationMatch", "1", Some(&live), true),
            ("ifMetagenerationMatch", "2", Some(&live), false),
            ("ifMetagenerationMatch", "1", None, false),
            ("ifMetagenerationNotMatch", "2", Some(&live), true),
            ("ifMetagenerationNotMatch", "1", Some(&live), false),
        ];
        for (name, value, object, holds) in cases {
            let p = parse(&[(name, value)]).unwrap();
            let result = p.check(object);
            assert_eq!(result.is_ok(), holds, "{name}={value} on {object:?}");
            if let Err(r) = result {
                assert_eq!((r.status, r.reason), (412, "conditionNotMet"));
                assert!(r.message.contains(&format!("{name}={value}")), "{r:?}");
            }
        }
    }
}
