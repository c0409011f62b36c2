//! The `X-Goog-Hash` header, sent on the last chunk of an upload and
//! returned with the finished object: [`GoogHash`], the base64 codecs of its
//! two digests ([`encode_crc32c`], [`decode_crc32c`], [`encode_md5`],
//! [`decode_md5`]), the one-digest builder [`crc32c_header`], and
//! [`HashError`].
//!
//! A value is a comma-separated list of `algorithm=base64` items, and the
//! header may be repeated, as in
//!
//! ```text
//! X-Goog-Hash: crc32c=n03x6A==,md5=Ojk9c3dhfxgoKVVHYwFbHQ==
//! X-Goog-Hash: crc32c=n03x6A==
//! X-Goog-Hash: md5=Ojk9c3dhfxgoKVVHYwFbHQ==
//! ```
//!
//! `crc32c` is the standard base64 (padded) of the CRC32C's four big-endian
//! bytes; `md5` is the standard base64 (padded) of the sixteen-byte digest.
//! Decoding is strict: the standard alphabet only, canonical padding, no
//! stray bits, nothing around the text.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;

use crate::protocol::trim_ows;

/// The digests an `X-Goog-Hash` header carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GoogHash {
    /// The CRC32C (Castagnoli) of the object, if given.
    pub crc32c: Option<u32>,
    /// The MD5 digest of the object, if given.
    pub md5: Option<[u8; 16]>,
}

/// Why an `X-Goog-Hash` value or a base64 digest was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// An item of `X-Goog-Hash` is not `algorithm=value`.
    #[error("malformed X-Goog-Hash: expected comma-separated `algorithm=base64` items")]
    Malformed,
    /// A digest is not standard, padded base64.
    #[error("digest is not standard padded base64")]
    BadBase64,
    /// A digest decodes to the wrong number of bytes (4 for CRC32C, 16 for
    /// MD5).
    #[error("digest has the wrong length (a CRC32C is 4 bytes, an MD5 16)")]
    BadLength,
    /// The same algorithm is given twice with different values.
    #[error("X-Goog-Hash gives two different values for the same algorithm")]
    Conflict,
}

impl GoogHash {
    /// Reads every `X-Goog-Hash` value of a message (pass
    /// `headers.get_all("x-goog-hash")`).
    ///
    /// Items are separated by commas, within a value and across repeated
    /// values; whitespace around items and empty items are ignored, as for
    /// any HTTP list. Algorithm names are matched ignoring ASCII case;
    /// algorithms other than `crc32c` and `md5` are ignored, value and all,
    /// but every item must still be `name=value` with a non-empty token as
    /// name. An algorithm given twice must have the same value both times.
    /// No values, or only unknown algorithms, give an empty [`GoogHash`].
    pub fn parse<'a>(
        values: impl IntoIterator<Item = &'a HeaderValue>,
    ) -> Result<GoogHash, HashError> {
        let mut hash = GoogHash::default();
        for value in values {
            for item in value.as_bytes().split(|&b| b == b',') {
                let item = trim_ows(item);
                if item.is_empty() {
                    continue;
                }
                let at = item
                    .iter()
                    .position(|&b| b == b'=')
                    .ok_or(HashError::Malformed)?;
                let (name, digest) = item.split_at_checked(at).ok_or(HashError::Malformed)?;
                let digest = digest.get(1..).ok_or(HashError::Malformed)?;
                if name.is_empty() || !name.iter().copied().all(is_tchar) {
                    return Err(HashError::Malformed);
                }
                if name.eq_ignore_ascii_case(b"crc32c") {
                    merge(&mut hash.crc32c, decode_crc32c_bytes(digest)?)?;
                } else if name.eq_ignore_ascii_case(b"md5") {
                    merge(&mut hash.md5, decode_md5_bytes(digest)?)?;
                }
            }
        }
        Ok(hash)
    }

    /// The header value `crc32c=…,md5=…` (each part only when present), or
    /// `None` when neither digest is present.
    #[must_use]
    pub fn to_header_value(self) -> Option<HeaderValue> {
        let text = match (self.crc32c, self.md5) {
            (None, None) => return None,
            (Some(crc), None) => format!("crc32c={}", encode_crc32c(crc)),
            (None, Some(md5)) => format!("md5={}", encode_md5(&md5)),
            (Some(crc), Some(md5)) => {
                format!("crc32c={},md5={}", encode_crc32c(crc), encode_md5(&md5))
            }
        };
        // Names, `=`, `,` and base64 text: always a valid header value.
        HeaderValue::try_from(text).ok()
    }
}

