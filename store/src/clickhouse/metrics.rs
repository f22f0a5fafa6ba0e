//! OTLP metrics in the Collector's `otel_metrics_*` tables (which `serve --clickhouse`
//! and the Collector fill), as the Metrics view charts them: the same catalogue and
//! views as a local database gives, the points read here and summed by the same code
//! (`crate::query::metrics::assemble`).

use super::http::{Client, Param, Params};
use super::reader::{float, int, text, uint};
use crate::error::StoreError;
use crate::filter::Filter;
use crate::query::metrics::{Point, assemble, check_bucket, group_label};
use crate::{MetricInfo, MetricView};
use std::collections::BTreeMap;

/// The tables' suffixes, which are also the kinds a local database names.
const KINDS: [&str; 5] = [
    "gauge",
    "sum",
    "histogram",
    "exponential_histogram",
    "summary",
];

/// OTLP's aggregation temporality for deltas (`AGGREGATION_TEMPORALITY_DELTA`).
const DELTA: i64 = 1;

/// The kinds whose table exists in the database (a team's may hold traces only).
fn present_kinds(client: &Client) -> Result<Vec<&'static str>, StoreError> {
    let mut p = Params::default();
    let sql = format!(
        "SELECT name FROM system.tables WHERE database = {} AND name LIKE 'otel\\_metrics\\_%'",
        p.text(&client.endpoint().database)
    );
    let names: Vec<String> = client
        .rows(&sql, &p)?
        .iter()
        .filter_map(|r| text(&r[0]))
        .collect();
    Ok(KINDS
        .into_iter()
        .filter(|k| names.iter().any(|n| n == &format!("otel_metrics_{k}")))
        .collect())
}

/// `db.otel_metrics_<kind>`.
fn table(client: &Client, kind: &str) -> String {
    format!("{}.otel_metrics_{kind}", client.endpoint().database)
}

/// The selection's conditions on metric points: its time range (from only when
/// `with_from`) and services; a metric's name when given.
fn conditions(filter: &Filter, with_from: bool, name: Option<&str>, p: &mut Params) -> String {
    let mut c = vec!["1".to_string()];
    if let Some(from) = filter.from_ns.filter(|_| with_from) {
        c.push(format!(
            "TimeUnix >= fromUnixTimestamp64Nano({})",
            p.push(Param::Int(from))
        ));
    }
    if let Some(to) = filter.to_ns {
        c.push(format!(
            "TimeUnix < fromUnixTimestamp64Nano({})",
            p.push(Param::Int(to))
        ));
    }
    if !filter.services.is_empty() {
        let names: Vec<String> = filter.services.iter().map(|s| p.text(s)).collect();
        c.push(format!("ServiceName IN ({})", names.join(", ")));
    }
    if let Some(name) = name {
        c.push(format!("MetricName = {}", p.text(name)));
    }
    c.join(" AND ")
}

/// Every metric with points in the selection's time range and services, by name.
pub(super) fn catalog(client: &Client, filter: &Filter) -> Result<Vec<MetricInfo>, StoreError> {
    let mut by_name: BTreeMap<String, MetricInfo> = BTreeMap::new();
    for kind in present_kinds(client)? {
        let mut p = Params::default();
        let sql = format!(
            "SELECT MetricName, any(MetricUnit), count(), toUnixTimestamp64Nano(min(TimeUnix)),
                    toUnixTimestamp64Nano(max(TimeUnix))
             FROM {} WHERE {} GROUP BY MetricName",
            table(client, kind),
            conditions(filter, true, None, &mut p)
        );
        for r in client.rows(&sql, &p)? {
            let name = text(&r[0]).unwrap_or_default();
            let info = MetricInfo {
                name: name.clone(),
                kind: kind.to_string(),
                unit: text(&r[1]).filter(|u| !u.is_empty()),
                points: uint(&r[2]),
                first_ns: int(&r[3]).unwrap_or(0),
                last_ns: int(&r[4]).unwrap_or(0),
            };
            // A name sent as two kinds is listed once, as a local database lists it.
            by_name
                .entry(name)
                .and_modify(|m| {
                    m.points += info.points;
                    m.first_ns = m.first_ns.min(info.first_ns);
                    m.last_ns = m.last_ns.max(info.last_ns);
                    m.kind = m.kind.clone().max(info.kind.clone());
                    m.unit = m.unit.take().or(info.unit.clone());
                })
                .or_insert(info);
        }
    }
    Ok(by_name.into_values().collect())
}

/// Metric `name` over the selection, in groups and per `bucket_ns`: the points before
/// the range are read too, a running total's first point in it being measured from
/// them (as locally).
pub(super) fn view(
    client: &Client,
    filter: &Filter,
    name: &str,
    bucket_ns: i64,
) -> Result<MetricView, StoreError> {
    check_bucket(bucket_ns)?;
    let kinds = present_kinds(client)?;
    // The kind it was sent as: the last of those holding it, as locally (`max(kind)`).
    let mut kind = None;
    for k in &kinds {
        let mut p = Params::default();
        let sql = format!(
            "SELECT count() FROM {} WHERE {}",
            table(client, k),
            conditions(filter, false, Some(name), &mut p)
        );
        if client
            .rows(&sql, &p)?
            .first()
            .is_some_and(|r| uint(&r[0]) > 0)
        {
            kind = kind.max(Some(*k));
        }
    }
    let Some(kind) = kind else {
        return Ok(MetricView::default());
    };
    let columns = match kind {
        "gauge" => "Value, NULL, NULL, [], [], NULL",
        "sum" => "Value, NULL, NULL, [], [], AggregationTemporality",
        "histogram" => "NULL, Count, Sum, BucketCounts, ExplicitBounds, AggregationTemporality",
        "exponential_histogram" => "NULL, Count, Sum, [], [], AggregationTemporality",
        _ => "NULL, Count, Sum, [], [], NULL",
    };
    let mut p = Params::default();
    let sql = format!(
        "SELECT toUnixTimestamp64Nano(TimeUnix), toUnixTimestamp64Nano(StartTimeUnix),
                ServiceName, toJSONString(Attributes), MetricUnit, {columns}
         FROM {} WHERE {}
         ORDER BY ServiceName, toJSONString(Attributes), StartTimeUnix, TimeUnix",
        table(client, kind),
        conditions(filter, false, Some(name), &mut p)
    );
    let mut unit = None;
    let mut points = Vec::new();
    for r in client.rows(&sql, &p)? {
        let attributes = text(&r[3]).unwrap_or_default();
        unit = unit.or_else(|| text(&r[4]).filter(|u| !u.is_empty()));
        let counts: Vec<u64> = r[8]
            .as_array()
            .map_or_else(Vec::new, |a| a.iter().map(uint).collect());
        let bounds: Vec<f64> = r[9]
            .as_array()
            .map_or_else(Vec::new, |a| a.iter().map(float).collect());
        points.push(Point {
            time_ns: int(&r[0]).unwrap_or(0),
            series: (
                text(&r[2]).unwrap_or_default(),
                attributes.clone(),
                int(&r[1]).unwrap_or(0),
            ),
            label: group_label(&attributes),
            cumulative: int(&r[10]) != Some(DELTA),
            value: (!r[5].is_null()).then(|| float(&r[5])),
            count: uint(&r[6]),
            sum: float(&r[7]),
            buckets: counts
                .into_iter()
                .enumerate()
                .map(|(i, n)| (bounds.get(i).copied().unwrap_or(f64::INFINITY), n))
                .collect(),
        });
    }
    Ok(assemble(
        kind.to_string(),
        unit,
        points,
        filter.from_ns,
        bucket_ns,
    ))
}
