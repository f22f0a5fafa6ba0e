//! The OTLP metrics apps send (GenAI's `gen_ai.client.operation.duration`,
//! `gen_ai.client.token.usage`, the server metrics…), as the Metrics view charts them:
//! each metric's points grouped by the GenAI attributes that tell figures apart
//! (model, operation, token type), running totals turned into what happened in each
//! period, histogram percentiles estimated from the buckets as Prometheus'
//! `histogram_quantile` does. Some SDKs send only metrics; this is how their calls are
//! seen.

use super::Reader;
use crate::error::StoreError;
use crate::filter::Filter;
use std::collections::BTreeMap;

/// The attributes whose values tell a metric's groups apart, each with the keys that
/// spell it (the first present wins).
const GROUP_BY: [&[&str]; 3] = [
    &["gen_ai.request.model", "gen_ai.response.model"],
    &["gen_ai.operation.name"],
    &["gen_ai.token.type"],
];

/// The first schema that tells deltas from running totals (earlier points are read as
/// running totals, the OTLP exporters' default).
const TEMPORALITY_SCHEMA: i64 = 12;

/// A stored metric, as the Metrics view lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricInfo {
    /// Its name (`gen_ai.client.operation.duration`).
    pub name: String,
    /// `histogram`, `sum`, `gauge`, `exponential_histogram` or `summary`.
    pub kind: String,
    /// Its unit (`s`, `{token}`), when sent.
    pub unit: Option<String>,
    /// Points stored in the selection.
    pub points: u64,
    /// The first and last point's time, Unix ns.
    pub first_ns: i64,
    /// See `first_ns`.
    pub last_ns: i64,
}

/// One group of a metric's series over the selection.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricGroup {
    /// The grouping attributes' values joined (`gpt-4o · chat · input`), or every
    /// attribute when the points carry none of them.
    pub label: String,
    /// Observations (histograms and summaries) or points (gauges) in the selection.
    pub count: u64,
    /// The sum of the observations (histograms, summaries), the increase (sums), or
    /// the sum of the values (gauges).
    pub sum: f64,
    /// p50, p95, p99 estimated from the buckets (explicit-bucket histograms only).
    pub quantiles: Option<[f64; 3]>,
    /// The latest value (gauges).
    pub last: Option<f64>,
}

impl MetricGroup {
    /// The mean observation (histograms, summaries) or value (gauges).
    pub fn mean(&self) -> f64 {
        self.sum / self.count.max(1) as f64
    }
}

/// A metric's figures per time bucket and group.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricBucket {
    /// Start of the bucket, Unix ns.
    pub bucket_start_ns: i64,
    /// Index into [`MetricView::groups`].
    pub group: usize,
    /// Histograms: the p95 estimated from the bucket's observations (the mean for
    /// histograms without buckets); sums: the increase; gauges: the mean value.
    pub value: f64,
}

/// One metric over a selection, as the Metrics view shows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricView {
    /// Its kind (see [`MetricInfo::kind`]).
    pub kind: String,
    /// Its unit.
    pub unit: Option<String>,
    /// The groups, most observations (or largest sum) first.
    pub groups: Vec<MetricGroup>,
    /// Per time bucket and group, bucket order.
    pub series: Vec<MetricBucket>,
}

/// One stored point, read back (from either backend), in the order of its series
/// (service, attributes, start) and then of time.
pub(crate) struct Point {
    /// When it was measured, Unix ns.
    pub time_ns: i64,
    /// Its series: service, attributes (JSON), start of the running total.
    pub series: (String, String, i64),
    /// Its group (see [`group_label`]).
    pub label: String,
    /// Whether it is a running total (else a delta).
    pub cumulative: bool,
    /// A sum's or gauge's value.
    pub value: Option<f64>,
    /// A distribution's observations.
    pub count: u64,
    /// A distribution's sum.
    pub sum: f64,
    /// `(upper bound, count)` with `f64::INFINITY` last.
    pub buckets: Vec<(f64, u64)>,
}

impl MetricView {
    /// Whether its points are distributions of observations (histograms, summaries)
    /// rather than values (sums, gauges).
    pub fn is_distribution(&self) -> bool {
        self.kind.ends_with("histogram") || self.kind == "summary"
    }
}

/// What a point added in its period.
struct Increment {
    time_ns: i64,
    label: String,
    value: Option<f64>,
    count: u64,
    sum: f64,
    buckets: Vec<(f64, u64)>,
}

/// A group's observations being summed.
#[derive(Default)]
struct Acc {
    count: u64,
    sum: f64,
    buckets: Vec<(f64, u64)>,
    last: Option<(i64, f64)>,
}

