//! Every query the window runs, one type each. A query's type is its cache slot (so a
//! slot cannot be misspelt, and two queries cannot share one by accident), its input is
//! its key (a different input asks afresh), and its output is what the slot holds (so a
//! result cannot be read as the wrong type). Views ask with
//! `cache.get::<PerModel>(filter)`; adding a query is one `query!` entry here.

use store::{
    AgentRow, AgentRun, AlertEvent, CallRow, CallSort, EvalModelRow, EvalPoint, Evaluation,
    EvaluatorRow, Filter, FirstTokenSummary, Heatmap, JudgedCall, LatencyPoint, MetricInfo,
    MetricView, ModelRow, PatternRow, PatternSort, Queries, SeriesPoint, SessionRow, SessionSort,
    SessionTurn, SortDir, StoreError, Summary, TimeAnnotation, ToolRow, TopError, TraceRow,
    TraceSort, TraceTree, UserRow,
};

/// A query the window caches: what it needs, what it gives, how it runs.
pub trait CachedQuery: 'static {
    /// What the query needs; its `Debug` text is the cache key.
    type Input: std::fmt::Debug + Send + 'static;
    /// What it gives.
    type Output: Send + Sync + 'static;
    /// Menu contents (model and service lists) wait behind what views show, so that
    /// the first figures appear as soon as possible.
    const BACKGROUND: bool = false;
    /// Runs it on a worker's reader.
    fn run(reader: &mut dyn Queries, input: Self::Input) -> Result<Self::Output, StoreError>;
}

/// A page of rows from `offset` (where it starts, the rows, the total).
pub type Page<T> = (u64, Vec<T>, u64);

/// Declares query types: `Name(input) -> output = |reader, input| body`.
macro_rules! query {
    ($(
        $(#[$doc:meta])*
        $name:ident($input:ty) -> $output:ty $([$background:ident])? = |$r:ident, $i:pat_param| $body:expr;
    )*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl CachedQuery for $name {
            type Input = $input;
            type Output = $output;
            $(const BACKGROUND: bool = { let _ = stringify!($background); true };)?
            fn run($r: &mut dyn Queries, $i: $input) -> Result<$output, StoreError> {
                $body
            }
        }
    )*};
}

/// How many of an agent's runs the Agents view lists.
pub const AGENT_RUNS: u64 = 15;

/// How many of an evaluator's worst-judged calls the Evaluations view lists.
pub const WORST_JUDGED: u64 = 20;

/// How many prompt patterns the Prompts view lists.
pub const PROMPT_PATTERNS: usize = 200;

/// How many alert events the history table and the chart markers read.
pub const ALERT_HISTORY: u64 = 500;

