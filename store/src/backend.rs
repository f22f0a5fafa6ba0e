//! The backend-neutral query interface: what the panels, the CLI and the alert
//! evaluator ask of a database, whichever engine holds it — the embedded DuckDB file
//! ([`crate::Store`]) or a team's ClickHouse ([`crate::ClickHouse`]). Results are the
//! same Rust values from both; no engine type appears here or in the errors.

use crate::error::StoreError;
use crate::filter::Filter;
use crate::output::{OutputFile, Replace};
use crate::query::{
    AgentRow, AgentRun, CallRow, CallSort, EvalModelRow, EvalPoint, Evaluation, EvaluatorRow,
    ExportFormat, ExportTable, FirstTokenSummary, Heatmap, JudgedCall, LatencyPoint, ModelRow,
    SeriesPoint, SessionRow, SessionSort, SessionTurn, SortDir, Summary, ToolRow, TopError,
    TraceRow, TraceSort, TraceTree, UserRow,
};
use crate::row::AlertEvent;
use std::path::Path;

/// A database the app reads: hands out one [`Queries`] per thread and says when its
/// data changed.
pub trait Database: Send + Sync {
    /// A new reader for one thread.
    fn reader(&self) -> Result<Box<dyn Queries>, StoreError>;

    /// A number that moves whenever the data may have changed, so that caches know
    /// when to ask again.
    fn data_version(&self) -> u64;

    /// What the top bar shows: the engine and where the data is (`DuckDB
    /// observatory.duckdb`, `ClickHouse 26.9 at host:8123/otel`).
    fn describe(&self) -> String;

    /// Starts writing a file for the user at `target`, refused when it is one of the
    /// database's own files.
    fn output(&self, target: &Path, replace: Replace) -> Result<OutputFile, StoreError>;

    /// Replaces the price table; costs of all history follow at the next query.
    fn set_prices(&self, prices: crate::prices::PriceTable);

    /// The price table in force (a snapshot carries it, so its costs stay as saved).
    fn prices(&self) -> crate::prices::PriceTable;
}

/// Where an alert evaluator keeps the history of its rules' state changes: the local
/// database's writer, or a team's ClickHouse (a table beside the Collector's).
pub trait AlertLog: Send + Sync {
    /// Keeps `events`; returns once they are stored.
    fn record(&self, events: &[AlertEvent]) -> Result<(), StoreError>;
}

/// Stops the query a reader is running now (called from another thread, returning at
/// once); a no-op when it runs none. The query fails with an error its caller
/// discards.
pub type Canceller = std::sync::Arc<dyn Fn() + Send + Sync>;

/// Every typed question of the app, answered by one backend on one connection.
pub trait Queries: Send {
    /// A handle that cancels whatever this reader runs at the moment it is called: a
    /// cache whose input changed stops the query nobody wants any more, so clicking
    /// around never piles up work (DuckDB interrupts it; ClickHouse kills it by id).
    fn canceller(&self) -> Canceller;

    /// The data version the reader's results reflect at least.
    fn data_version(&self) -> u64;

    /// Every model asked for in a stored call, sorted.
    fn models(&mut self) -> Result<Vec<String>, StoreError>;

    /// Every model with stored calls, busiest first (the order colours are handed out).
    fn models_by_volume(&mut self) -> Result<Vec<String>, StoreError>;

    /// Whether anything at all is stored (a span, a log record or a metric point): an
    /// empty database shows how to send data instead of empty charts.
    fn holds_data(&mut self) -> Result<bool, StoreError>;

    /// The first and last start of any stored LLM call, Unix ns.
    fn time_bounds(&mut self) -> Result<Option<(i64, i64)>, StoreError>;

    /// Every service that sent spans, sorted.
    fn services(&mut self) -> Result<Vec<String>, StoreError>;

    /// The headline figures of a selection, spans and traces counted.
    fn summary(&mut self, filter: &Filter) -> Result<Summary, StoreError>;

    /// The LLM-call figures of a selection only (`spans` and `traces` are `None`).
    fn call_summary(&mut self, filter: &Filter) -> Result<Summary, StoreError>;

