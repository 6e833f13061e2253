//! How values are written on the pages: amounts with thousands separators, money with two decimals, times
//! in China Standard Time, durations in milliseconds, the API's messages, and links with query strings.

use chrono::{DateTime, FixedOffset, Offset, Utc};
use maud::{html, Markup};
use serde_json::Value;

/// A string field of a JSON object; `""` when absent or not a string.
pub(crate) fn field<'a>(value: &'a Value, name: &str) -> &'a str {
    value.get(name).and_then(Value::as_str).unwrap_or("")
}

/// Writes a decimal string (`"1234567.80"`, `"-5"`) with thousands separators; other text is returned as is.
pub(crate) fn amount(text: &str) -> String {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + whole.len() / 3);
    out.push_str(sign);
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// A sum of money (`"0"`, `"1234.5"`) with thousands separators and at least two decimals; decimals beyond
/// the second are kept as recorded, never rounded away. Other text is returned as is.
pub(crate) fn money(text: &str) -> String {
    let decimals = text.split_once('.').map_or(0, |(_, fraction)| fraction.len());
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let numeric =
        unsigned.bytes().any(|b| b.is_ascii_digit()) && unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    match decimals {
        _ if !numeric => text.to_owned(),
        0 => amount(&format!("{text}.00")),
        1 => amount(&format!("{text}0")),
        _ => amount(text),
    }
}

/// An amount in fen as yuan with two decimals and thousands separators.
pub(crate) fn fen(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    amount(&format!("{sign}{}.{:02}", abs / 100, abs % 100))
}

fn china_time() -> FixedOffset {
    // UTC+8 is a valid offset: the fallback is never taken.
    FixedOffset::east_opt(8 * 3600).unwrap_or(Utc.fix())
}

/// A time in China Standard Time (UTC+8), the zone's local time, to the second.
pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.with_timezone(&china_time()).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// An RFC 3339 time as [`time`] writes it; text that is not a time is returned as is.
pub(crate) fn time_text(text: &str) -> String {
    DateTime::parse_from_rfc3339(text).map(|at| time(at.with_timezone(&Utc))).unwrap_or_else(|_| text.to_owned())
}

/// A rate as the assessment writes it (`10`, `2.00/LTR`, `20+1.00/LTR`) with its units, the currency named
/// `yuan` (`CNY`, `元`): `20 % + 1.00 CNY/LTR`. Each part keeps its unit (no-break spaces), so that a line
/// breaks only between the parts.
pub(crate) fn rate(text: &str, yuan: &str) -> String {
    let part = |part: &str| match part.split_once('/') {
        Some((amount, per)) => format!("{amount}\u{a0}{yuan}/{per}"),
        None => format!("{part}\u{a0}%"),
    };
    text.split('+').map(part).collect::<Vec<_>>().join(" + ")
}

/// Microseconds as milliseconds with up to three decimals (`1234` → `1.234`).
pub(crate) fn millis(us: i64) -> String {
    let sign = if us < 0 { "-" } else { "" };
    let abs = us.unsigned_abs();
    let text = format!("{sign}{}.{:03}", abs / 1000, abs % 1000);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A message of the API as shown: the values it quotes in backticks (`` tariff line `99999999` ``) as
/// `<code>`. An unpaired backtick is kept as it is.
pub(crate) fn message(text: &str) -> Markup {
    let parts: Vec<&str> = text.split('`').collect();
    let paired = parts.len() % 2 == 1;
    html! {
        @for (index, part) in parts.iter().enumerate() {
            @if index % 2 == 1 && paired {
                code { (part) }
            } @else {
                @if index > 0 && !paired { "`" }
                (part)
            }
        }
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters stay).
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `path` with the non-empty pairs as its query string.
pub(crate) fn href(path: &str, pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_get_separators() {
        assert_eq!(amount("1234567.80"), "1,234,567.80");
        assert_eq!(amount("123.4"), "123.4");
        assert_eq!(amount("-1000"), "-1,000");
        assert_eq!(amount("n/a"), "n/a");
        assert_eq!(fen(3_282_706), "32,827.06");
        assert_eq!(fen(-5), "-0.05");
        assert_eq!(money("0"), "0.00");
        assert_eq!(money("1234.5"), "1,234.50");
        assert_eq!(money("-160000.00"), "-160,000.00");
        assert_eq!(money("0.125"), "0.125");
        assert_eq!(money(""), "");
        assert_eq!(money("n/a"), "n/a");
    }

    #[test]
    fn quoted_values_become_code() {
        let shown = |text: &str| message(text).into_string();
        assert_eq!(shown("tariff line `99999999` is unknown"), "tariff line <code>99999999</code> is unknown");
        assert_eq!(shown("`a` and `<b>`"), "<code>a</code> and <code>&lt;b&gt;</code>");
        assert_eq!(shown("no quotes"), "no quotes");
        assert_eq!(shown("one ` only"), "one ` only");
    }

    #[test]
    fn times_are_china_standard_time() {
        assert_eq!(time_text("2026-03-02T08:00:00.000000Z"), "2026-03-02 16:00:00");
        assert_eq!(time_text("yesterday"), "yesterday");
    }

    #[test]
    fn durations_and_links() {
        assert_eq!(rate("20+1.00/LTR", "CNY"), "20\u{a0}% + 1.00\u{a0}CNY/LTR");
        assert_eq!(rate("2.00/LTR", "元"), "2.00\u{a0}元/LTR");
        assert_eq!(rate("13", "CNY"), "13\u{a0}%");
        assert_eq!(millis(1_234), "1.234");
        assert_eq!(millis(2_000), "2");
        assert_eq!(millis(1_500), "1.5");
        assert_eq!(href("/console/x", &[("a", "b c"), ("d", ""), ("e", "é")]), "/console/x?a=b%20c&e=%C3%A9");
    }
}