/// The header value `crc32c=<base64>` for a CRC32C.
#[must_use]
pub fn crc32c_header(crc: u32) -> HeaderValue {
    // `crc32c=` and base64 text: always a valid header value, so the fallback
    // is never taken.
    HeaderValue::try_from(format!("crc32c={}", encode_crc32c(crc)))
        .unwrap_or_else(|_| HeaderValue::from_static("crc32c="))
}

/// The standard padded base64 of a CRC32C's four big-endian bytes (eight
/// characters, such as `yZRlqg==`).
#[must_use]
pub fn encode_crc32c(crc: u32) -> String {
    STANDARD.encode(crc.to_be_bytes())
}

/// Reads a CRC32C written as [`encode_crc32c`] writes it.
pub fn decode_crc32c(b64: &str) -> Result<u32, HashError> {
    decode_crc32c_bytes(b64.as_bytes())
}

/// The standard padded base64 of an MD5 digest (24 characters, such as
/// `1B2M2Y8AsgTpgAmY7PhCfg==`).
#[must_use]
pub fn encode_md5(d: &[u8; 16]) -> String {
    STANDARD.encode(d)
}

/// Reads an MD5 digest written as [`encode_md5`] writes it.
pub fn decode_md5(b64: &str) -> Result<[u8; 16], HashError> {
    decode_md5_bytes(b64.as_bytes())
}

fn decode_crc32c_bytes(b64: &[u8]) -> Result<u32, HashError> {
    decode_exact::<4>(b64).map(u32::from_be_bytes)
}

fn decode_md5_bytes(b64: &[u8]) -> Result<[u8; 16], HashError> {
    decode_exact::<16>(b64)
}

/// Decodes standard padded base64 that must hold exactly `N` bytes (`N` at
/// most 16), into a stack buffer.
///
/// Text longer than the encoding of `N` bytes (8 characters for 4 bytes, 24
/// for 16) is [`HashError::BadLength`] whatever it holds; shorter or equal
/// text is [`HashError::BadBase64`] unless it is valid base64, and then
/// [`HashError::BadLength`] unless it holds exactly `N` bytes.
fn decode_exact<const N: usize>(b64: &[u8]) -> Result<[u8; N], HashError> {
    let max_chars = N.div_ceil(3).saturating_mul(4);
    if b64.len() > max_chars {
        return Err(HashError::BadLength);
    }
    // Holds whatever up to 24 characters decode to.
    let mut buf = [0u8; 18];
    let len = match STANDARD.decode_slice(b64, &mut buf) {
        Ok(len) => len,
        Err(base64::DecodeSliceError::DecodeError(_)) => return Err(HashError::BadBase64),
        Err(base64::DecodeSliceError::OutputSliceTooSmall) => return Err(HashError::BadLength),
    };
    buf.get(..len)
        .and_then(|d| <[u8; N]>::try_from(d).ok())
        .ok_or(HashError::BadLength)
}

/// Records `new` in `slot`, refusing a different earlier value.
fn merge<T: PartialEq>(slot: &mut Option<T>, new: T) -> Result<(), HashError> {
    match slot {
        Some(old) if *old != new => Err(HashError::Conflict),
        Some(_) => Ok(()),
        None => {
            *slot = Some(new);
            Ok(())
        }
    }
}