    /// The selection broken down by the model asked for, most calls first.
    fn per_model(&mut self, filter: &Filter) -> Result<Vec<ModelRow>, StoreError>;

    /// Requests, errors, tokens and cost per time bucket and model.
    fn time_series(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<SeriesPoint>, StoreError>;

    /// Latency percentiles per time bucket.
    fn latency_percentiles(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<LatencyPoint>, StoreError>;

    /// Judges the buckets of `bucket_ns` in `window` (Unix ns): those whose calls, errors,
    /// cost (overall and per model) or p95 latency fall outside their expected band,
    /// worst first, and each figure's bands for the charts. The bands are learned from
    /// the week before the window too (see [`crate::anomaly`]), which is read whatever
    /// the filter's range.
    fn anomalies(
        &mut self,
        filter: &Filter,
        window: (i64, i64),
        bucket_ns: i64,
    ) -> Result<crate::anomaly::Judgement, StoreError> {
        let read = (
            window.0.saturating_sub(crate::anomaly::HISTORY_NS),
            window.1,
        );
        let wider = Filter {
            from_ns: Some(read.0),
            to_ns: Some(read.1),
            ..filter.clone()
        };
        let series = self.time_series(&wider, bucket_ns)?;
        let latency = self.latency_percentiles(&wider, bucket_ns)?;
        Ok(crate::query::anomalies::find(
            &series, &latency, read, window.0, bucket_ns,
        ))
    }

    /// Time to first token of the calls that report one: percentiles overall and per
    /// model, with each model's output speed.
    fn first_token(&mut self, filter: &Filter) -> Result<FirstTokenSummary, StoreError>;

    /// Totals per service, model asked for, provider and outcome, with their latency
    /// and time-to-first-token distributions (what `GET /metrics` exposes).
    fn usage(&mut self, filter: &Filter) -> Result<Vec<crate::UsageRow>, StoreError>;

    /// Every OTLP metric with points in the selection's time range and services.
    fn metric_catalog(&mut self, filter: &Filter) -> Result<Vec<crate::MetricInfo>, StoreError>;

    /// One OTLP metric over the selection, grouped by its GenAI attributes and per
    /// time bucket (`bucket_ns`).
    fn metric_view(
        &mut self,
        filter: &Filter,
        name: &str,
        bucket_ns: i64,
    ) -> Result<crate::MetricView, StoreError>;

    /// The selection's prompt patterns ranked by `sort`, the first `limit`, and how
    /// many there are (local databases only: patterns are learned at ingest).
    fn prompt_patterns(
        &mut self,
        filter: &Filter,
        sort: crate::PatternSort,
        limit: usize,
    ) -> Result<(Vec<crate::PatternRow>, usize), StoreError>;

    /// Time-to-first-token percentiles per time bucket.
    fn first_token_percentiles(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<LatencyPoint>, StoreError>;

    /// Calls per time bucket and latency band.
    fn latency_heatmap(&mut self, filter: &Filter, bucket_ns: i64) -> Result<Heatmap, StoreError>;

    /// One page of the traces in a selection and how many there are in all.
    fn traces_page(
        &mut self,
        filter: &Filter,
        sort: TraceSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<TraceRow>, u64), StoreError>;

    /// Every span of one trace, as a tree (empty when there is no such trace).
    fn trace(&mut self, trace_id: u128) -> Result<TraceTree, StoreError> {
        Ok(self
            .traces(&[trace_id])?
            .pop()
            .unwrap_or_else(|| TraceTree {
                trace_id: crate::ids::trace_id_hex(trace_id),
                spans: Vec::new(),
            }))
    }

    /// Several traces, in the order asked (an export reads them in chunks; a trace
    /// not found comes back with no spans).
    fn traces(&mut self, ids: &[u128]) -> Result<Vec<TraceTree>, StoreError>;

    /// One page of the LLM calls in a selection and how many there are in all.
    fn calls_page(
        &mut self,
        filter: &Filter,
        sort: CallSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<CallRow>, u64), StoreError>;

    /// The most frequent errors of a selection.
    fn top_errors(&mut self, filter: &Filter, limit: u64) -> Result<Vec<TopError>, StoreError>;

    /// Writes the rows of `table` in the selection into `out`; returns how many.
    fn export(
        &mut self,
        table: ExportTable,
        filter: &Filter,
        format: ExportFormat,
        out: &mut OutputFile,
    ) -> Result<u64, StoreError>;

    /// The rows a snapshot of the traces `trace_ids` holds beside their spans (log
    /// records, evaluations, metric points in `window`), as stored; `None` where the
    /// backend keeps none to give (a team's ClickHouse).
    fn side_rows(
        &mut self,
        _trace_ids: &[u128],
        _window: Option<(i64, i64)>,
    ) -> Result<Option<crate::SideRows>, StoreError> {
        Ok(None)
    }

    /// The ids of the traces in a selection (for opening them one by one).
    fn trace_ids(&mut self, filter: &Filter) -> Result<Vec<u128>, StoreError>;

    /// One page of the sessions (conversations) of a selection's traces, those whose
    /// id or user contains `search` (case-insensitive; empty: all), and how many there
    /// are in all.
    fn sessions_page(
        &mut self,
        filter: &Filter,
        search: &str,
        sort: SessionSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<SessionRow>, u64), StoreError>;

    /// One page of the end users of a selection's traces, those whose id contains
    /// `search`, and how many there are in all.
    fn users_page(
        &mut self,
        filter: &Filter,
        search: &str,
        sort: SessionSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<UserRow>, u64), StoreError>;

    /// A session's traces (its turns), earliest first.
    fn session_traces(&mut self, session_id: &str) -> Result<Vec<u128>, StoreError>;

    /// A session's turns (its traces with what was said in them), earliest first,
    /// without their spans: the session page, which asks for a turn's spans when
    /// they are opened.
    fn session_turns(&mut self, session_id: &str) -> Result<Vec<SessionTurn>, StoreError>;

    /// Every agent of a selection (its agent spans' names), most runs first, with
    /// what happened inside the runs.
    fn agents(&mut self, filter: &Filter) -> Result<Vec<AgentRow>, StoreError>;

    /// An agent's runs in a selection, most steps first.
    fn agent_runs(
        &mut self,
        filter: &Filter,
        agent: &str,
        limit: u64,
    ) -> Result<Vec<AgentRun>, StoreError>;

    /// Every tool of a selection, most executions first.
    fn tools(&mut self, filter: &Filter) -> Result<Vec<ToolRow>, StoreError>;

    /// Every evaluator (or annotation name) of a selection's calls, traces and
    /// sessions, most results first.
    fn evaluators(&mut self, filter: &Filter) -> Result<Vec<EvaluatorRow>, StoreError>;

    /// Each evaluator's mean score per time bucket (by the judged call's start).
    fn evaluation_trend(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<EvalPoint>, StoreError>;

    /// Each evaluator's results per model of the judged calls.
    fn evaluations_by_model(&mut self, filter: &Filter) -> Result<Vec<EvalModelRow>, StoreError>;

    /// The calls evaluator `name` judged worst in a selection, lowest score first.
    fn worst_judged(
        &mut self,
        filter: &Filter,
        name: &str,
        limit: u64,
    ) -> Result<Vec<JudgedCall>, StoreError>;

    /// Everything said about the given traces (their spans, themselves, their
    /// sessions): evaluations, annotations and feedback, oldest first.
    fn trace_evaluations(&mut self, ids: &[u128]) -> Result<Vec<Evaluation>, StoreError>;

    /// Alerts that fired or resolved, newest first.
    fn alert_history(
        &mut self,
        since_ns: Option<i64>,
        limit: u64,
    ) -> Result<Vec<AlertEvent>, StoreError>;

    /// The notes on stretches of time that touch `window` (Unix ns; all of them for
    /// `None`), earliest first: what every time chart marks.
    fn time_annotations(
        &mut self,
        window: Option<(i64, i64)>,
    ) -> Result<Vec<crate::TimeAnnotation>, StoreError>;

    /// Starts writing a file for the user at `target` (see [`Database::output`]).
    fn output(&self, target: &Path, replace: Replace) -> Result<OutputFile, StoreError>;
}
