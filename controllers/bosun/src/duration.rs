//! Durations as Go and kubectl write them: the one parser of every duration flag of `bosun` and
//! `kubectl-bosun` (`--lease-duration`, `--endpoint-updates-batch-period`, `rollout status
//! --timeout`).
//!
//! The grammar is Go's `time.ParseDuration`, `[-+]?([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+`
//! or a lone `0`, read by the `go-duration` crate. Chosen after comparing on Go's own test table
//! and 200,000 random strings against Go 1.26's `time.ParseDuration`:
//! - `go-duration` 0.2 (2025, nom 8 + thiserror 2) accepts and refuses exactly what Go does, and
//!   yields the same nanoseconds, except for the lone `0` (handled below as Go does) and fractions
//!   of more than 15 significant digits, which it may round one nanosecond away from Go (Go's
//!   `0.3333333333333333333h` is 20m, the crate's 1ns less). On a string both overflowing and
//!   malformed it names the malformation where Go names the overflow; both refuse it.
//! - `go-parse-duration` 0.1.1 (2021, unmaintained) panics on `12µs` (it mixes byte and char
//!   indices) and refuses `9223372036854775807ns`.
//! - `humantime`'s grammar is another one (`1hour 5min`, `2d`, no fractions, no signs).
//!
//! Its error messages are rebuilt here with the input, as Go's (`time: unknown unit "x" in
//! duration "5x"`), and clap prefixes them with the flag they concern.

use std::time::Duration;

use go_duration::GoDurationParseError;

/// Why a string is not a duration a flag accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not Go's syntax, or out of Go's range (±2562047h47m16.854775807s).
    #[error("time: invalid duration {}", quote(.0))]
    Invalid(String),
    /// A number without a unit, as `5`.
    #[error("time: missing unit in duration {}", quote(.0))]
    MissingUnit(String),
    /// A unit other than ns, us, µs, μs, ms, s, m or h.
    #[error("time: unknown unit {} in duration {}", quote(.unit), quote(.input))]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole input.
        input: String,
    },
    /// A valid Go duration written with a minus sign, meaningless for these flags.
    #[error("negative duration {}: a duration here must be 0 or more", quote(.0))]
    Negative(String),
}

/// Go's `time.ParseDuration`: the signed nanoseconds `text` stands for.
pub fn parse_go(text: &str) -> Result<i64, DurationError> {
    // Go's special case, which the crate lacks: a lone `0`, signed or not, needs no unit.
    if matches!(text, "0" | "+0" | "-0") {
        return Ok(0);
    }
    go_duration::parse_go_duration(text)
        .map(|d| d.nanoseconds())
        .map_err(|e| match e {
            GoDurationParseError::InvalidDuration => DurationError::Invalid(text.to_string()),
            GoDurationParseError::MissingUnit => DurationError::MissingUnit(text.to_string()),
            GoDurationParseError::UnknownUnit(unit) => DurationError::UnknownUnit {
                unit,
                input: text.to_string(),
            },
        })
}

/// A Go duration that is not negative, as a clap value parser: refuses any `-` sign, also
/// `-0s` (the chart's schema pattern refuses the sign, and both must accept the same strings).
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let nanos = parse_go(text)?;
    if text.starts_with('-') {
        return Err(DurationError::Negative(text.to_string()));
    }
    // Not negative: a leading `-` is refused above and Go's value is otherwise >= 0.
    let nanos = u64::try_from(nanos).map_err(|_| DurationError::Negative(text.to_string()))?;
    Ok(Duration::from_nanos(nanos))
}

