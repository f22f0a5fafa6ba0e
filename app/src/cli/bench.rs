//! `bench`: the documented benchmarks. `import` writes a generated OTLP JSON Lines dump
//! and times importing it; `queries` times each typed query on a `demo` database.

use anyhow::Context;
use clap::{Args, ValueEnum};
use ingest::demo::generate;
use ingest::import::{Destination, ImportOptions, ImportReport, import_file};
use ingest::otlp_json::traces_to_json;
use ingest::synth::{Synth, SynthConfig};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use store::{CallSort, Filter, OpenMode, SortDir, Store, TraceSort};

/// Which benchmark.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    /// Import throughput of a generated JSON Lines dump.
    Import,
    /// Latency of each typed query on a demo database.
    Queries,
}

/// Arguments of `bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// What to measure
    #[arg(value_enum)]
    which: Which,
    /// Spans to generate (about; traces = spans / 4.7)
    #[arg(long, default_value_t = 1_000_000)]
    spans: u64,
    /// Folder for the generated files [default: a new temporary folder]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Reuse the database or dump in --dir when it exists
    #[arg(long)]
    reuse: bool,
    /// Runs of each query (the median is reported)
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// Leave out the second column (each query from the raw calls alone), which takes
    /// minutes on large databases
    #[arg(long)]
    no_raw: bool,
    /// `queries` on a team's ClickHouse instead (clickhouse://…, https://…), holding
    /// what `copy --from` a bench database put there; the second column reads raw
    /// spans, without the rollups of `clickhouse init`
    #[arg(long, value_name = "URL")]
    clickhouse: Option<String>,
}

const SPANS_PER_TRACE: f64 = 4.7;
const END_NS: i64 = 1_795_000_000_000_000_000;

/// Runs the chosen benchmark and prints its figures.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("llm-observatory-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let traces = (args.spans as f64 / SPANS_PER_TRACE).ceil() as u64;
    let cfg = SynthConfig {
        traces,
        start_ns: END_NS - 7 * 86_400_000_000_000,
        end_ns: END_NS,
        seed: 1,
    };
    match args.which {
        Which::Import => bench_import(&dir, cfg, args.reuse),
        Which::Queries => bench_queries(&dir, cfg, &args),
    }?;
    Ok(ExitCode::SUCCESS)
}