impl Acc {
    fn add(&mut self, i: &Increment) {
        self.count += i.count;
        self.sum += i.sum;
        merge_buckets(&mut self.buckets, &i.buckets);
    }
}

impl Reader {
    /// Every metric with points in the selection's time range and services, by name.
    pub fn metric_catalog(&mut self, filter: &Filter) -> Result<Vec<MetricInfo>, StoreError> {
        let (conditions, params) = point_conditions(filter, None);
        let sql = format!(
            "SELECT name, max(kind) AS kind, max(unit) AS unit, count(*)::UBIGINT AS points,
                    min(time_ns) AS first_ns, max(time_ns) AS last_ns
             FROM metric_points WHERE {conditions} GROUP BY name ORDER BY name"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(duckdb::params_from_iter(params))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(MetricInfo {
                name: r.get("name")?,
                kind: r.get("kind")?,
                unit: r.get("unit")?,
                points: r.get("points")?,
                first_ns: r.get("first_ns")?,
                last_ns: r.get("last_ns")?,
            });
        }
        Ok(out)
    }

    /// Metric `name` over the selection's time range and services, in groups and per
    /// `bucket_ns`. A running total's first point in the range counts from the last
    /// point before it (or whole, when its series starts in the range); a total that
    /// went down restarted and counts whole.
    pub fn metric_view(
        &mut self,
        filter: &Filter,
        name: &str,
        bucket_ns: i64,
    ) -> Result<MetricView, StoreError> {
        check_bucket(bucket_ns)?;
        // Points before the range are read too: a running total's first point in the
        // range is measured from them.
        let before = Filter {
            from_ns: None,
            ..filter.clone()
        };
        let (conditions, params) = point_conditions(&before, Some(name));
        let temporality = if self.schema_version >= TEMPORALITY_SCHEMA {
            "temporality"
        } else {
            "NULL::VARCHAR AS temporality"
        };
        let sql = format!(
            "SELECT time_ns, start_time_ns, service, attributes, kind, unit, {temporality}, value,
                    count, sum, bucket_bounds, bucket_counts
             FROM metric_points WHERE {conditions}
             ORDER BY service, attributes, start_time_ns, time_ns"
        );
        let (mut kind, mut unit) = (String::new(), None);
        let mut points = Vec::new();
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(duckdb::params_from_iter(params))?;
        while let Some(r) = rows.next()? {
            kind = r.get("kind")?;
            unit = unit.take().or(r.get("unit")?);
            let attributes: Option<String> = r.get("attributes")?;
            let attributes = attributes.unwrap_or_default();
            let temporality: Option<String> = r.get("temporality")?;
            let bounds: Option<String> = r.get("bucket_bounds")?;
            let counts: Option<String> = r.get("bucket_counts")?;
            points.push(Point {
                time_ns: r.get("time_ns")?,
                series: (
                    r.get::<_, Option<String>>("service")?.unwrap_or_default(),
                    attributes.clone(),
                    r.get::<_, Option<i64>>("start_time_ns")?.unwrap_or(0),
                ),
                label: group_label(&attributes),
                cumulative: temporality.as_deref() != Some("delta"),
                value: r.get("value")?,
                count: r.get::<_, Option<u64>>("count")?.unwrap_or(0),
                sum: r.get::<_, Option<f64>>("sum")?.unwrap_or(0.0),
                buckets: buckets(bounds.as_deref(), counts.as_deref()),
            });
        }
        Ok(assemble(kind, unit, points, filter.from_ns, bucket_ns))
    }
}

/// Refuses a bucket width that is not positive (both backends' views).
pub(crate) fn check_bucket(bucket_ns: i64) -> Result<(), StoreError> {
    if bucket_ns <= 0 {
        return Err(StoreError::BadFilter(format!(
            "a time bucket must be positive, not {bucket_ns} ns"
        )));
    }
    Ok(())
}