query! {
    /// Every stored model, by name (the filter's model list).
    Models(()) -> Vec<String> [background] = |r, ()| r.models();
    /// Every stored model, busiest first (fixes each model's colour).
    ModelsByVolume(()) -> Vec<String> [background] = |r, ()| r.models_by_volume();
    /// Every stored service (the filter's service list).
    Services(()) -> Vec<String> [background] = |r, ()| r.services();
    /// Whether anything at all is stored (else the getting-started panel shows).
    HoldsData(()) -> bool = |r, ()| r.holds_data();
    /// When the stored calls start and end.
    TimeBounds(()) -> Option<(i64, i64)> = |r, ()| r.time_bounds();
    /// The selection's KPIs.
    CallSummary(Filter) -> Summary = |r, f| r.call_summary(&f);
    /// The KPIs of the period before the selection's (for the deltas).
    PreviousSummary(Filter) -> Summary = |r, f| r.call_summary(&f);
    /// The selection by model.
    PerModel(Filter) -> Vec<ModelRow> = |r, f| r.per_model(&f);
    /// Calls, errors, tokens and cost per (bucket in ns, model).
    Series((Filter, i64)) -> Vec<SeriesPoint> = |r, (f, bucket)| r.time_series(&f, bucket);
    /// Latency percentiles per bucket (ns).
    LatencyPercentiles((Filter, i64)) -> Vec<LatencyPoint> =
        |r, (f, bucket)| r.latency_percentiles(&f, bucket);
    /// Time to first token of the selection's calls that report one, and per model.
    FirstToken(Filter) -> FirstTokenSummary = |r, f| r.first_token(&f);
    /// The time to first token of the period before the selection's (for the deltas;
    /// its own slot, since one slot asked for two inputs each frame would compute them
    /// by turns forever).
    PreviousFirstToken(Filter) -> FirstTokenSummary = |r, f| r.first_token(&f);
    /// Time-to-first-token percentiles per bucket (ns).
    FirstTokenPercentiles((Filter, i64)) -> Vec<LatencyPoint> =
        |r, (f, bucket)| r.first_token_percentiles(&f, bucket);
    /// Latency heatmap with buckets of the given ns.
    LatencyHeatmap((Filter, i64)) -> Heatmap = |r, (f, bucket)| r.latency_heatmap(&f, bucket);
    /// The five slowest traces of the selection.
    SlowestTraces(Filter) -> (Vec<TraceRow>, u64) =
        |r, f| r.traces_page(&f, TraceSort::Duration, SortDir::Desc, 0, 5);
    /// The five latest traces of the selection.
    RecentTraces(Filter) -> (Vec<TraceRow>, u64) =
        |r, f| r.traces_page(&f, TraceSort::Start, SortDir::Desc, 0, 5);
    /// The commonest errors.
    TopErrors((Filter, u64)) -> Vec<TopError> = |r, (f, n)| r.top_errors(&f, n);
    /// The latest alert state changes.
    AlertHistory(()) -> Vec<AlertEvent> = |r, ()| r.alert_history(None, ALERT_HISTORY);
    /// Every note on a stretch of time, earliest first (the charts mark those in their
    /// window; the annotation form lists them).
    TimeAnnotations(()) -> Vec<TimeAnnotation> = |r, ()| r.time_annotations(None);
    /// The rows of the Traces view around what is visible: (filter, sort, direction,
    /// offset, limit).
    TracesPage((Filter, TraceSort, SortDir, u64, u64)) -> Page<TraceRow> =
        |r, (f, sort, dir, offset, limit)| {
            r.traces_page(&f, sort, dir, offset, limit)
                .map(|(rows, total)| (offset, rows, total))
        };
    /// The rows of the Inspector around what is visible: (filter, offset, limit).
    CallsPage((Filter, u64, u64)) -> Page<CallRow> = |r, (f, offset, limit)| {
        r.calls_page(&f, CallSort::Start, SortDir::Desc, offset, limit)
            .map(|(rows, total)| (offset, rows, total))
    };
    /// The rows of the Sessions view around what is visible: (filter, search, sort,
    /// direction, offset, limit).
    SessionsPage((Filter, String, SessionSort, SortDir, u64, u64)) -> Page<SessionRow> =
        |r, (f, search, sort, dir, offset, limit)| {
            r.sessions_page(&f, &search, sort, dir, offset, limit)
                .map(|(rows, total)| (offset, rows, total))
        };
    /// The rows of the Sessions view's users table, likewise.
    UsersPage((Filter, String, SessionSort, SortDir, u64, u64)) -> Page<UserRow> =
        |r, (f, search, sort, dir, offset, limit)| {
            r.users_page(&f, &search, sort, dir, offset, limit)
                .map(|(rows, total)| (offset, rows, total))
        };
    /// The open session's turns, earliest first, without their spans.
    SessionTurns(String) -> Vec<SessionTurn> = |r, id| r.session_turns(&id);
    /// The spans of the open session's turns whose steps are unfolded.
    TurnSteps(Vec<u128>) -> Vec<TraceTree> = |r, ids| r.traces(&ids);
    /// The selection's agents, most runs first.
    Agents(Filter) -> Vec<AgentRow> = |r, f| r.agents(&f);
    /// The anomalies of a window (Unix ns) in buckets of the width given, worst first,
    /// and the bands of the figures judged.
    Anomalies((Filter, (i64, i64), i64)) -> store::anomaly::Judgement =
        |r, (f, window, bucket)| r.anomalies(&f, window, bucket);
    /// The selection's prompt patterns, ranked, and how many there are.
    PromptPatterns((Filter, PatternSort)) -> (Vec<PatternRow>, usize) =
        |r, (f, sort)| r.prompt_patterns(&f, sort, PROMPT_PATTERNS);
    /// The selection's tools, most executions first.
    Tools(Filter) -> Vec<ToolRow> = |r, f| r.tools(&f);
    /// An agent's runs with the most steps: (filter, agent).
    AgentRuns((Filter, String)) -> Vec<AgentRun> =
        |r, (f, agent)| r.agent_runs(&f, &agent, AGENT_RUNS);
    /// The selection's evaluators, most results first.
    Evaluators(Filter) -> Vec<EvaluatorRow> = |r, f| r.evaluators(&f);
    /// Each evaluator's mean score per bucket (ns).
    EvaluationTrend((Filter, i64)) -> Vec<EvalPoint> =
        |r, (f, bucket)| r.evaluation_trend(&f, bucket);
    /// Each evaluator's results per model.
    EvaluationsByModel(Filter) -> Vec<EvalModelRow> = |r, f| r.evaluations_by_model(&f);
    /// An evaluator's worst-judged calls: (filter, evaluator).
    WorstJudged((Filter, String)) -> Vec<JudgedCall> =
        |r, (f, name)| r.worst_judged(&f, &name, WORST_JUDGED);
    /// Everything said about the open session's turns and about itself.
    SessionEvaluations(String) -> Vec<Evaluation> = |r, id| {
        let ids = r.session_traces(&id)?;
        r.trace_evaluations(&ids)
    };
    /// Everything said about the open trace (its calls, itself, its session).
    TraceEvaluations(u128) -> Vec<Evaluation> = |r, id| r.trace_evaluations(&[id]);
    /// The OTLP metrics with points in the selection.
    MetricCatalog(Filter) -> Vec<MetricInfo> = |r, f| r.metric_catalog(&f);
    /// One OTLP metric by group and per bucket: (filter, name, bucket in ns).
    MetricChart((Filter, String, i64)) -> MetricView =
        |r, (f, name, bucket)| r.metric_view(&f, &name, bucket);
    /// The open trace's spans.
    OpenTrace(u128) -> TraceTree = |r, id| r.trace(id);
    /// The trace of the call selected in the Inspector.
    SelectedCallTrace(u128) -> TraceTree = |r, id| r.trace(id);
}