fn bench_import(dir: &Path, cfg: SynthConfig, reuse: bool) -> anyhow::Result<()> {
    let dump = dir.join(format!("dump-{}.jsonl", cfg.traces));
    if !(reuse && dump.exists()) {
        let started = Instant::now();
        let mut out = std::io::BufWriter::new(std::fs::File::create(&dump)?);
        let mut synth = Synth::new(cfg);
        while let Some(req) = synth.next_request(100) {
            writeln!(out, "{}", traces_to_json(&req))?;
        }
        out.flush()?;
        eprintln!(
            "wrote {} in {:.1} s",
            dump.display(),
            started.elapsed().as_secs_f64()
        );
    }
    let bytes = std::fs::metadata(&dump)?.len();
    let cancel = AtomicBool::new(false);

    // Decode and normalize only, storing nothing: the ceiling parsing sets.
    let started = Instant::now();
    let mut dry = ImportReport::default();
    ingest::import::read_only(&dump, &cancel, &mut dry);
    let parse = started.elapsed();

    let db = dir.join("import-bench.duckdb");
    let _ = std::fs::remove_file(&db);
    let _ = std::fs::remove_file(dir.join("import-bench.duckdb.wal"));
    let store = Store::open(&db, OpenMode::ReadWrite)?;
    let writer = store.writer()?;
    let mut report = ImportReport::default();
    let started = Instant::now();
    import_file(
        &dump,
        Destination::Database(&writer),
        &ImportOptions::default(),
        &(),
        &cancel,
        &mut report,
    );
    let w = writer.timings();
    let secs = |a: &std::sync::atomic::AtomicU64| {
        a.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e9
    };
    let writer_split = format!(
        "writer: append to staging {:.2} s, dedup + insert {:.2} s (summaries {:.2} s: rollups {:.2} s, traces table {:.2} s, agent runs {:.2} s), commit {:.2} s",
        secs(&w.append_ns),
        secs(&w.insert_ns),
        secs(&w.summaries_ns),
        secs(&w.rollups_ns),
        secs(&w.traces_ns),
        secs(&w.runs_ns),
        secs(&w.commit_ns)
    );
    let patterns = secs(&w.patterns_ns);
    writer.close()?;
    let full = started.elapsed();
    anyhow::ensure!(
        !report.has_problems(),
        "import reported problems: {:?}",
        report.problems.first()
    );
    let mb = bytes as f64 / 1e6;
    println!(
        "import benchmark: {} spans, {:.1} MB of OTLP JSON Lines",
        report.spans, mb
    );
    println!(
        "  decode + normalize only   {:>8.2} s  {:>7.1} MB/s  {:>9.0} spans/s",
        parse.as_secs_f64(),
        mb / parse.as_secs_f64(),
        dry.spans as f64 / parse.as_secs_f64()
    );
    println!(
        "  full import (committed)   {:>8.2} s  {:>7.1} MB/s  {:>9.0} spans/s",
        full.as_secs_f64(),
        mb / full.as_secs_f64(),
        report.stored as f64 / full.as_secs_f64()
    );
    println!("  {writer_split}");
    println!(
        "  of which prompt patterns  {:>8.2} s  {:>6.1} % of the full import",
        patterns,
        100.0 * patterns / full.as_secs_f64()
    );
    Ok(())
}

fn bench_queries(dir: &Path, cfg: SynthConfig, args: &BenchArgs) -> anyhow::Result<()> {
    if let Some(url) = &args.clickhouse {
        let ch = super::connect_clickhouse(url, None, None, false)?;
        let opening = Instant::now();
        let mut r = ch.clickhouse_reader();
        store::Queries::call_summary(&mut r, &Filter::default())?;
        println!(
            "query benchmark: {} ({}), median of {} runs",
            ch.endpoint().display(),
            if ch.rollups().is_some() {
                "with rollups"
            } else {
                "no rollups: run clickhouse init"
            },
            args.runs
        );
        println!(
            "  open to first summary: {:.1} ms",
            opening.elapsed().as_secs_f64() * 1e3
        );
        time_queries(
            &mut r,
            store::clickhouse::ClickHouseReader::use_rollups,
            args,
        )?;
        if let Some(peak) = peak_rss_mb() {
            println!("  peak RSS of this process: {peak:.0} MB");
        }
        return Ok(());
    }
    let (spans, reuse, runs) = (args.spans, args.reuse, args.runs);
    let db = dir.join(format!("queries-{spans}.duckdb"));
    if !(reuse && db.exists()) {
        check_room(dir, spans)?;
        let _ = std::fs::remove_file(&db);
        let _ = std::fs::remove_file(db.with_extension("duckdb.wal"));
        let store = Store::open(&db, OpenMode::ReadWrite)?;
        let writer = store.writer()?;
        let started = Instant::now();
        let report = generate(cfg, &writer, &|_| {})?;
        writer.close()?;
        eprintln!(
            "generated {} spans ({} LLM calls) in {:.1} s",
            report.spans,
            report.llm_calls,
            started.elapsed().as_secs_f64()
        );
    }
    // What opening the window costs before its first frame with data: the file, a
    // reader, the dashboard's summary.
    let opening = Instant::now();
    let store = Store::open(&db, OpenMode::ReadOnly)?;
    let mut r = store.reader()?;
    let all = Filter::default();
    r.call_summary(&all)?;
    let opened = opening.elapsed();
    let size = std::fs::metadata(&db)?.len();
    println!(
        "query benchmark: {} ({:.0} MB, {:.0} bytes a span), median of {runs} runs",
        db.display(),
        size as f64 / 1e6,
        size as f64 / spans as f64
    );
    println!(
        "  open to first summary: {:.1} ms",
        opened.as_secs_f64() * 1e3
    );
    time_queries(&mut r, store::Reader::use_rollups, args)?;
    if let Some(peak) = peak_rss_mb() {
        println!("  peak RSS of this process: {peak:.0} MB");
    }
    Ok(())
}

