//! Human sizes: `8MiB`, `5 MB`, `1.5GiB`, `262144`.

/// Why a size does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SizeError {
    /// Nothing, or no number, before the unit.
    #[error("{0:?} is not a size: write e.g. 8MiB, 5MB, 256KiB or a byte count")]
    NotASize(String),
    /// A unit no one uses.
    #[error("unknown unit {unit:?} in {text:?}: use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB")]
    Unit {
        /// The whole text.
        text: String,
        /// The unit.
        unit: String,
    },
    /// More bytes than fit in 64 bits.
    #[error("{0:?} is too large")]
    TooLarge(String),
}

/// Reads a size: a number (decimals allowed) and an optional unit. Binary
/// units (`KiB`, `MiB`, …, and the bare letters `K`, `M`, `G`, `T`) count in
/// 1024s, decimal ones (`KB`, `MB`, …) in 1000s; case does not matter.
pub(crate) fn parse_size(text: &str) -> Result<u64, SizeError> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let not_a_size = || SizeError::NotASize(text.to_owned());
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(not_a_size());
    }
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => {
            return Err(SizeError::Unit {
                text: text.to_owned(),
                unit: unit.trim().to_owned(),
            });
        }
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if fraction.contains('.') {
        return Err(not_a_size());
    }
    let too_large = || SizeError::TooLarge(text.to_owned());
    let whole: u64 = whole.parse().map_err(|_| too_large())?;
    let mut bytes = whole.checked_mul(multiplier).ok_or_else(too_large)?;
    if !fraction.is_empty() {
        // Exact decimal arithmetic on at most 9 fraction digits, rounded down.
        let digits = &fraction[..fraction.len().min(9)];
        let scale = 10u128.pow(digits.len() as u32);
        let value: u128 = digits.parse().map_err(|_| not_a_size())?;
        let extra =
            u64::try_from(value * u128::from(multiplier) / scale).map_err(|_| too_large())?;
        bytes = bytes.checked_add(extra).ok_or_else(too_large)?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_binary_and_decimal_units() {
        for (text, bytes) in [
            ("262144", 262_144),
            ("8MiB", 8 << 20),
            ("8 MiB", 8 << 20),
            ("8mib", 8 << 20),
            ("8M", 8 << 20),
            ("256KiB", 256 << 10),
            ("5MB", 5_000_000),
            ("5GB", 5_000_000_000),
            ("1.5GiB", 3 << 29),
            ("0.5k", 512),
            ("2TiB", 2 << 40),
            ("7B", 7),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_size() {
        for text in [
            "",
            "MiB",
            "-1",
            "1.2.3MiB",
            ".5M",
            "5.",
            "8XB",
            "1 2",
            "99999999999999999999",
        ] {
            assert!(parse_size(text).is_err(), "{text}");
        }
        assert!(matches!(
            parse_size("20000000TiB"),
            Err(SizeError::TooLarge(_))
        ));
    }
}
