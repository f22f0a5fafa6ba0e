//! The DuckDB file as a [`Database`] and its [`Reader`] as [`Queries`]: each method
//! is the reader's own.

use super::{
    AgentRow, AgentRun, CallRow, CallSort, EvalModelRow, EvalPoint, Evaluation, EvaluatorRow,
    ExportFormat, ExportTable, FirstTokenSummary, Heatmap, JudgedCall, LatencyPoint, ModelRow,
    Reader, SeriesPoint, SessionRow, SessionSort, SessionTurn, SortDir, Summary, ToolRow, TopError,
    TraceRow, TraceSort, TraceTree, UserRow,
};
use crate::backend::{Canceller, Database, Queries};
use crate::error::StoreError;
use crate::filter::Filter;
use crate::open::Store;
use crate::output::{OutputFile, Replace};
use crate::row::AlertEvent;
use std::path::Path;

impl Database for Store {
    fn reader(&self) -> Result<Box<dyn Queries>, StoreError> {
        Ok(Box::new(Store::reader(self)?))
    }

    fn data_version(&self) -> u64 {
        Store::data_version(self)
    }

    fn describe(&self) -> String {
        match self.path() {
            Some(p) => format!("DuckDB {}", p.display()),
            None => "DuckDB (in memory)".into(),
        }
    }

    fn output(&self, target: &Path, replace: Replace) -> Result<OutputFile, StoreError> {
        Store::output(self, target, replace)
    }

    fn set_prices(&self, prices: crate::prices::PriceTable) {
        Store::set_prices(self, prices)
    }

    fn prices(&self) -> crate::prices::PriceTable {
        Store::prices(self)
    }
}

impl Queries for Reader {
    fn side_rows(
        &mut self,
        trace_ids: &[u128],
        window: Option<(i64, i64)>,
    ) -> Result<Option<crate::SideRows>, StoreError> {
        Reader::side_rows(self, trace_ids, window).map(Some)
    }

