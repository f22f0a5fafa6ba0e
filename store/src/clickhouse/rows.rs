//! Spans as the exporter inserts them: one `JSONEachRow` object per span with the
//! table's column names (nested `Events.*` and `Links.*` as parallel arrays).

use crate::collector_span::CollectorSpan;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use std::collections::HashMap;

/// Unix ns as the `DateTime64(9)` text ClickHouse parses (`seconds.nanoseconds`).
pub(super) fn timestamp(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    format!("{secs}.{frac:09}")
}

/// Attribute pairs as a JSON object (a ClickHouse `Map`), written straight from the
/// span: a key given twice keeps its first place and its last value, as a JSON
/// object built from the pairs would.
pub(super) struct Pairs<'a>(pub(super) &'a [(String, String)]);

impl Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut last: HashMap<&str, &str> = HashMap::new();
        let repeated = self.0.len() > 1 && {
            for (k, v) in self.0 {
                last.insert(k, v);
            }
            last.len() < self.0.len()
        };
        let mut map = s.serialize_map(Some(if repeated { last.len() } else { self.0.len() }))?;
        for (k, v) in self.0 {
            if !repeated {
                map.serialize_entry(k, v)?;
            } else if let Some(v) = last.remove(k.as_str()) {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

/// A column of a nested structure (`Events.Name`…): one value per element, drawn
/// from the span when written.
struct Each<F>(F);

impl<F, I> Serialize for Each<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

/// One span as the exporter's row, every text borrowed from the span.
struct Row<'a>(&'a CollectorSpan);

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let s = self.0;
        let mut m = ser.serialize_map(Some(22))?;
        m.serialize_entry("Timestamp", &timestamp(s.start_ns))?;
        m.serialize_entry("TraceId", &s.trace_id)?;
        m.serialize_entry("SpanId", &s.span_id)?;
        m.serialize_entry("ParentSpanId", &s.parent_span_id)?;
        m.serialize_entry("TraceState", &s.trace_state)?;
        m.serialize_entry("SpanName", &s.name)?;
        m.serialize_entry("SpanKind", &s.kind)?;
        m.serialize_entry("ServiceName", &s.service)?;
        m.serialize_entry("ResourceAttributes", &Pairs(&s.resource_attributes))?;
        m.serialize_entry("ScopeName", &s.scope_name)?;
        m.serialize_entry("ScopeVersion", &s.scope_version)?;
        m.serialize_entry("SpanAttributes", &Pairs(&s.attributes))?;
        m.serialize_entry("Duration", &s.duration_ns.max(0))?;
        m.serialize_entry("StatusCode", &s.status_code)?;
        m.serialize_entry("StatusMessage", &s.status_message)?;
        let events = &s.events;
        m.serialize_entry(
            "Events.Timestamp",
            &Each(|| events.iter().map(|e| timestamp(e.time_ns))),
        )?;
        m.serialize_entry("Events.Name", &Each(|| events.iter().map(|e| &e.name)))?;
        m.serialize_entry(
            "Events.Attributes",
            &Each(|| events.iter().map(|e| Pairs(&e.attributes))),
        )?;
        let links = &s.links;
        m.serialize_entry("Links.TraceId", &Each(|| links.iter().map(|l| &l.trace_id)))?;
        m.serialize_entry("Links.SpanId", &Each(|| links.iter().map(|l| &l.span_id)))?;
        m.serialize_entry(
            "Links.TraceState",
            &Each(|| links.iter().map(|l| &l.trace_state)),
        )?;
        m.serialize_entry(
            "Links.Attributes",
            &Each(|| links.iter().map(|l| Pairs(&l.attributes))),
        )?;
        m.end()
    }
}

/// The spans as `JSONEachRow` lines.
pub(super) fn json_each_row(spans: &[CollectorSpan]) -> Vec<u8> {
    let mut out = Vec::with_capacity(spans.len() * 1024);
    for s in spans {
        serde_json::to_writer(&mut out, &Row(s)).expect("rows serialize");
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_keep_every_nanosecond() {
        assert_eq!(
            super::timestamp(1_700_000_000_000_000_001),
            "1700000000.000000001"
        );
        assert_eq!(super::timestamp(0), "0.000000000");
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_row_holds_every_column_and_a_repeated_key_once() {
        use crate::collector_span::{CollectorEvent, CollectorLink, CollectorSpan};
        let span = CollectorSpan {
            start_ns: 1_700_000_000_000_000_001,
            trace_id: "t".into(),
            span_id: "s".into(),
            name: "chat \"quoted\"".into(),
            attributes: pairs(&[("a", "1"), ("b", "2"), ("a", "3")]),
            resource_attributes: pairs(&[("service.name", "svc")]),
            duration_ns: -5,
            events: vec![CollectorEvent {
                time_ns: 2,
                name: "exception".into(),
                attributes: pairs(&[("exception.type", "E")]),
            }],
            links: vec![CollectorLink {
                trace_id: "u".into(),
                span_id: "v".into(),
                trace_state: String::new(),
                attributes: Vec::new(),
            }],
            ..CollectorSpan::default()
        };
        let line = super::json_each_row(std::slice::from_ref(&span));
        assert_eq!(line.last(), Some(&b'\n'));
        let row: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(row["Timestamp"], "1700000000.000000001");
        assert_eq!(row["SpanName"], "chat \"quoted\"");
        assert_eq!(row["Duration"], 0);
        let attributes: Vec<(&str, &str)> = row["SpanAttributes"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect();
        assert_eq!(attributes, [("a", "3"), ("b", "2")]);
        assert_eq!(row["ResourceAttributes"]["service.name"], "svc");
        assert_eq!(row["Events.Timestamp"][0], "0.000000002");
        assert_eq!(row["Events.Name"][0], "exception");
        assert_eq!(row["Events.Attributes"][0]["exception.type"], "E");
        assert_eq!(row["Links.TraceId"][0], "u");
        assert_eq!(row["Links.Attributes"][0], serde_json::json!({}));
        assert_eq!(row.as_object().unwrap().len(), 22);
    }
}