/// Times each typed query of the window as it asks them (rollups where they answer),
/// then without rollups (unless `--no-raw`), and prints the medians.
fn time_queries<R: store::Queries>(
    r: &mut R,
    use_rollups: fn(&mut R, bool),
    args: &BenchArgs,
) -> anyhow::Result<()> {
    let runs = args.runs;
    let all = Filter::default();
    let day = Filter {
        from_ns: Some(END_NS - 86_400_000_000_000),
        ..Filter::default()
    };
    let gpt = Filter {
        models: vec!["gpt-4o*".into()],
        ..Filter::default()
    };
    let hour_ns = 3_600_000_000_000;
    let trace_id = {
        let (page, _) = r.traces_page(&day, TraceSort::Start, SortDir::Desc, 0, 1)?;
        store::hex_to_trace_id(&page.first().context("the database has no traces")?.trace_id)
            .expect("hex id")
    };
    // The latest session, as the Sessions view opens it.
    let latest_session = r
        .sessions_page(
            &all,
            "",
            store::SessionSort::LastActivity,
            SortDir::Desc,
            0,
            1,
        )?
        .0
        .into_iter()
        .next()
        .map(|s| s.session_id)
        .unwrap_or_default();
    // The agent with the most runs (the demo traffic always has agents).
    let busiest_agent = r
        .agents(&all)?
        .into_iter()
        .next()
        .map(|a| a.agent)
        .unwrap_or_default();
    type Query<'a, R> = Box<dyn FnMut(&mut R) -> Result<usize, store::StoreError> + 'a>;
    let queries: Vec<(&str, Query<R>)> = vec![
        ("summary (all)", Box::new(|r| r.summary(&all).map(|_| 1))),
        (
            "summary (last 24h)",
            Box::new(|r| r.summary(&day).map(|_| 1)),
        ),
        (
            "call summary (all; dashboards)",
            Box::new(|r| r.call_summary(&all).map(|_| 1)),
        ),
        (
            "call summary (last 24h)",
            Box::new(|r| r.call_summary(&day).map(|_| 1)),
        ),
        (
            "per-model (all)",
            Box::new(|r| r.per_model(&all).map(|v| v.len())),
        ),
        (
            "per-model (last 24h)",
            Box::new(|r| r.per_model(&day).map(|v| v.len())),
        ),
        (
            "anomalies and bands (last 24h, 1h buckets; the week before read)",
            Box::new(|r| {
                r.anomalies(&all, (END_NS - 86_400_000_000_000, END_NS), hour_ns)
                    .map(|j| j.bands.len())
            }),
        ),
        (
            "Prometheus scrape totals (all; GET /metrics)",
            Box::new(|r| r.usage(&all).map(|v| v.len())),
        ),
        (
            "time series by model (last 24h, 5m)",
            Box::new(|r| r.time_series(&day, 300_000_000_000).map(|v| v.len())),
        ),
        (
            "time series by model (all, 1h)",
            Box::new(|r| r.time_series(&all, hour_ns).map(|v| v.len())),
        ),
        (
            "latency p50/p95/p99 (all, 1h)",
            Box::new(|r| r.latency_percentiles(&all, hour_ns).map(|v| v.len())),
        ),
        (
            "latency heatmap (all, 1h)",
            Box::new(|r| r.latency_heatmap(&all, hour_ns).map(|h| h.cells.len())),
        ),
        (
            "summary with spans and traces (model gpt-4o*; stats, reports)",
            Box::new(|r| r.summary(&gpt).map(|_| 1)),
        ),
        (
            "call summary (model gpt-4o*; dashboards)",
            Box::new(|r| r.call_summary(&gpt).map(|_| 1)),
        ),
        (
            "time series by model (model gpt-4o*, all, 1h)",
            Box::new(|r| r.time_series(&gpt, hour_ns).map(|v| v.len())),
        ),
        (
            "latency p50/p95/p99 (model gpt-4o*, all, 1h)",
            Box::new(|r| r.latency_percentiles(&gpt, hour_ns).map(|v| v.len())),
        ),
        (
            "one trace",
            Box::new(|r| r.trace(trace_id).map(|t| t.spans.len())),
        ),
        (
            "traces page (last 24h)",
            Box::new(|r| {
                r.traces_page(&day, TraceSort::Duration, SortDir::Desc, 0, 100)
                    .map(|(v, _)| v.len())
            }),
        ),
        (
            "traces page (all, latest first)",
            Box::new(|r| {
                r.traces_page(&all, TraceSort::Start, SortDir::Desc, 0, 100)
                    .map(|(v, _)| v.len())
            }),
        ),
        (
            "traces page (all, slowest first)",
            Box::new(|r| {
                r.traces_page(&all, TraceSort::Duration, SortDir::Desc, 0, 100)
                    .map(|(v, _)| v.len())
            }),
        ),
        (
            "traces page (all, costliest first)",
            Box::new(|r| {
                r.traces_page(&all, TraceSort::Cost, SortDir::Desc, 0, 100)
                    .map(|(v, _)| v.len())
            }),
        ),
        (
            "calls page (all)",
            Box::new(|r| {
                r.calls_page(&all, CallSort::Start, SortDir::Desc, 0, 100)
                    .map(|(v, _)| v.len())
            }),
        ),
        (
            "calls text search (all)",
            Box::new(|r| {
                let f = Filter {
                    text: vec!["refund".into()],
                    ..Filter::default()
                };
                r.calls_page(&f, CallSort::Start, SortDir::Desc, 0, 100)
                    .map(|(v, _)| v.len())
            }),
        ),
        (
            "top errors (all)",
            Box::new(|r| r.top_errors(&all, 20).map(|v| v.len())),
        ),
        (
            "sessions page (all, latest first)",
            Box::new(|r| {
                r.sessions_page(
                    &all,
                    "",
                    store::SessionSort::LastActivity,
                    SortDir::Desc,
                    0,
                    100,
                )
                .map(|(v, _)| v.len())
            }),
        ),
        (
            "users page (all, most turns)",
            Box::new(|r| {
                r.users_page(&all, "", store::SessionSort::Turns, SortDir::Desc, 0, 100)
                    .map(|(v, _)| v.len())
            }),
        ),
        (
            "agents (all)",
            Box::new(|r| r.agents(&all).map(|v| v.len())),
        ),
        (
            "one session page (its turns)",
            Box::new(|r| r.session_turns(&latest_session).map(|t| t.len())),
        ),
        (
            "one session's every turn's steps (spans)",
            Box::new(|r| {
                let ids = r.session_traces(&latest_session)?;
                r.traces(&ids).map(|t| t.len())
            }),
        ),
        (
            "agent's runs page (all, most steps)",
            Box::new(|r| r.agent_runs(&all, &busiest_agent, 100).map(|v| v.len())),
        ),
        ("tools (all)", Box::new(|r| r.tools(&all).map(|v| v.len()))),
        (
            "evaluators (all)",
            Box::new(|r| r.evaluators(&all).map(|v| v.len())),
        ),
        (
            "evaluation trend (all, hourly)",
            Box::new(|r| r.evaluation_trend(&all, hour_ns).map(|v| v.len())),
        ),
        (
            "evaluations by model (all)",
            Box::new(|r| r.evaluations_by_model(&all).map(|v| v.len())),
        ),
        (
            "worst judged, relevance (all)",
            Box::new(|r| r.worst_judged(&all, "relevance", 20).map(|v| v.len())),
        ),
        (
            "calls page, eval:relevance<0.5",
            Box::new(|r| calls_matching(r, "eval:relevance<0.5")),
        ),
        (
            "calls page, kind:tool",
            Box::new(|r| calls_matching(r, "kind:tool")),
        ),
    ];
    println!(
        "  {:<38} {:>10} {:>10}  rows",
        "query", "median", "raw calls"
    );
    // A query that fails is reported on its row and the rest are still measured.
    let mut failed = Vec::new();
    for (name, mut q) in queries {
        // Each query as the app asks it (rollups where they answer), then from the raw
        // calls alone: the second column is what the rollups save.
        let mut medians = [Duration::ZERO; 2];
        let mut rows = 0;
        let ways = if args.no_raw { 1 } else { 2 };
        let mut timed = || -> Result<(), store::StoreError> {
            for (median, rollups) in medians.iter_mut().zip([true, false]).take(ways) {
                use_rollups(r, rollups);
                let mut times: Vec<Duration> = Vec::with_capacity(runs);
                for _ in 0..runs.max(1) {
                    let t = Instant::now();
                    rows = q(r)?;
                    times.push(t.elapsed());
                }
                times.sort();
                *median = times[times.len() / 2];
            }
            Ok(())
        };
        if let Err(e) = timed() {
            let why = e.to_string();
            println!(
                "  {name:<38} failed: {}",
                why.lines().next().unwrap_or_default()
            );
            failed.push(name);
            continue;
        }
        let raw = if args.no_raw {
            "-".to_string()
        } else {
            format!("{:.1} ms", medians[1].as_secs_f64() * 1e3)
        };
        println!(
            "  {name:<38} {:>7.1} ms {raw:>10}  {rows}",
            medians[0].as_secs_f64() * 1e3,
        );
    }
    anyhow::ensure!(
        failed.is_empty(),
        "these queries failed: {}",
        failed.join(", ")
    );
    Ok(())
}