/// Whether `b` may appear in an HTTP token (RFC 9110 `tchar`).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HELLO_CRC: u32 = 0xc994_65aa;
    const EMPTY_MD5: [u8; 16] = [
        0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42,
        0x7e,
    ];

    fn hv(s: &str) -> HeaderValue {
        HeaderValue::from_str(s).unwrap()
    }

    fn parse(values: &[&str]) -> Result<GoogHash, HashError> {
        let values: Vec<HeaderValue> = values.iter().map(|s| hv(s)).collect();
        GoogHash::parse(&values)
    }

    #[test]
    fn known_vectors() {
        assert_eq!(crc32c::crc32c(b"hello world"), HELLO_CRC);
        assert_eq!(encode_crc32c(HELLO_CRC), "yZRlqg==");
        assert_eq!(decode_crc32c("yZRlqg=="), Ok(HELLO_CRC));
        assert_eq!(crc32c_header(HELLO_CRC), "crc32c=yZRlqg==");
        assert_eq!(encode_md5(&EMPTY_MD5), "1B2M2Y8AsgTpgAmY7PhCfg==");
        assert_eq!(decode_md5("1B2M2Y8AsgTpgAmY7PhCfg=="), Ok(EMPTY_MD5));
        assert_eq!(encode_crc32c(0), "AAAAAA==");
        assert_eq!(encode_crc32c(u32::MAX), "/////w==");
        // The example from the protocol documentation.
        let doc = parse(&["crc32c=n03x6A==,md5=Ojk9c3dhfxgoKVVHYwFbHQ=="]).unwrap();
        assert_eq!(doc.crc32c, Some(0x9f4d_f1e8));
        assert_eq!(
            doc.md5.map(|d| encode_md5(&d)).as_deref(),
            Some("Ojk9c3dhfxgoKVVHYwFbHQ==")
        );
    }

    #[test]
    fn decode_rejects_bad_base64() {
        let bad = [
            "yZRlqg=",
            "yZRlqg",
            "yZRlqh==",
            "yZR lqg=",
            " yZRlqg=",
            "yZRlqg= ",
            "yZRl-g==",
            "yZRl_g==",
            "yZRlqg=A",
            "=ZRlqg==",
            "yZRlqg%3",
            "yZRlq\u{e9}=",
            "yZRl\0g==",
        ];
        for b64 in bad {
            assert_eq!(decode_crc32c(b64), Err(HashError::BadBase64), "{b64:?}");
        }
        assert_eq!(
            decode_md5("1B2M2Y8AsgTpgAmY7PhCfg="),
            Err(HashError::BadBase64)
        );
        assert_eq!(
            decode_md5("1B2M2Y8AsgTpgAmY7PhCfh=="),
            Err(HashError::BadBase64)
        );
        assert_eq!(
            decode_md5("1B2M2Y8AsgTpgAmY7PhCf*=="),
            Err(HashError::BadBase64)
        );
    }

    #[test]
    fn decode_rejects_bad_length() {
        // Too long for the digest, whatever the text holds.
        for b64 in [
            "yZRlqg===",
            " yZRlqg==",
            "yZRlqg== ",
            "yZRlqg%3D%3D",
            "yZRlq\u{e9}==",
        ] {
            assert_eq!(decode_crc32c(b64), Err(HashError::BadLength), "{b64:?}");
        }
        // Valid base64 of another size.
        for b64 in [
            "",
            "AAAA",
            "AAA=",
            "AA==",
            "AAAAAAAA",
            "AAAAAAA=",
            "AAAAAAAAAAAA",
        ] {
            assert_eq!(decode_crc32c(b64), Err(HashError::BadLength), "{b64:?}");
        }
        for b64 in [
            "",
            "yZRlqg==",
            "AAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAA==AAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(decode_md5(b64), Err(HashError::BadLength), "{b64:?}");
        }
        assert_eq!(
            decode_crc32c("1B2M2Y8AsgTpgAmY7PhCfg=="),
            Err(HashError::BadLength)
        );
    }

    #[test]
    fn parses_combined_and_repeated_values() {
        let both = GoogHash {
            crc32c: Some(HELLO_CRC),
            md5: Some(EMPTY_MD5),
        };
        assert_eq!(
            parse(&["crc32c=yZRlqg==,md5=1B2M2Y8AsgTpgAmY7PhCfg=="]),
            Ok(both)
        );
        assert_eq!(
            parse(&["md5=1B2M2Y8AsgTpgAmY7PhCfg==,crc32c=yZRlqg=="]),
            Ok(both)
        );
        assert_eq!(
            parse(&["crc32c=yZRlqg==", "md5=1B2M2Y8AsgTpgAmY7PhCfg=="]),
            Ok(both)
        );
        assert_eq!(
            parse(&[" crc32c=yZRlqg== , md5=1B2M2Y8AsgTpgAmY7PhCfg==\t"]),
            Ok(both)
        );
        assert_eq!(
            parse(&["CRC32C=yZRlqg==,MD5=1B2M2Y8AsgTpgAmY7PhCfg=="]),
            Ok(both)
        );
        assert_eq!(
            parse(&[
                "crc32c=yZRlqg==,",
                ",md5=1B2M2Y8AsgTpgAmY7PhCfg==",
                ",,",
                ""
            ]),
            Ok(both)
        );
        // The same value twice is fine.
        assert_eq!(
            parse(&["crc32c=yZRlqg==,crc32c=yZRlqg==", "crc32c=yZRlqg=="]),
            Ok(GoogHash {
                crc32c: Some(HELLO_CRC),
                md5: None
            })
        );
        assert_eq!(
            parse(&["md5=1B2M2Y8AsgTpgAmY7PhCfg=="]),
            Ok(GoogHash {
                crc32c: None,
                md5: Some(EMPTY_MD5)
            })
        );
        assert_eq!(parse(&[]), Ok(GoogHash::default()));
    }

    #[test]
    fn ignores_unknown_algorithms() {
        let crc = GoogHash {
            crc32c: Some(HELLO_CRC),
            md5: None,
        };
        assert_eq!(parse(&["sha256=anything at all!,crc32c=yZRlqg=="]), Ok(crc));
        assert_eq!(
            parse(&["crc32c=yZRlqg==", "adler32=", "crc32=AAAA"]),
            Ok(crc)
        );
        assert_eq!(parse(&["crc32cx=###,xmd5=###"]), Ok(GoogHash::default()));
        let weird = HeaderValue::from_bytes(b"future=\xff\xfe,crc32c=yZRlqg==").unwrap();
        assert_eq!(GoogHash::parse([&weird]), Ok(crc));
    }

    #[test]
    fn rejects_bad_items() {
        let malformed: [&[&str]; 9] = [
            &["crc32c"],
            &["crc32c yZRlqg=="],
            &["=yZRlqg=="],
            &["crc32c=yZRlqg==,md5"],
            &["crc32c=yZRlqg==", "garbage"],
            &["crc 32c=yZRlqg=="],
            &["crc32c =yZRlqg=="],
            &["crc32c:yZRlqg=="],
            &["(md5)=1B2M2Y8AsgTpgAmY7PhCfg=="],
        ];
        for values in malformed {
            assert_eq!(parse(values), Err(HashError::Malformed), "{values:?}");
        }
        assert_eq!(parse(&["crc32c= yZRlqg="]), Err(HashError::BadBase64));
        assert_eq!(parse(&["crc32c=yZRlqg"]), Err(HashError::BadBase64));
        assert_eq!(parse(&["crc32c=\"yZRlqg\""]), Err(HashError::BadBase64));
        assert_eq!(parse(&["crc32c= yZRlqg=="]), Err(HashError::BadLength));
        assert_eq!(parse(&["crc32c=yZRlqg==="]), Err(HashError::BadLength));
        assert_eq!(parse(&["crc32c=\"yZRlqg==\""]), Err(HashError::BadLength));
        assert_eq!(parse(&["crc32c="]), Err(HashError::BadLength));
        assert_eq!(parse(&["md5=yZRlqg=="]), Err(HashError::BadLength));
        assert_eq!(
            parse(&["crc32c=1B2M2Y8AsgTpgAmY7PhCfg=="]),
            Err(HashError::BadLength)
        );
        let non_ascii = HeaderValue::from_bytes(b"crc32c=yZRlq\xe9==").unwrap();
        assert_eq!(GoogHash::parse([&non_ascii]), Err(HashError::BadBase64));
        let non_ascii_name = HeaderValue::from_bytes(b"crc\xe932c=yZRlqg==").unwrap();
        assert_eq!(
            GoogHash::parse([&non_ascii_name]),
            Err(HashError::Malformed)
        );
    }

    #[test]
    fn rejects_conflicts() {
        assert_eq!(
            parse(&["crc32c=yZRlqg==,crc32c=AAAAAA=="]),
            Err(HashError::Conflict)
        );
        assert_eq!(
            parse(&["crc32c=yZRlqg==", "CRC32C=AAAAAA=="]),
            Err(HashError::Conflict)
        );
        assert_eq!(
            parse(&[
                "md5=1B2M2Y8AsgTpgAmY7PhCfg==",
                "md5=Ojk9c3dhfxgoKVVHYwFbHQ=="
            ]),
            Err(HashError::Conflict)
        );
    }

    #[test]
    fn builds_header_values() {
        assert_eq!(GoogHash::default().to_header_value(), None);
        let crc = GoogHash {
            crc32c: Some(HELLO_CRC),
            md5: None,
        };
        assert_eq!(crc.to_header_value().unwrap(), "crc32c=yZRlqg==");
        let md5 = GoogHash {
            crc32c: None,
            md5: Some(EMPTY_MD5),
        };
        assert_eq!(
            md5.to_header_value().unwrap(),
            "md5=1B2M2Y8AsgTpgAmY7PhCfg=="
        );
        let both = GoogHash {
            crc32c: Some(HELLO_CRC),
            md5: Some(EMPTY_MD5),
        };
        assert_eq!(
            both.to_header_value().unwrap(),
            "crc32c=yZRlqg==,md5=1B2M2Y8AsgTpgAmY7PhCfg=="
        );
    }

    /// Every prefix of a valid value is refused or gives a subset of the
    /// full value's digests; splitting the items over several header lines
    /// changes nothing.
    #[test]
    fn every_prefix_and_split() {
        let full_text = "crc32c=yZRlqg==, md5=1B2M2Y8AsgTpgAmY7PhCfg==";
        let full = parse(&[full_text]).unwrap();
        let mut accepted = Vec::new();
        for len in 0..full_text.len() {
            let prefix = full_text.get(..len).unwrap();
            if let Ok(got) = parse(&[prefix]) {
                assert!(
                    got.crc32c.is_none() || got.crc32c == full.crc32c,
                    "{prefix:?}"
                );
                assert!(got.md5.is_none() || got.md5 == full.md5, "{prefix:?}");
                accepted.push(len);
            }
        }
        assert_eq!(accepted, [0, 15, 16, 17]);
        for at in 0..=full_text.len() {
            let (head, tail) = full_text.split_at(at);
            if head.ends_with(',') || tail.starts_with(',') || tail.starts_with(' ') {
                assert_eq!(parse(&[head, tail]), Ok(full), "{head:?} | {tail:?}");
            }
        }
    }

    fn any_hash() -> impl Strategy<Value = GoogHash> {
        (any::<Option<u32>>(), any::<Option<[u8; 16]>>())
            .prop_map(|(crc32c, md5)| GoogHash { crc32c, md5 })
    }

    proptest! {
        #[test]
        fn crc32c_round_trip(crc in any::<u32>()) {
            let b64 = encode_crc32c(crc);
            prop_assert_eq!(b64.len(), 8);
            prop_assert_eq!(decode_crc32c(&b64), Ok(crc));
            let header = crc32c_header(crc);
            prop_assert_eq!(GoogHash::parse([&header]), Ok(GoogHash { crc32c: Some(crc), md5: None }));
        }

        #[test]
        fn md5_round_trip(digest in any::<[u8; 16]>()) {
            let b64 = encode_md5(&digest);
            prop_assert_eq!(b64.len(), 24);
            prop_assert_eq!(decode_md5(&b64), Ok(digest));
        }

        #[test]
        fn header_round_trip(hash in any_hash()) {
            match hash.to_header_value() {
                None => prop_assert_eq!(hash, GoogHash::default()),
                Some(header) => prop_assert_eq!(GoogHash::parse([&header]), Ok(hash)),
            }
        }

        #[test]
        fn separate_lines_in_any_order(hash in any_hash(), reversed in any::<bool>()) {
            let mut lines: Vec<HeaderValue> = Vec::new();
            if let Some(crc) = hash.crc32c {
                lines.push(crc32c_header(crc));
            }
            if let Some(md5) = hash.md5 {
                lines.push(hv(&format!("md5={}", encode_md5(&md5))));
            }
            if reversed {
                lines.reverse();
            }
            prop_assert_eq!(GoogHash::parse(&lines), Ok(hash));
        }

        #[test]
        fn decoders_accept_only_canonical_text(text in "[A-Za-z0-9+/=]{0,26}") {
            if let Ok(crc) = decode_crc32c(&text) {
                prop_assert_eq!(encode_crc32c(crc), text.clone());
            }
            if let Ok(md5) = decode_md5(&text) {
                prop_assert_eq!(encode_md5(&md5), text);
            }
        }

        #[test]
        fn never_panics(input in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(header) = HeaderValue::from_bytes(&input)
                && let Ok(hash) = GoogHash::parse([&header])
                && let Some(again) = hash.to_header_value()
            {
                prop_assert_eq!(GoogHash::parse([&again]), Ok(hash));
            }
            let _ = decode_crc32c(&String::from_utf8_lossy(&input));
            let _ = decode_md5(&String::from_utf8_lossy(&input));
        }

        #[test]
        fn never_panics_near_valid(input in "((crc32c|md5|x)=[A-Za-z0-9+/=]{0,26}[, ]{0,2}){0,3}") {
            if let Ok(hash) = parse(&[&input])
                && let Some(again) = hash.to_header_value()
            {
                prop_assert_eq!(GoogHash::parse([&again]), Ok(hash));
            }
        }
    }
}
