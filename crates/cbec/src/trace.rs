//! One traceability code per released item, as a GS1 Digital Link URI, and its QR image.
//!
//! A code is `{base}/01/{gtin14}/21/{serial}`: the trade item (AI 01) and a serial (AI 21) naming the order,
//! the line and the unit. AI 21 allows at most 20 characters from GS1's AI 82 set, and an order number alone
//! may be longer than that (the platform chooses it), so the serial does not carry the order key itself but
//! a digest of it:
//!
//! ```text
//! {P}.{line}.{unit}     P = the first 12 characters of base-32 (RFC 4648, A–Z 2–7) of
//!                           SHA-256("{platform USCC}/{order_no}"): 60 bits
//!                       line, unit = base 36 (0–9 A–Z), at most 3 characters each (≤ 46,655)
//! ```
//!
//! at most 12 + 1 + 3 + 1 + 3 = 20 characters, all from the AI 82 set and none needing percent-encoding in
//! a URI. `unit` is 1-based for a code per unit and 0 for the one code of a line. The prefix `P` is the same
//! for every code of an order, so the resolver keeps one entry per released order (prefix → order key,
//! [`serial_prefix`], [`prefix_of_serial`]); with 60 bits two orders share a prefix with probability about
//! n² / 2^61 (10^-3 at 50 million orders), which the resolver can detect when it records a release.
//!
//! A line or unit number above 46,655 (line numbers are the platform's, any `u32`) does not fit; such a code
//! is `{P}-{H}` with `H` the first 7 base-32 characters of SHA-256("{platform}/{order_no}/{line}/{unit}"),
//! still 20 characters and still resolved by its prefix, but no longer read back to its line and unit
//! (recompute [`codes_for`] of the order to find it).
//!
//! How many codes a line gets: one per unit when the quantity is a whole number from 1 to
//! [`UNIT_CODES_MAX`] in a count unit ([`COUNT_UNITS`]); otherwise one code for the line.

use qrcode::render::svg;
use qrcode::types::QrError;
use qrcode::{EcLevel, QrCode};
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::documents::{Order, OrderKey};
use crate::gtin::Gtin;

/// Most codes for one line: a line of more units gets one code.
pub const UNIT_CODES_MAX: u32 = 1_000;
/// Characters of the order digest in a serial.
pub const PREFIX_LENGTH: usize = 12;
/// Most characters of an AI 21 serial.
pub const SERIAL_LENGTH_MAX: usize = 20;

/// Count units (UN/ECE Rec. 20 and the older Rec. 21 codes platforms still send): a quantity in them is a
/// number of things that can each carry a label. Only `C62` is in the shipped unit list (`data/ref`) today;
/// the others are accepted here so that adding them to the list needs no change.
pub const COUNT_UNITS: &[&str] = &["C62", "H87", "PCE", "EA", "NAR", "SET", "NPR", "PR"];

/// The punctuation GS1's AI 82 character set allows besides digits and letters.
const AI82_PUNCTUATION: &str = "!\"%&'()*+,-./:;<=>?_";
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE36: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// 36^3: line and unit numbers below it take at most three base-36 characters.
const NUMBER_LIMIT: u32 = 46_656;

/// One code of a released order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TraceCode {
    pub line: u32,
    /// 1-based unit, or 0 for the one code of the line.
    pub unit_index: u32,
    pub uri: String,
}

/// Whether a character is in GS1's AI 82 set.
pub fn is_ai82(c: char) -> bool {
    c.is_ascii_alphanumeric() || AI82_PUNCTUATION.contains(c)
}

/// Whether a text is a valid AI 21 serial: 1 to 20 characters of the AI 82 set.
pub fn is_serial(text: &str) -> bool {
    (1..=SERIAL_LENGTH_MAX).contains(&text.len()) && text.chars().all(is_ai82)
}

/// The first `length` base-32 characters of some bytes (big-endian bit order, RFC 4648 alphabet).
fn base32(bytes: &[u8], length: usize) -> String {
    let mut out = String::with_capacity(length);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
            if out.len() == length {
                return out;
            }
        }
        buffer &= (1 << bits) - 1;
    }
    out
}