/// A metric's view from its points (those before `from_ns` too, for the running
/// totals): what each point added, summed per group and per bucket of `bucket_ns`.
pub(crate) fn assemble(
    kind: String,
    unit: Option<String>,
    points: Vec<Point>,
    from_ns: Option<i64>,
    bucket_ns: i64,
) -> MetricView {
    let mut view = MetricView {
        kind,
        unit,
        ..MetricView::default()
    };
    let gauge = view.kind == "gauge";
    let increments = increments(points, gauge);
    let from = from_ns.unwrap_or(i64::MIN);
    let mut groups: BTreeMap<String, Acc> = BTreeMap::new();
    let mut per_bucket: BTreeMap<(i64, String), Acc> = BTreeMap::new();
    for i in increments.iter().filter(|i| i.time_ns >= from) {
        let group = groups.entry(i.label.clone()).or_default();
        group.add(i);
        let bucket = i.time_ns.div_euclid(bucket_ns) * bucket_ns;
        let cell = per_bucket.entry((bucket, i.label.clone())).or_default();
        cell.add(i);
        if let Some(v) = i.value
            && gauge
        {
            if group.last.is_none_or(|(t, _)| t <= i.time_ns) {
                group.last = Some((i.time_ns, v));
            }
            cell.count += 1;
            cell.sum += v;
            group.count += 1;
            group.sum += v;
        }
    }
    let mut ordered: Vec<(String, Acc)> = groups.into_iter().collect();
    ordered.sort_by(|a, b| {
        b.1.count
            .cmp(&a.1.count)
            .then(b.1.sum.total_cmp(&a.1.sum))
            .then_with(|| a.0.cmp(&b.0))
    });
    let index: BTreeMap<String, usize> = ordered
        .iter()
        .enumerate()
        .map(|(i, (label, _))| (label.clone(), i))
        .collect();
    let histogram = view.is_distribution();
    view.groups = ordered
        .into_iter()
        .map(|(label, acc)| MetricGroup {
            label,
            count: acc.count,
            sum: acc.sum,
            quantiles: (!acc.buckets.is_empty())
                .then(|| [0.5, 0.95, 0.99].map(|q| quantile(&acc.buckets, q))),
            last: acc.last.map(|(_, v)| v),
        })
        .collect();
    view.series = per_bucket
        .into_iter()
        .map(|((bucket_start_ns, label), acc)| MetricBucket {
            bucket_start_ns,
            group: index[&label],
            value: if histogram {
                if acc.buckets.is_empty() {
                    acc.sum / acc.count.max(1) as f64
                } else {
                    quantile(&acc.buckets, 0.95)
                }
            } else if gauge {
                acc.sum / acc.count.max(1) as f64
            } else {
                acc.sum
            },
        })
        .collect();
    view
}

/// The conditions on `metric_points` of a selection (time range and services; the
/// other conditions are about calls), and of one metric.
fn point_conditions(filter: &Filter, name: Option<&str>) -> (String, Vec<duckdb::types::Value>) {
    use duckdb::types::Value;
    let mut conditions = vec!["TRUE".to_string()];
    let mut params = Vec::new();
    if let Some(from) = filter.from_ns {
        conditions.push("time_ns >= ?".into());
        params.push(Value::BigInt(from));
    }
    if let Some(to) = filter.to_ns {
        conditions.push("time_ns < ?".into());
        params.push(Value::BigInt(to));
    }
    if !filter.services.is_empty() {
        let marks = vec!["?"; filter.services.len()].join(", ");
        conditions.push(format!("service IN ({marks})"));
        params.extend(filter.services.iter().map(|s| Value::Text(s.clone())));
    }
    if let Some(name) = name {
        conditions.push("name = ?".into());
        params.push(Value::Text(name.to_string()));
    }
    (conditions.join(" AND "), params)
}

