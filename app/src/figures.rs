//! The figures as JSON: what `stats`, `models`, `series`, `traces`, `trace` and `calls`
//! print with `--json`, what the query API (`serve`'s `/api/v1/…`) answers and what a
//! report embeds. One code path, so a script, the API and a report never disagree.
//!
//! Errors made here (a step too fine for the range, a limit too large) are the
//! asker's; a [`store::StoreError`] inside an error is the database's (see
//! [`is_bad_request`]).

use crate::timearg::{now_ns, rfc3339};
use anyhow::bail;
use clap::ValueEnum;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use store::{
    CallSort, Filter, FirstTokenSummary, ModelRow, Queries, SortDir, StoreError, Summary, TraceSort,
};

/// The most rows one page of traces or calls holds.
pub const MAX_PAGE: u64 = 1000;

/// The most points one series answers; a finer step over a longer range is refused.
pub const MAX_POINTS: i64 = 10_000;

/// Whether an error is the asker's (bad words, a step too fine) rather than the
/// database's; the API answers the first with 400, the second with 500.
pub fn is_bad_request(e: &anyhow::Error) -> bool {
    match e.downcast_ref::<StoreError>() {
        Some(StoreError::BadFilter(_)) => true,
        Some(_) => false,
        None => true,
    }
}

/// The totals of a selection and its models: `stats --json`, `/api/v1/summary`.
pub fn summary(r: &mut dyn Queries, filter: &Filter) -> Result<Value, StoreError> {
    let summary = r.summary(filter)?;
    let models = r.per_model(filter)?;
    let first_token = r.first_token(filter)?;
    Ok(figures_json(&summary, &models, &first_token))
}

/// The models of a selection, busiest first: `models --json`, `/api/v1/models`; each
/// entry as in [`summary`]'s `models`.
pub fn models(r: &mut dyn Queries, filter: &Filter) -> Result<Value, StoreError> {
    let models = r.per_model(filter)?;
    Ok(json!({ "models": models.iter().map(model_json).collect::<Vec<_>>() }))
}

/// The figures of a selection as one JSON object (see [`summary`]).
pub fn figures_json(s: &Summary, models: &[ModelRow], first: &FirstTokenSummary) -> Value {
    json!({
        "spans": s.spans,
        "traces": s.traces,
        "llm_calls": s.llm_calls,
        "errors": s.errors,
        "input_tokens": s.input_tokens,
        "output_tokens": s.output_tokens,
        "cache_read_tokens": s.cache_read_tokens,
        "cache_write_tokens": s.cache_write_tokens,
        "cost_usd": s.cost_usd,
        "unpriced_calls": s.unpriced_calls,
        "unpriced_models": s.unpriced_models,
        "latency_ms": { "p50": s.latency_ms[0], "p95": s.latency_ms[1], "p99": s.latency_ms[2] },
        "latency_approximate": s.latency_approximate,
        "first_start": s.first_start_ns.map(rfc3339),
        "last_end": s.last_end_ns.map(rfc3339),
        "models": models.iter().map(model_json).collect::<Vec<_>>(),
        "time_to_first_token": {
            "calls": first.calls,
            "ms": { "p50": first.ttft_ms[0], "p95": first.ttft_ms[1], "p99": first.ttft_ms[2] },
            "approximate": first.approximate,
            "models": first.by_model.iter().map(|m| json!({
                "model": m.model,
                "calls": m.calls,
                "p50_ms": m.ttft_ms[0],
                "p95_ms": m.ttft_ms[1],
                "p99_ms": m.ttft_ms[2],
                "output_tokens_per_s_p50": m.output_tps_p50,
            })).collect::<Vec<_>>(),
        },
    })
}

fn model_json(m: &ModelRow) -> Value {
    json!({
        "model": m.model,
        "served": m.served,
        "provider": m.provider,
        "calls": m.calls,
        "errors": m.errors,
        "input_tokens": m.input_tokens,
        "output_tokens": m.output_tokens,
        "cache_read_tokens": m.cache_read_tokens,
        "cost_usd": m.cost_usd,
        "p50_ms": m.p50_ms,
        "p95_ms": m.p95_ms,
    })
}

/// What a series measures per step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Metric {
    /// LLM calls.
    #[default]
    Requests,
    /// Failed LLM calls.
    Errors,
    /// Input tokens.
    InputTokens,
    /// Output tokens.
    OutputTokens,
    /// Input and output tokens.
    Tokens,
    /// Cost in USD.
    Cost,
    /// Median latency, ms.
    LatencyP50,
    /// 95th percentile latency, ms.
    LatencyP95,
    /// 99th percentile latency, ms.
    LatencyP99,
}

