//! Lenient readers for the primitive shapes real OTLP JSON writers produce: 64-bit
//! integers as strings or numbers, enums as names or numbers, ids as hex or base64,
//! `null` where a list or object belongs.

use base64::Engine;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// `null` or absent reads as the default value.
pub fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

struct U64Visitor;

impl Visitor<'_> for U64Visitor {
    type Value = u64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an unsigned 64-bit integer, as a number or a string")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom(format!("{v} is negative")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        if v.fract() == 0.0 && (0.0..1.8446744073709552e19).contains(&v) {
            Ok(v as u64)
        } else {
            Err(E::custom(format!("{v} is not an unsigned integer")))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        v.trim()
            .parse()
            .map_err(|_| E::custom(format!("{v:?} is not an unsigned integer")))
    }
    fn visit_unit<E: de::Error>(self) -> Result<u64, E> {
        Ok(0)
    }
}

/// An unsigned 64-bit integer from a number or a string (`null` reads as 0).
pub fn u64_any<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(U64Visitor)
}

struct I64Visitor;

impl Visitor<'_> for I64Visitor {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a 64-bit integer, as a number or a string")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom(format!("{v} is too large")))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        if v.fract() == 0.0 && v.abs() < 9.2e18 {
            Ok(v as i64)
        } else {
            Err(E::custom(format!("{v} is not an integer")))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        v.trim()
            .parse()
            .map_err(|_| E::custom(format!("{v:?} is not an integer")))
    }
}

/// A signed 64-bit integer from a number or a string.
pub fn i64_any<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    d.deserialize_any(I64Visitor)
}

struct F64Visitor;

impl Visitor<'_> for F64Visitor {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, or \"NaN\" / \"Infinity\" / \"-Infinity\"")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => v
                .trim()
                .parse()
                .map_err(|_| E::custom(format!("{v:?} is not a number"))),
        }
    }
}

/// A double from a number or the protobuf JSON spellings of special values.
pub fn f64_any<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    d.deserialize_any(F64Visitor)
}

/// An enum field: its number, or its protobuf name (`SPAN_KIND_CLIENT`), or the name
/// without its prefix (`CLIENT`).
pub struct EnumVisitor {
    /// The enum's names in number order.
    pub names: &'static [&'static str],
    /// The prefix its names carry (`SPAN_KIND_`).
    pub prefix: &'static str,
}

impl Visitor<'_> for EnumVisitor {
    type Value = i32;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an enum number or one of {}", self.names.join(", "))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i32, E> {
        i32::try_from(v).map_err(|_| E::custom(format!("enum value {v} out of range")))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i32, E> {
        i32::try_from(v).map_err(|_| E::custom(format!("enum value {v} out of range")))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<i32, E> {
        let upper = v.to_ascii_uppercase();
        let bare = upper.strip_prefix(self.prefix).unwrap_or(&upper);
        self.names
            .iter()
            .position(|n| n.strip_prefix(self.prefix).unwrap_or(n) == bare)
            .map(|i| i as i32)
            .or_else(|| v.parse().ok())
            .ok_or_else(|| {
                E::custom(format!(
                    "unknown enum value {v:?}; expected one of {}",
                    self.names.join(", ")
                ))
            })
    }
    fn visit_unit<E: de::Error>(self) -> Result<i32, E> {
        Ok(0)
    }
}

const SPAN_KINDS: &[&str] = &[
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
];
const STATUS_CODES: &[&str] = &["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

/// `kind` of a span.
pub fn span_kind<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    d.deserialize_any(EnumVisitor {
        names: SPAN_KINDS,
        prefix: "SPAN_KIND_",
    })
}

/// `code` of a status.
pub fn status_code<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    d.deserialize_any(EnumVisitor {
        names: STATUS_CODES,
        prefix: "STATUS_CODE_",
    })
}

/// A trace or span id: hex (what OTLP JSON specifies) or base64 (what generic protobuf
/// JSON printers write). The length is checked later, where the reason can be reported.
pub fn id_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = Option::<String>::deserialize(d)?.unwrap_or_default();
    decode_id(&s).map_err(de::Error::custom)
}

/// Decodes an id string (hex, else base64).
pub fn decode_id(s: &str) -> Result<Vec<u8>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    if s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok((0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
            .collect());
    }
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(s))
        .map_err(|_| format!("id {s:?} is neither hex nor base64"))
}

/// Bytes of a `bytesValue` (base64).
pub fn base64_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = Option::<String>::deserialize(d)?.unwrap_or_default();
    base64::engine::general_purpose::STANDARD
        .decode(&s)
        .map_err(|_| de::Error::custom(format!("bytesValue {s:?} is not base64")))
}