fn base36(mut n: u32) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(BASE36[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    String::from_utf8(digits).expect("base-36 digits are ASCII")
}

fn parse_base36(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 3 || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.chars().try_fold(0u32, |n, c| Some(n * 36 + c.to_digit(36).filter(|_| !c.is_ascii_lowercase())?))
}

/// The order digest every serial of the order starts with (12 base-32 characters).
pub fn serial_prefix(order: &OrderKey) -> String {
    base32(&Sha256::digest(order.text().as_bytes()), PREFIX_LENGTH)
}

/// [`serial_prefix`] as its bytes (base-32 is ASCII), as the resolver keeps it.
pub fn serial_prefix_bytes(order: &OrderKey) -> [u8; PREFIX_LENGTH] {
    let mut bytes = [0u8; PREFIX_LENGTH];
    bytes.copy_from_slice(serial_prefix(order).as_bytes());
    bytes
}

/// The order digest of a serial, when it has the form of one of ours.
pub fn prefix_of_serial(serial: &str) -> Option<&str> {
    let prefix = serial.get(..PREFIX_LENGTH)?;
    let rest = &serial[PREFIX_LENGTH..];
    let ours = prefix.bytes().all(|b| BASE32.contains(&b)) && (rest.starts_with('.') || rest.starts_with('-'));
    ours.then_some(prefix)
}

/// The line and unit a serial names, for the `{P}.{line}.{unit}` form.
pub fn line_of_serial(serial: &str) -> Option<(u32, u32)> {
    prefix_of_serial(serial)?;
    let (line, unit) = serial[PREFIX_LENGTH..].strip_prefix('.')?.split_once('.')?;
    Some((parse_base36(line)?, parse_base36(unit)?))
}

/// The AI 21 serial of one unit (or, with `unit_index` 0, of the line) of an order.
pub fn serial(order: &OrderKey, line: u32, unit_index: u32) -> String {
    serial_after(&serial_prefix(order), order, line, unit_index)
}

/// [`serial`] with the order's [`serial_prefix`] already known.
fn serial_after(prefix: &str, order: &OrderKey, line: u32, unit_index: u32) -> String {
    if line < NUMBER_LIMIT && unit_index < NUMBER_LIMIT {
        format!("{prefix}.{}.{}", base36(line), base36(unit_index))
    } else {
        let digest = Sha256::digest(format!("{}/{}/{line}/{unit_index}", order.platform, order.order_no).as_bytes());
        format!("{prefix}-{}", base32(&digest, SERIAL_LENGTH_MAX - PREFIX_LENGTH - 1))
    }
}

/// Percent-encodes the characters of an AI 82 value a URI path cannot carry as they are (GS1 Digital Link
/// 1.2 §7: `"`, `%`, `&`, `/`, `<`, `>`, `?` and anything outside the set).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"!'()*+,-.:;=_".contains(&byte);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes; `None` when an escape is malformed or the result is not UTF-8.
pub fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = value.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The GS1 Digital Link URI of one unit (or, with `unit_index` 0, of the line) of an order.
pub fn item_code(base: &str, gtin: &Gtin, order: &OrderKey, line: u32, unit_index: u32) -> String {
    code_after(base, &serial_prefix(order), gtin, order, line, unit_index)
}

/// [`item_code`] with the order's [`serial_prefix`] already known.
fn code_after(base: &str, prefix: &str, gtin: &Gtin, order: &OrderKey, line: u32, unit_index: u32) -> String {
    format!(
        "{}/01/{}/21/{}",
        base.trim_end_matches('/'),
        gtin.as_str(),
        percent_encode(&serial_after(prefix, order, line, unit_index))
    )
}

/// The GTIN and serial of a Digital Link path, `[…]/01/{gtin}/21/{serial}` (any path before `/01/` is
/// allowed, as Digital Link allows; a query or fragment is ignored). The serial is percent-decoded and must
/// be a valid AI 21 value; the GTIN must have its check digit.
pub fn parse_code(uri_path: &str) -> Option<(Gtin, String)> {
    let path = uri_path.split(['?', '#']).next().unwrap_or_default();
    let path = path.strip_suffix('/').unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    let n = segments.len();
    if n < 5 || segments[n - 4] != "01" || segments[n - 2] != "21" {
        return None;
    }
    let gtin = Gtin::parse(segments[n - 3]).ok()?;
    if segments[n - 3].len() != segments[n - 3].trim().len() {
        return None;
    }
    let serial = percent_decode(segments[n - 1])?;
    is_serial(&serial).then_some((gtin, serial))
}

/// How many codes a line gets: its units when the quantity is a whole number of a count unit from 1 to
/// [`UNIT_CODES_MAX`], else 0 (one code for the line).
pub fn unit_codes(quantity: Decimal, unit: &str) -> u32 {
    if !COUNT_UNITS.contains(&unit) || !quantity.fract().is_zero() {
        return 0;
    }
    match u32::try_from(quantity.trunc()) {
        Ok(units) if (1..=UNIT_CODES_MAX).contains(&units) => units,
        _ => 0,
    }
}

/// Every code of an order: for each line in order, its units 1..=n or its one line code (unit 0).
pub fn codes_for(base: &str, order: &Order) -> Vec<TraceCode> {
    let prefix = serial_prefix(&order.key);
    let mut codes = Vec::new();
    for item in &order.items {
        let units = unit_codes(item.quantity, item.unit.as_str());
        let indices = if units == 0 { 0..=0 } else { 1..=units };
        for unit_index in indices {
            codes.push(TraceCode {
                line: item.line,
                unit_index,
                uri: code_after(base, &prefix, &item.gtin, &order.key, item.line, unit_index),
            });
        }
    }
    codes
}

/// Pixels per module in [`qr_svg`].
pub const QR_MODULE_PIXELS: u32 = 4;
/// Modules of light margin on each side (the quiet zone ISO/IEC 18004 requires).
pub const QR_QUIET_ZONE: u32 = 4;

/// The QR code of a URI at error correction level M, as an SVG document.
///
/// # Panics
/// When the URI is longer than a QR code holds at level M (2,331 bytes); see [`try_qr_svg`].
pub fn qr_svg(uri: &str) -> String {
    try_qr_svg(uri).expect("a traceability URI fits a QR code")
}

/// [`qr_svg`], or why the URI does not fit.
pub fn try_qr_svg(uri: &str) -> Result<String, QrError> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)?;
    Ok(code
        .render::<svg::Color>()
        .quiet_zone(true)
        .module_dimensions(QR_MODULE_PIXELS, QR_MODULE_PIXELS)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// The QR symbol of a URI at level M: its version (1..=40), modules per side and the dark modules, row by
/// row. For tests and for rendering elsewhere.
pub fn qr_matrix(uri: &str) -> Result<(i16, usize, Vec<bool>), QrError> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)?;
    let version = match code.version() {
        qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => v,
    };
    Ok((version, code.width(), code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect()))
}