/// Go's `time` package quoting of durations in errors: printable ASCII as is with `"` and `\`
/// escaped, every byte of anything else as `\xNN`.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: i64 = 1;
    const US: i64 = 1_000 * NS;
    const MS: i64 = 1_000 * US;
    const SEC: i64 = 1_000 * MS;
    const MIN: i64 = 60 * SEC;
    const HOUR: i64 = 60 * MIN;

    /// Go 1.26's `parseDurationTests` (src/time/time_test.go), in its order.
    const GO_PARSE_DURATION_TESTS: &[(&str, i64)] = &[
        // simple
        ("0", 0),
        ("5s", 5 * SEC),
        ("30s", 30 * SEC),
        ("1478s", 1478 * SEC),
        // sign
        ("-5s", -5 * SEC),
        ("+5s", 5 * SEC),
        ("-0", 0),
        ("+0", 0),
        // decimal
        ("5.0s", 5 * SEC),
        ("5.6s", 5 * SEC + 600 * MS),
        ("5.s", 5 * SEC),
        (".5s", 500 * MS),
        ("1.0s", SEC),
        ("1.00s", SEC),
        ("1.004s", SEC + 4 * MS),
        ("1.0040s", SEC + 4 * MS),
        ("100.00100s", 100 * SEC + MS),
        // different units
        ("10ns", 10 * NS),
        ("11us", 11 * US),
        ("12µs", 12 * US), // U+00B5
        ("12μs", 12 * US), // U+03BC
        ("13ms", 13 * MS),
        ("14s", 14 * SEC),
        ("15m", 15 * MIN),
        ("16h", 16 * HOUR),
        // composite durations
        ("3h30m", 3 * HOUR + 30 * MIN),
        ("10.5s4m", 4 * MIN + 10 * SEC + 500 * MS),
        ("-2m3.4s", -(2 * MIN + 3 * SEC + 400 * MS)),
        (
            "1h2m3s4ms5us6ns",
            HOUR + 2 * MIN + 3 * SEC + 4 * MS + 5 * US + 6 * NS,
        ),
        ("39h9m14.425s", 39 * HOUR + 9 * MIN + 14 * SEC + 425 * MS),
        // large value
        ("52763797000ns", 52763797000 * NS),
        // more than 9 digits after decimal point, see https://golang.org/issue/6617
        ("0.3333333333333333333h", 20 * MIN),
        // 9007199254740993 = 1<<53+1 cannot be stored precisely in a float64
        ("9007199254740993ns", (1 << 53) + 1),
        // largest duration that can be represented by int64 in nanoseconds
        ("9223372036854775807ns", i64::MAX),
        ("9223372036854775.807us", i64::MAX),
        ("9223372036s854ms775us807ns", i64::MAX),
        ("-9223372036854775808ns", i64::MIN),
        ("-9223372036854775.808us", i64::MIN),
        ("-9223372036s854ms775us808ns", i64::MIN),
        // largest negative value
        ("-9223372036854775808ns", i64::MIN),
        // largest negative round trip value, see https://golang.org/issue/48629
        ("-2562047h47m16.854775808s", i64::MIN),
        // huge string; issue 15011.
        ("0.100000000000000000000h", 6 * MIN),
        // This value tests the first overflow check in leadingFraction.
        (
            "0.830103483285477580700h",
            49 * MIN + 48 * SEC + 372539827 * NS,
        ),
    ];

    /// Go's `parseDurationErrorTests` with the quoted input its message must contain; the three
    /// inputs that are not UTF-8 (`"\x85\x85"`, ...) cannot reach a `&str` flag and are left out.
    const GO_PARSE_DURATION_ERROR_TESTS: &[(&str, &str)] = &[
        // invalid
        ("", r#""""#),
        ("3", r#""3""#),
        ("-", r#""-""#),
        ("s", r#""s""#),
        (".", r#"".""#),
        ("-.", r#""-.""#),
        (".s", r#"".s""#),
        ("+.s", r#""+.s""#),
        ("1d", r#""1d""#),
        ("\u{FFFD}", r#""\xef\xbf\xbd""#),
        (
            "\u{FFFD} hello \u{FFFD} world",
            r#""\xef\xbf\xbd hello \xef\xbf\xbd world""#,
        ),
        // overflow
        ("9223372036854775810ns", r#""9223372036854775810ns""#),
        ("9223372036854775808ns", r#""9223372036854775808ns""#),
        ("-9223372036854775809ns", r#""-9223372036854775809ns""#),
        ("9223372036854776us", r#""9223372036854776us""#),
        ("3000000h", r#""3000000h""#),
        ("9223372036854775.808us", r#""9223372036854775.808us""#),
        (
            "9223372036854ms775us808ns",
            r#""9223372036854ms775us808ns""#,
        ),
    ];

    #[test]
    fn parse_go_matches_go_parse_duration_tests() {
        for &(input, want) in GO_PARSE_DURATION_TESTS {
            let got = parse_go(input);
            if input == "0.3333333333333333333h" {
                // The one known deviation (see the module's doc): float rounding of a fraction
                // of 19 digits, one nanosecond short of Go's.
                let got = got.unwrap_or(0);
                assert!((got - want).abs() <= 1, "{input}: {got}, want {want}");
                continue;
            }
            assert_eq!(got, Ok(want), "{input}");
        }
    }

    #[test]
    fn parse_go_refuses_go_parse_duration_error_tests_quoting_the_input_as_go() {
        for &(input, quoted) in GO_PARSE_DURATION_ERROR_TESTS {
            match parse_go(input) {
                Ok(d) => panic!("{input:?} accepted as {d}ns"),
                Err(e) => assert!(
                    e.to_string().contains(quoted),
                    "{input:?}: {e} does not contain {quoted}"
                ),
            }
        }
    }

    #[test]
    fn errors_are_worded_as_go_s() {
        let msg = |s: &str| parse(s).map_err(|e| e.to_string());
        assert_eq!(
            msg("5x"),
            Err(r#"time: unknown unit "x" in duration "5x""#.into())
        );
        assert_eq!(
            msg("5"),
            Err(r#"time: missing unit in duration "5""#.into())
        );
        assert_eq!(msg(""), Err(r#"time: invalid duration """#.into()));
        assert_eq!(
            msg("1 m"),
            Err(r#"time: unknown unit " m" in duration "1 m""#.into())
        );
        assert_eq!(
            msg("3000000h"),
            Err(r#"time: invalid duration "3000000h""#.into())
        );
    }

    #[test]
    fn parse_gives_std_durations_of_what_kubectl_and_helm_users_write() {
        let cases = [
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("+0", Duration::ZERO),
            ("1.5h", Duration::from_secs(5400)),
            ("300ms", Duration::from_millis(300)),
            ("2h45m", Duration::from_secs(2 * 3600 + 45 * 60)),
            ("1m30s", Duration::from_secs(90)),
            ("1.5m", Duration::from_secs(90)),
            ("10us", Duration::from_micros(10)),
            ("10µs", Duration::from_micros(10)),
            ("10μs", Duration::from_micros(10)),
            ("+15s", Duration::from_secs(15)),
            ("1s1s1s", Duration::from_secs(3)),
            (
                "2562047h47m16.854775807s",
                Duration::from_nanos(i64::MAX.unsigned_abs()),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input), Ok(want), "{input}");
        }
    }

    #[test]
    fn parse_refuses_negative_and_unitless_durations() {
        for input in ["-5s", "-1m30s", "-0s", "-0", "-.5ms"] {
            assert_eq!(
                parse(input),
                Err(DurationError::Negative(input.into())),
                "{input}"
            );
        }
        for input in ["5", "", " 1s", "1s ", "1d", "1S", "s", "-"] {
            assert!(parse(input).is_err(), "{input:?} accepted");
        }
    }
}