impl Metric {
    fn is_latency(self) -> bool {
        matches!(
            self,
            Metric::LatencyP50 | Metric::LatencyP95 | Metric::LatencyP99
        )
    }

    fn unit(self) -> &'static str {
        match self {
            Metric::Requests | Metric::Errors => "calls",
            Metric::InputTokens | Metric::OutputTokens | Metric::Tokens => "tokens",
            Metric::Cost => "usd",
            _ => "ms",
        }
    }

    fn of(self, p: &store::SeriesPoint) -> Value {
        match self {
            Metric::Requests => p.requests.into(),
            Metric::Errors => p.errors.into(),
            Metric::InputTokens => p.input_tokens.into(),
            Metric::OutputTokens => p.output_tokens.into(),
            Metric::Tokens => (p.input_tokens + p.output_tokens).into(),
            _ => p.cost_usd.into(),
        }
    }
}

/// The name a choice is spelt with (`latency_p95`, `llm_calls`).
pub fn choice_name<T: ValueEnum>(v: &T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// One metric per step over a selection: `series --json`, `/api/v1/series`. Counting
/// metrics answer every step of the range (zero where nothing happened); latency only
/// the steps that had calls. With `by_model`, counting metrics also answer per model.
pub fn series(
    r: &mut dyn Queries,
    filter: &Filter,
    metric: Metric,
    step_ns: i64,
    by_model: bool,
) -> anyhow::Result<Value> {
    if step_ns <= 0 {
        bail!("step must be longer than zero (try 1m)");
    }
    if by_model && metric.is_latency() {
        bail!(
            "by model works with counting metrics (requests, errors, tokens, cost); {} is a percentile over all calls",
            choice_name(&metric)
        );
    }
    let bounds = r.time_bounds()?;
    let from = filter.from_ns.or(bounds.map(|b| b.0));
    let to = filter
        .to_ns
        .or(filter.from_ns.map(|_| now_ns()))
        .or(bounds.map(|b| b.1 + 1));
    let (Some(from), Some(to)) = (from, to) else {
        return Ok(series_json(metric, step_ns, None, json!([]), None));
    };
    let first = from.div_euclid(step_ns) * step_ns;
    let steps = (to - first + step_ns - 1) / step_ns;
    if steps > MAX_POINTS {
        bail!(
            "a step of {} over this range makes {steps} points; at most {MAX_POINTS}: give a longer step or a shorter range",
            humantime::format_duration(std::time::Duration::from_nanos(step_ns as u64))
        );
    }
    let point = |t: i64, v: Value| json!({ "start": rfc3339(t), "value": v });
    if metric.is_latency() {
        let points = r
            .latency_percentiles(filter, step_ns)?
            .into_iter()
            .map(|p| {
                let v = match metric {
                    Metric::LatencyP50 => p.p50_ms,
                    Metric::LatencyP95 => p.p95_ms,
                    _ => p.p99_ms,
                };
                point(p.bucket_start_ns, v.into())
            })
            .collect::<Vec<_>>();
        return Ok(series_json(
            metric,
            step_ns,
            Some((first, to)),
            points.into(),
            None,
        ));
    }
    let rows = r.time_series(filter, step_ns)?;
    let filled = |pick: &dyn Fn(&store::SeriesPoint) -> bool| -> Value {
        let mut at: BTreeMap<i64, store::SeriesPoint> = BTreeMap::new();
        for p in rows.iter().filter(|p| pick(p)) {
            let e = at.entry(p.bucket_start_ns).or_default();
            e.requests += p.requests;
            e.errors += p.errors;
            e.input_tokens += p.input_tokens;
            e.output_tokens += p.output_tokens;
            e.cost_usd += p.cost_usd;
        }
        (0..steps)
            .map(|i| {
                let t = first + i * step_ns;
                point(t, metric.of(at.get(&t).unwrap_or(&Default::default())))
            })
            .collect::<Vec<_>>()
            .into()
    };
    let models = by_model.then(|| {
        let mut names: Vec<&str> = rows.iter().map(|p| p.model.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names
            .iter()
            .map(|m| json!({ "model": m, "points": filled(&|p| p.model == *m) }))
            .collect::<Vec<_>>()
            .into()
    });
    Ok(series_json(
        metric,
        step_ns,
        Some((first, to)),
        filled(&|_| true),
        models,
    ))
}

fn series_json(
    metric: Metric,
    step_ns: i64,
    range: Option<(i64, i64)>,
    points: Value,
    models: Option<Value>,
) -> Value {
    let mut v = json!({
        "metric": choice_name(&metric),
        "unit": metric.unit(),
        "step_s": step_ns as f64 / 1e9,
        "from": range.map(|r| rfc3339(r.0)),
        "to": range.map(|r| rfc3339(r.1)),
        "points": points,
    });
    if let Some(models) = models {
        v["models"] = models;
    }
    v
}

/// Which way a page is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Direction {
    /// Smallest (or oldest) first.
    Asc,
    /// Largest (or newest) first.
    #[default]
    Desc,
}

impl From<Direction> for SortDir {
    fn from(d: Direction) -> SortDir {
        match d {
            Direction::Asc => SortDir::Asc,
            Direction::Desc => SortDir::Desc,
        }
    }
}

/// What a page of traces is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum TraceOrder {
    /// Start time.
    #[default]
    Start,
    /// Duration, first span's start to last span's end.
    Duration,
    /// Cost.
    Cost,
    /// Input and output tokens.
    Tokens,
    /// LLM calls.
    LlmCalls,
    /// Failed traces first (with `desc`).
    Errors,
}