/// The group a point's attributes (a JSON object) belong to: the GenAI attributes'
/// values, else every attribute as `key=value`.
pub(crate) fn group_label(attributes: &str) -> String {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(attributes).unwrap_or_default();
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let parts: Vec<String> = GROUP_BY
        .iter()
        .filter_map(|keys| keys.iter().find_map(|k| map.get(*k)).map(text))
        .collect();
    if !parts.is_empty() {
        return parts.join(" · ");
    }
    if map.is_empty() {
        return "(no attributes)".into();
    }
    map.iter()
        .map(|(k, v)| format!("{k}={}", text(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A histogram point's buckets from its stored bounds and counts (JSON arrays): each
/// count with its upper bound, the last one unbounded.
fn buckets(bounds: Option<&str>, counts: Option<&str>) -> Vec<(f64, u64)> {
    let bounds: Vec<f64> = bounds
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or_default();
    let counts: Vec<u64> = counts
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    counts
        .into_iter()
        .enumerate()
        .map(|(i, n)| (bounds.get(i).copied().unwrap_or(f64::INFINITY), n))
        .collect()
}

/// What each point added: deltas as sent; a running total less the series' previous
/// point (whole when it is the first, or when the total went down: a restart). Gauge
/// points are values, not increments.
fn increments(points: Vec<Point>, gauge: bool) -> Vec<Increment> {
    let mut out: Vec<Increment> = Vec::with_capacity(points.len());
    let mut previous: Option<Point> = None;
    for p in points {
        let prior = previous
            .as_ref()
            .filter(|q| !gauge && p.cumulative && q.series == p.series);
        let restarted = prior
            .is_some_and(|q| p.count < q.count || p.value.unwrap_or(0.0) < q.value.unwrap_or(0.0));
        let inc = match prior.filter(|_| !restarted) {
            Some(q) => Increment {
                time_ns: p.time_ns,
                label: p.label.clone(),
                value: p.value.map(|v| v - q.value.unwrap_or(0.0)),
                count: p.count - q.count,
                sum: p.sum - q.sum,
                buckets: minus(&p.buckets, &q.buckets),
            },
            None => Increment {
                time_ns: p.time_ns,
                label: p.label.clone(),
                value: p.value,
                count: p.count,
                sum: p.sum,
                buckets: p.buckets.clone(),
            },
        };
        out.push(inc);
        previous = Some(p);
    }
    if !gauge {
        // A sum's increase is its value's.
        for i in &mut out {
            if let Some(v) = i.value {
                i.sum = v;
            }
        }
    }
    out
}

/// `a`'s bucket counts less `b`'s, bound by bound (a bound `b` lacks counts whole).
fn minus(a: &[(f64, u64)], b: &[(f64, u64)]) -> Vec<(f64, u64)> {
    a.iter()
        .map(|&(bound, n)| {
            let before = b.iter().find(|(x, _)| *x == bound).map_or(0, |(_, m)| *m);
            (bound, n.saturating_sub(before))
        })
        .collect()
}

/// Adds `more` into `into`: each count into the bucket of `into` with the smallest
/// bound at or above its own (new bounds are added when `into` has none fitting).
fn merge_buckets(into: &mut Vec<(f64, u64)>, more: &[(f64, u64)]) {
    for &(bound, n) in more {
        match into.iter_mut().find(|(b, _)| *b >= bound) {
            Some((b, m)) if *b == bound || n == 0 => *m += n,
            Some(_) | None => {
                let at = into.partition_point(|(b, _)| *b < bound);
                into.insert(at, (bound, n));
            }
        }
    }
}

/// The `q` quantile of histogram buckets, interpolated linearly inside the bucket
/// holding it as Prometheus' `histogram_quantile` does (from 0 for the first bucket;
/// the highest finite bound for the unbounded one).
fn quantile(buckets: &[(f64, u64)], q: f64) -> f64 {
    let total: u64 = buckets.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return 0.0;
    }
    let rank = q * total as f64;
    let mut below = 0u64;
    let mut lower = 0.0;
    for &(upper, n) in buckets {
        if n > 0 && (below + n) as f64 >= rank {
            if upper.is_infinite() {
                return lower;
            }
            let inside = (rank - below as f64) / n as f64;
            return lower + (upper - lower) * inside;
        }
        below += n;
        if upper.is_finite() {
            lower = upper;
        }
    }
    lower
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_inside_the_bucket_like_prometheus() {
        // 10 observations in (0, 1], 10 in (1, 2], 0 above.
        let b = vec![(1.0, 10), (2.0, 10), (f64::INFINITY, 0)];
        assert!((quantile(&b, 0.5) - 1.0).abs() < 1e-9);
        assert!((quantile(&b, 0.75) - 1.5).abs() < 1e-9);
        assert!((quantile(&b, 0.25) - 0.5).abs() < 1e-9);
        // Past the last bound: the last bound.
        assert_eq!(quantile(&[(1.0, 1), (f64::INFINITY, 9)], 0.9), 1.0);
    }

    #[test]
    fn running_totals_become_increments_and_restarts_count_whole() {
        let point = |t, count, start| Point {
            time_ns: t,
            series: ("svc".into(), "{}".into(), start),
            label: "g".into(),
            cumulative: true,
            value: None,
            count,
            sum: count as f64,
            buckets: vec![(1.0, count), (f64::INFINITY, 0)],
        };
        let inc = increments(vec![point(1, 3, 0), point(2, 5, 0), point(3, 1, 0)], false);
        assert_eq!(
            inc.iter().map(|i| i.count).collect::<Vec<_>>(),
            vec![3, 2, 1]
        );
        assert_eq!(inc[1].buckets, vec![(1.0, 2), (f64::INFINITY, 0)]);
        // Another series (another start) is not measured from the first.
        let inc = increments(vec![point(1, 3, 0), point(2, 4, 9)], false);
        assert_eq!(inc[1].count, 4);
    }

    #[test]
    fn groups_are_named_by_the_genai_attributes() {
        assert_eq!(
            group_label(
                r#"{"gen_ai.request.model":"gpt-4o","gen_ai.operation.name":"chat","gen_ai.token.type":"input"}"#
            ),
            "gpt-4o · chat · input"
        );
        assert_eq!(group_label(r#"{"route":"/a"}"#), "route=/a");
        assert_eq!(group_label("{}"), "(no attributes)");
    }
}
