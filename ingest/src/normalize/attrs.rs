//! Attribute access by key, and attributes as JSON (values unwrapped from `AnyValue`).

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use std::collections::HashMap;

/// A span's attributes by key, for the many lookups normalization makes.
pub(crate) struct Attrs<'a> {
    map: HashMap<&'a str, &'a AnyValue>,
}

impl<'a> Attrs<'a> {
    /// Indexes a key-value list; a repeated key keeps its last value.
    pub fn new(kvs: &'a [KeyValue]) -> Self {
        let mut map = HashMap::with_capacity(kvs.len());
        for kv in kvs {
            if let Some(v) = &kv.value {
                map.insert(kv.key.as_str(), v);
            }
        }
        Attrs { map }
    }

    /// The raw value of a key.
    pub fn get(&self, key: &str) -> Option<&'a AnyValue> {
        self.map.get(key).copied()
    }

    /// Whether any of these keys is present.
    pub fn has_any(&self, keys: &[&str]) -> bool {
        keys.iter().any(|k| self.map.contains_key(k))
    }

    /// The first of `keys` with a non-empty value, as text (numbers and booleans
    /// written out, arrays joined with commas).
    pub fn text(&self, keys: &[&str]) -> Option<String> {
        keys.iter()
            .find_map(|k| self.get(k).and_then(value_text).filter(|s| !s.is_empty()))
    }

    /// The first of `keys` with an integer value (ints, integral doubles, numeric strings).
    pub fn int(&self, keys: &[&str]) -> Option<i64> {
        keys.iter()
            .find_map(|k| match self.get(k)?.value.as_ref()? {
                Value::IntValue(i) => Some(*i),
                Value::DoubleValue(d) if d.is_finite() && d.fract() == 0.0 => Some(*d as i64),
                Value::StringValue(s) => s.trim().parse().ok(),
                _ => None,
            })
    }

    /// The first of `keys` with a numeric value.
    pub fn float(&self, keys: &[&str]) -> Option<f64> {
        keys.iter()
            .find_map(|k| match self.get(k)?.value.as_ref()? {
                Value::IntValue(i) => Some(*i as f64),
                Value::DoubleValue(d) if d.is_finite() => Some(*d),
                Value::StringValue(s) => s.trim().parse().ok().filter(|d: &f64| d.is_finite()),
                _ => None,
            })
    }

    /// The first of `keys` with a boolean value (booleans, `"true"`/`"false"` strings).
    pub fn bool(&self, keys: &[&str]) -> Option<bool> {
        keys.iter()
            .find_map(|k| match self.get(k)?.value.as_ref()? {
                Value::BoolValue(b) => Some(*b),
                Value::StringValue(s) => s.trim().to_ascii_lowercase().parse().ok(),
                _ => None,
            })
    }

    /// Keys with a prefix, in the order given by the numeric index after it, for
    /// flattened lists such as `gen_ai.prompt.0.role`.
    pub fn indexed(&self, prefix: &str) -> Vec<(usize, &'a str, &'a AnyValue)> {
        let mut out: Vec<(usize, &'a str, &'a AnyValue)> = self
            .map
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(prefix)?;
                let (index, field) = rest.split_once('.')?;
                Some((index.parse().ok()?, field, *v))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
        out
    }
}

/// A value as text: strings as they are, scalars written out, arrays joined by `, `,
/// maps as JSON.
pub(crate) fn value_text(v: &AnyValue) -> Option<String> {
    Some(match v.value.as_ref()? {
        Value::StringValue(s) => s.clone(),
        Value::BoolValue(b) => b.to_string(),
        Value::IntValue(i) => i.to_string(),
        Value::DoubleValue(d) => d.to_string(),
        Value::ArrayValue(a) => a
            .values
            .iter()
            .filter_map(value_text)
            .collect::<Vec<_>>()
            .join(", "),
        Value::KvlistValue(_) | Value::BytesValue(_) => {
            let mut s = String::new();
            write_value(&mut s, v);
            s
        }
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// Key-values as a JSON object.
pub(crate) fn to_json(kvs: &[KeyValue]) -> String {
    let mut out = String::with_capacity(kvs.len() * 48 + 2);
    write_object(&mut out, kvs);
    out
}

/// Appends key-values as a JSON object.
pub(crate) fn write_object(out: &mut String, kvs: &[KeyValue]) {
    out.push('{');
    for (i, kv) in kvs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, &kv.key);
        out.push(':');
        match &kv.value {
            Some(v) => write_value(out, v),
            None => out.push_str("null"),
        }
    }
    out.push('}');
}

/// Appends a value as JSON: strings, numbers, booleans, arrays and objects as
/// themselves; bytes as `{"bytes": base64}`.
pub(crate) fn write_value(out: &mut String, v: &AnyValue) {
    use base64::Engine;
    match &v.value {
        None => out.push_str("null"),
        Some(Value::StringValue(s)) => write_string(out, s),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => out.push_str(&i.to_string()),
        Some(Value::DoubleValue(d)) if d.is_finite() => {
            out.push_str(&serde_json::to_string(d).expect("finite float"))
        }
        Some(Value::DoubleValue(d)) => write_string(out, &d.to_string()),
        Some(Value::ArrayValue(a)) => {
            out.push('[');
            for (i, item) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Some(Value::KvlistValue(kv)) => write_object(out, &kv.values),
        Some(Value::BytesValue(b)) => {
            out.push_str("{\"bytes\":");
            write_string(out, &base64::engine::general_purpose::STANDARD.encode(b));
            out.push('}');
        }
        #[allow(unreachable_patterns)]
        Some(_) => out.push_str("null"),
    }
}

/// Appends a JSON string literal.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).expect("strings serialize"));
}