impl From<TraceOrder> for TraceSort {
    fn from(o: TraceOrder) -> TraceSort {
        match o {
            TraceOrder::Start => TraceSort::Start,
            TraceOrder::Duration => TraceSort::Duration,
            TraceOrder::Cost => TraceSort::Cost,
            TraceOrder::Tokens => TraceSort::Tokens,
            TraceOrder::LlmCalls => TraceSort::LlmCalls,
            TraceOrder::Errors => TraceSort::Status,
        }
    }
}

/// What a page of calls is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum CallOrder {
    /// Start time.
    #[default]
    Start,
    /// Latency.
    Latency,
    /// Input and output tokens.
    Tokens,
    /// Cost.
    Cost,
}

impl From<CallOrder> for CallSort {
    fn from(o: CallOrder) -> CallSort {
        match o {
            CallOrder::Start => CallSort::Start,
            CallOrder::Latency => CallSort::Latency,
            CallOrder::Tokens => CallSort::Tokens,
            CallOrder::Cost => CallSort::Cost,
        }
    }
}

/// One page of rows: where it starts and how many it holds at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows skipped before the page.
    pub offset: u64,
    /// Rows in the page at most (1 to [`MAX_PAGE`]).
    pub limit: u64,
}

impl Page {
    /// A page, or why it cannot be one.
    pub fn new(offset: u64, limit: u64) -> anyhow::Result<Page> {
        if !(1..=MAX_PAGE).contains(&limit) {
            bail!("limit {limit}: give 1 to {MAX_PAGE} rows a page (and offset for the next)");
        }
        Ok(Page { offset, limit })
    }

    fn wrap(self, key: &str, rows: Value, shown: usize, total: u64) -> Value {
        let next = self.offset + shown as u64;
        json!({
            "total": total,
            "offset": self.offset,
            "limit": self.limit,
            "next_offset": (next < total).then_some(next),
            key: rows,
        })
    }
}

/// One page of the traces of a selection: `traces --json`, `/api/v1/traces`.
pub fn traces(
    r: &mut dyn Queries,
    filter: &Filter,
    order: TraceOrder,
    dir: Direction,
    page: Page,
) -> anyhow::Result<Value> {
    let (rows, total) = r.traces_page(filter, order.into(), dir.into(), page.offset, page.limit)?;
    Ok(page.wrap("traces", serde_json::to_value(&rows)?, rows.len(), total))
}

/// One page of the LLM calls of a selection: `calls --json` (one call a line),
/// `/api/v1/calls`.
pub fn calls(
    r: &mut dyn Queries,
    filter: &Filter,
    order: CallOrder,
    dir: Direction,
    page: Page,
) -> anyhow::Result<Value> {
    let (rows, total) = r.calls_page(filter, order.into(), dir.into(), page.offset, page.limit)?;
    Ok(page.wrap("calls", serde_json::to_value(&rows)?, rows.len(), total))
}

/// One trace's span tree: `trace ID --json`, `/api/v1/traces/{id}`; `None` when the
/// database holds no such trace.
pub fn trace(r: &mut dyn Queries, trace_id: u128) -> anyhow::Result<Option<Value>> {
    let tree = r.trace(trace_id)?;
    if tree.spans.is_empty() {
        return Ok(None);
    }
    Ok(Some(serde_json::to_value(&tree)?))
}