    fn canceller(&self) -> Canceller {
        let handle = self.conn.interrupt_handle();
        std::sync::Arc::new(move || handle.interrupt())
    }
    fn data_version(&self) -> u64 {
        Reader::data_version(self)
    }
    fn models(&mut self) -> Result<Vec<String>, StoreError> {
        Reader::models(self)
    }
    fn models_by_volume(&mut self) -> Result<Vec<String>, StoreError> {
        Reader::models_by_volume(self)
    }
    fn holds_data(&mut self) -> Result<bool, StoreError> {
        Reader::holds_data(self)
    }
    fn time_bounds(&mut self) -> Result<Option<(i64, i64)>, StoreError> {
        Reader::time_bounds(self)
    }
    fn services(&mut self) -> Result<Vec<String>, StoreError> {
        Reader::services(self)
    }
    fn summary(&mut self, filter: &Filter) -> Result<Summary, StoreError> {
        Reader::summary(self, filter)
    }
    fn call_summary(&mut self, filter: &Filter) -> Result<Summary, StoreError> {
        Reader::call_summary(self, filter)
    }
    fn per_model(&mut self, filter: &Filter) -> Result<Vec<ModelRow>, StoreError> {
        Reader::per_model(self, filter)
    }
    fn time_series(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<SeriesPoint>, StoreError> {
        Reader::time_series(self, filter, bucket_ns)
    }
    fn latency_percentiles(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<LatencyPoint>, StoreError> {
        Reader::latency_percentiles(self, filter, bucket_ns)
    }
    fn first_token(&mut self, filter: &Filter) -> Result<FirstTokenSummary, StoreError> {
        Reader::first_token(self, filter)
    }
    fn metric_catalog(&mut self, filter: &Filter) -> Result<Vec<crate::MetricInfo>, StoreError> {
        Reader::metric_catalog(self, filter)
    }
    fn metric_view(
        &mut self,
        filter: &Filter,
        name: &str,
        bucket_ns: i64,
    ) -> Result<crate::MetricView, StoreError> {
        Reader::metric_view(self, filter, name, bucket_ns)
    }
    fn usage(&mut self, filter: &Filter) -> Result<Vec<crate::UsageRow>, StoreError> {
        Reader::usage(self, filter)
    }
    fn prompt_patterns(
        &mut self,
        filter: &Filter,
        sort: crate::PatternSort,
        limit: usize,
    ) -> Result<(Vec<crate::PatternRow>, usize), StoreError> {
        Reader::prompt_patterns(self, filter, sort, limit)
    }
    fn first_token_percentiles(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<LatencyPoint>, StoreError> {
        Reader::first_token_percentiles(self, filter, bucket_ns)
    }
    fn latency_heatmap(&mut self, filter: &Filter, bucket_ns: i64) -> Result<Heatmap, StoreError> {
        Reader::latency_heatmap(self, filter, bucket_ns)
    }
    fn traces_page(
        &mut self,
        filter: &Filter,
        sort: TraceSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<TraceRow>, u64), StoreError> {
        Reader::traces_page(self, filter, sort, dir, offset, limit)
    }
    fn traces(&mut self, ids: &[u128]) -> Result<Vec<TraceTree>, StoreError> {
        Reader::traces(self, ids)
    }
    fn calls_page(
        &mut self,
        filter: &Filter,
        sort: CallSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<CallRow>, u64), StoreError> {
        Reader::calls_page(self, filter, sort, dir, offset, limit)
    }
    fn top_errors(&mut self, filter: &Filter, limit: u64) -> Result<Vec<TopError>, StoreError> {
        Reader::top_errors(self, filter, limit)
    }
    fn export(
        &mut self,
        table: ExportTable,
        filter: &Filter,
        format: ExportFormat,
        out: &mut OutputFile,
    ) -> Result<u64, StoreError> {
        Reader::export(self, table, filter, format, out)
    }
    fn trace_ids(&mut self, filter: &Filter) -> Result<Vec<u128>, StoreError> {
        Reader::trace_ids(self, filter)
    }
    fn sessions_page(
        &mut self,
        filter: &Filter,
        search: &str,
        sort: SessionSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<SessionRow>, u64), StoreError> {
        Reader::sessions_page(self, filter, search, sort, dir, offset, limit)
    }
    fn users_page(
        &mut self,
        filter: &Filter,
        search: &str,
        sort: SessionSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<UserRow>, u64), StoreError> {
        Reader::users_page(self, filter, search, sort, dir, offset, limit)
    }
    fn session_traces(&mut self, session_id: &str) -> Result<Vec<u128>, StoreError> {
        Reader::session_traces(self, session_id)
    }
    fn session_turns(&mut self, session_id: &str) -> Result<Vec<SessionTurn>, StoreError> {
        Reader::session_turns(self, session_id)
    }
    fn agents(&mut self, filter: &Filter) -> Result<Vec<AgentRow>, StoreError> {
        Reader::agents(self, filter)
    }
    fn agent_runs(
        &mut self,
        filter: &Filter,
        agent: &str,
        limit: u64,
    ) -> Result<Vec<AgentRun>, StoreError> {
        Reader::agent_runs(self, filter, agent, limit)
    }
    fn tools(&mut self, filter: &Filter) -> Result<Vec<ToolRow>, StoreError> {
        Reader::tools(self, filter)
    }
    fn evaluators(&mut self, filter: &Filter) -> Result<Vec<EvaluatorRow>, StoreError> {
        Reader::evaluators(self, filter)
    }
    fn evaluation_trend(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<EvalPoint>, StoreError> {
        Reader::evaluation_trend(self, filter, bucket_ns)
    }
    fn evaluations_by_model(&mut self, filter: &Filter) -> Result<Vec<EvalModelRow>, StoreError> {
        Reader::evaluations_by_model(self, filter)
    }
    fn worst_judged(
        &mut self,
        filter: &Filter,
        name: &str,
        limit: u64,
    ) -> Result<Vec<JudgedCall>, StoreError> {
        Reader::worst_judged(self, filter, name, limit)
    }
    fn trace_evaluations(&mut self, ids: &[u128]) -> Result<Vec<Evaluation>, StoreError> {
        Reader::trace_evaluations(self, ids)
    }
    fn alert_history(
        &mut self,
        since_ns: Option<i64>,
        limit: u64,
    ) -> Result<Vec<AlertEvent>, StoreError> {
        Reader::alert_history(self, since_ns, limit)
    }
    fn time_annotations(
        &mut self,
        window: Option<(i64, i64)>,
    ) -> Result<Vec<crate::TimeAnnotation>, StoreError> {
        Reader::time_annotations(self, window)
    }
    fn output(&self, target: &Path, replace: Replace) -> Result<OutputFile, StoreError> {
        Reader::output(self, target, replace)
    }
}