/// Bytes a demo span takes on disk, database and search index together (229 + 27 at
/// 10M spans, rounded up for the write-ahead log and DuckDB's spill files), and demo
/// spans generated a second on 2 cores (44k at 10M): what a database of `spans` will
/// need.
const DISK_BYTES_PER_SPAN: f64 = 300.0;
const GENERATED_SPANS_PER_SECOND: f64 = 40_000.0;

/// Refuses to start building a database the disk under `dir` cannot hold, and says how
/// long building it will take.
fn check_room(dir: &Path, spans: u64) -> anyhow::Result<()> {
    let needed = spans as f64 * DISK_BYTES_PER_SPAN;
    let free = fs4::available_space(dir)
        .with_context(|| format!("cannot read the free space of {}", dir.display()))?;
    anyhow::ensure!(
        (free as f64) > needed * 1.2,
        "a database of {spans} spans needs about {:.0} GB (about {DISK_BYTES_PER_SPAN} bytes a \
         span with its search index) and {} has {:.0} GB free: pass a --dir on a larger disk, \
         or fewer --spans",
        needed / 1e9,
        dir.display(),
        free as f64 / 1e9
    );
    eprintln!(
        "building a database of {spans} spans in {}: about {:.0} GB, about {:.0} minutes",
        dir.display(),
        needed / 1e9,
        spans as f64 / GENERATED_SPANS_PER_SECOND / 60.0
    );
    Ok(())
}

/// This process's peak resident memory, where the system tells it (Linux).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The first page of the calls an Inspector query selects, latest first.
fn calls_matching(r: &mut dyn store::Queries, query: &str) -> Result<usize, store::StoreError> {
    let mut f = Filter::default();
    store::Query::parse(query)
        .expect("a valid benchmark query")
        .apply(&mut f);
    r.calls_page(&f, CallSort::Start, SortDir::Desc, 0, 100)
        .map(|(v, _)| v.len())
}
