//! A team's ClickHouse: the fixture dumps pushed in the OpenTelemetry Collector's row
//! layout (its exporter's own DDL) report the truth through `stats --db URL`, every
//! query of the interface answers as the local database does on the same data, and
//! each way a connection fails says what to do. The server is ClickHouse's engine
//! (PyPI's chdb) behind `tests/python/clickhouse_front.py`, which speaks ClickHouse's
//! HTTP interface.

use crate::clickhouse_front::Front;
use crate::fixtures::{check_stats, truth_and_dump};
use crate::util::{Scratch, run, stderr, stdout};
use std::path::Path;
use store::{
    CallSort, ClickHouse, Database, Filter, OpenMode, PriceTable, Queries, SessionSort, SortDir,
    StatusFilter, Store, TraceSort, clickhouse::Endpoint,
};

const DUMPS: [&str; 3] = ["openinference-openai", "openllmetry-openai", "legacy-genai"];

fn push(url: &str, file: &Path) {
    let out = run(&[
        "import",
        "--clickhouse",
        url,
        "--create-tables",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "import --clickhouse: {}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains(" 0 rejected"), "{}", stdout(&out));
}

#[test]
fn dumps_in_the_collectors_layout_report_the_truth() {
    let front = Front::start("truth", None);
    for dump in DUMPS {
        let (truth, file) = truth_and_dump(dump);
        let database = dump.replace('-', "_");
        let url = front.url(&database);
        push(&url, &file);
        check_stats(dump, &url, &truth);
    }
    // The rows are the exporter's: kinds and statuses in the proto's spelling, the
    // scope in its own columns, every attribute value text.
    let kinds =
        front.query("SELECT DISTINCT SpanKind FROM openllmetry_openai.otel_traces ORDER BY 1");
    assert_eq!(
        kinds.trim(),
        "SPAN_KIND_CLIENT\nSPAN_KIND_INTERNAL",
        "{kinds}"
    );
    let statuses =
        front.query("SELECT DISTINCT StatusCode FROM openllmetry_openai.otel_traces ORDER BY 1");
    assert!(statuses.contains("STATUS_CODE_ERROR"), "{statuses}");
    let tokens = front.query(
        "SELECT sum(toInt64OrZero(SpanAttributes['gen_ai.usage.input_tokens'])) FROM openllmetry_openai.otel_traces",
    );
    let (truth, _) = truth_and_dump("openllmetry-openai");
    assert_eq!(tokens.trim(), truth["input_tokens"].to_string());
    // Compressed answers (gzip, LZ4 frames) read the same as plain ones.
    let plain = run(&["stats", "--db", &front.url("openllmetry_openai"), "--json"]);
    for compression in ["gzip", "lz4"] {
        let url = format!(
            "{}?compression={compression}",
            front.url("openllmetry_openai")
        );
        let out = run(&["stats", "--db", &url, "--json"]);
        assert!(out.status.success(), "{compression}: {}", stderr(&out));
        assert_eq!(stdout(&out), stdout(&plain), "{compression}");
    }
    // The Collector's trace-id lookup is kept by its materialized view.
    let traces = front
        .query("SELECT count(DISTINCT TraceId) FROM openllmetry_openai.otel_traces_trace_id_ts");
    assert_eq!(traces.trim(), truth["calls"].to_string());
}

#[test]
fn newer_writers_spelling_of_statuses_counts_the_same() {
    let front = Front::start("spelling", None);
    let (truth, file) = truth_and_dump("openllmetry-openai");
    let url = front.url("otel");
    push(&url, &file);
    // A table written across an upgrade: the failed calls rewritten as `Error`, the
    // kinds as `Client`, by newer writers.
    front.query(
        "INSERT INTO otel.otel_traces SELECT * REPLACE ('Error' AS StatusCode, 'Client' AS SpanKind)
         FROM (SELECT * FROM otel.otel_traces WHERE StatusCode = 'STATUS_CODE_ERROR')",
    );
    front.query("ALTER TABLE otel.otel_traces DELETE WHERE StatusCode = 'STATUS_CODE_ERROR' SETTINGS mutations_sync = 1");
    // History rewritten under the rollups: they are made again, and read both spellings.
    let init = run(&["clickhouse", "init", &url, "--rebuild", "--settle", "0s"]);
    assert!(init.status.success(), "{}", stderr(&init));
    let out = run(&["stats", "--db", &url, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let s: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(s["llm_calls"], truth["calls"]);
    assert_eq!(s["errors"], truth["errors"]);
}

/// Both backends over the same data, with the bundled prices.
fn both(front: &Front) -> (Box<dyn Queries>, Box<dyn Queries>, Scratch) {
    let dir = Scratch::new("clickhouse-parity-duckdb");
    let db = dir.path("p.duckdb");
    let url = front.url("parity");
    for dump in DUMPS {
        let (_, file) = truth_and_dump(dump);
        push(&url, &file);
        let out = run(&["import", "--db", &db, file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    (local_reader(&db), clickhouse_reader(&url), dir)
}

/// A reader of the database file `db`, with the bundled prices.
fn local_reader(db: &str) -> Box<dyn Queries> {
    let store = Store::open(Path::new(db), OpenMode::ReadOnly).unwrap();
    store.set_prices(PriceTable::bundled());
    Database::reader(&store).unwrap()
}

/// A reader of the ClickHouse at `url`, with the bundled prices.
/// A reader of the ClickHouse at `url`, with the bundled prices.
pub(crate) fn clickhouse_reader(url: &str) -> Box<dyn Queries> {
    let ch = ClickHouse::connect(
        Endpoint::parse(url, None).unwrap(),
        false,
        std::sync::Arc::new(ingest::collector::normalize_collector_span),
    )
    .unwrap();
    ch.set_prices(PriceTable::bundled());
    ch.reader().unwrap()
}

/// A demo database of 400 traces, and the same traffic copied into `front`'s ClickHouse
/// (its `otel` database): both backends' readers, with the bundled prices.
fn demo_on_both(front: &Front, name: &str) -> (Box<dyn Queries>, Box<dyn Queries>, Scratch) {
    let url = front.url("otel");
    let dir = Scratch::new(&format!("clickhouse-{name}"));
    let db = dir.path("demo.duckdb");
    let out = run(&["demo", "--db", &db, "--traces", "400"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["copy", "--from", &db, "--to", &url, "--create-tables"]);
    assert!(out.status.success(), "{}", stderr(&out));
    (local_reader(&db), clickhouse_reader(&url), dir)
}

/// The Inspector's `query` selects some calls, the same on both backends.
fn assert_same_calls(local: &mut dyn Queries, remote: &mut dyn Queries, query: &str) {
    let mut filter = Filter::default();
    store::Query::parse(query).unwrap().apply(&mut filter);
    let ids = |r: &mut dyn Queries| {
        let (rows, total) = r
            .calls_page(&filter, CallSort::Start, SortDir::Asc, 0, 10_000)
            .unwrap();
        assert_eq!(rows.len() as u64, total, "{query}");
        rows.into_iter()
            .map(|c| (c.trace_id, c.span_id))
            .collect::<Vec<_>>()
    };
    let a = ids(local);
    assert!(!a.is_empty(), "{query} selects calls");
    assert_eq!(a, ids(remote), "{query}");
}

/// The usage groups behind `GET /metrics` from both backends: the same groups, counts
/// and histogram buckets at the GenAI bounds, cost and sums equal but for rounding.
fn assert_same_usage(a: &[store::UsageRow], b: &[store::UsageRow], f: &Filter) {
    let key = |u: &store::UsageRow| {
        (
            u.service.clone(),
            u.model.clone(),
            u.provider.clone(),
            u.is_error,
        )
    };
    let mut a: Vec<_> = a.iter().collect();
    let mut b: Vec<_> = b.iter().collect();
    a.sort_by_key(|u| key(u));
    b.sort_by_key(|u| key(u));
    assert_eq!(
        a.iter().map(|u| key(u)).collect::<Vec<_>>(),
        b.iter().map(|u| key(u)).collect::<Vec<_>>(),
        "usage groups of {f:?}"
    );
    let bounds: Vec<f64> = llm_observatory::scrape::DURATION_BOUNDS_S
        .iter()
        .chain(&llm_observatory::scrape::FIRST_TOKEN_BOUNDS_S)
        .map(|s| s * 1e9)
        .collect();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (
                x.calls,
                x.input_tokens,
                x.output_tokens,
                x.cache_read_tokens,
                x.unpriced_calls
            ),
            (
                y.calls,
                y.input_tokens,
                y.output_tokens,
                y.cache_read_tokens,
                y.unpriced_calls
            ),
            "usage of {f:?}"
        );
        assert!(
            close(x.cost_usd, y.cost_usd),
            "usage of {f:?}: {x:?} vs {y:?}"
        );
        for (p, q) in [(&x.latency, &y.latency), (&x.first_token, &y.first_token)] {
            assert_eq!(p.count(), q.count(), "usage of {f:?}");
            assert_eq!(p.at_most(&bounds), q.at_most(&bounds), "usage of {f:?}");
            assert!(close(p.sum_seconds(), q.sum_seconds()), "usage of {f:?}");
        }
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn every_query_answers_as_the_local_database_does() {
    let front = Front::start("parity", None);
    let (mut local, mut remote, _dir) = both(&front);
    assert_eq!(local.models().unwrap(), remote.models().unwrap());
    assert_eq!(
        local.models_by_volume().unwrap(),
        remote.models_by_volume().unwrap()
    );
    assert_eq!(local.services().unwrap(), remote.services().unwrap());
    let (first, last) = local.time_bounds().unwrap().unwrap();
    assert_eq!(Some((first, last)), remote.time_bounds().unwrap());
    let mid = first + (last - first) / 2;
    let filters = [
        Filter::default(),
        Filter {
            models: vec!["gpt-4o*".into()],
            ..Filter::default()
        },
        Filter {
            status: StatusFilter::Error,
            ..Filter::default()
        },
        Filter {
            from_ns: Some(mid),
            providers: vec!["openai".into()],
            ..Filter::default()
        },
        Filter {
            latency_ms: vec![store::Bound {
                cmp: store::Cmp::Ge,
                value: 5.0,
            }],
            ..Filter::default()
        },
        Filter {
            text: vec!["NEEDLE-zebra".into()],
            ..Filter::default()
        },
        Filter {
            exclude_text: vec!["alpha".into()],
            errors: vec!["429".into()],
            ..Filter::default()
        },
        Filter {
            cost_usd: vec![store::Bound {
                cmp: store::Cmp::Gt,
                value: 0.00001,
            }],
            ..Filter::default()
        },
    ];
    for f in &filters {
        let (a, b) = (local.summary(f).unwrap(), remote.summary(f).unwrap());
        let what = format!("summary of {f:?}");
        assert_eq!(
            (a.spans, a.traces, a.llm_calls, a.errors),
            (b.spans, b.traces, b.llm_calls, b.errors),
            "{what}"
        );
        assert_eq!(
            (
                a.input_tokens,
                a.output_tokens,
                a.cache_read_tokens,
                a.cache_write_tokens
            ),
            (
                b.input_tokens,
                b.output_tokens,
                b.cache_read_tokens,
                b.cache_write_tokens
            ),
            "{what}"
        );
        assert!(
            close(a.cost_usd, b.cost_usd),
            "{what}: cost {} vs {}",
            a.cost_usd,
            b.cost_usd
        );
        assert_eq!(
            (a.unpriced_calls, &a.unpriced_models),
            (b.unpriced_calls, &b.unpriced_models),
            "{what}"
        );
        for i in 0..3 {
            assert!(
                close(a.latency_ms[i], b.latency_ms[i]),
                "{what}: latency {:?} vs {:?}",
                a.latency_ms,
                b.latency_ms
            );
        }
        assert_eq!(
            (a.first_start_ns, a.last_end_ns),
            (b.first_start_ns, b.last_end_ns),
            "{what}"
        );

        assert_same_usage(&local.usage(f).unwrap(), &remote.usage(f).unwrap(), f);

        let (a, b) = (local.per_model(f).unwrap(), remote.per_model(f).unwrap());
        assert_eq!(a.len(), b.len(), "per model of {f:?}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (
                    &x.model,
                    &x.served,
                    &x.provider,
                    x.calls,
                    x.errors,
                    x.input_tokens,
                    x.output_tokens
                ),
                (
                    &y.model,
                    &y.served,
                    &y.provider,
                    y.calls,
                    y.errors,
                    y.input_tokens,
                    y.output_tokens
                ),
                "per model of {f:?}"
            );
            for (p, q) in [
                (x.cost_usd, y.cost_usd),
                (x.avg_ms, y.avg_ms),
                (x.p50_ms, y.p50_ms),
                (x.p95_ms, y.p95_ms),
                (x.p99_ms, y.p99_ms),
            ] {
                assert!(
                    close(p, q),
                    "per model {} of {f:?}: {x:?} vs {y:?}",
                    x.model
                );
            }
        }

        let bucket = 60_000_000_000;
        let (a, b) = (
            local.time_series(f, bucket).unwrap(),
            remote.time_series(f, bucket).unwrap(),
        );
        assert_eq!(a.len(), b.len(), "series of {f:?}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (
                    x.bucket_start_ns,
                    &x.model,
                    x.requests,
                    x.errors,
                    x.input_tokens,
                    x.output_tokens
                ),
                (
                    y.bucket_start_ns,
                    &y.model,
                    y.requests,
                    y.errors,
                    y.input_tokens,
                    y.output_tokens
                ),
                "series of {f:?}"
            );
            assert!(close(x.cost_usd, y.cost_usd), "series cost of {f:?}");
        }

        let (a, b) = (
            local.latency_percentiles(f, bucket).unwrap(),
            remote.latency_percentiles(f, bucket).unwrap(),
        );
        assert_eq!(a.len(), b.len(), "percentiles of {f:?}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (x.bucket_start_ns, x.count),
                (y.bucket_start_ns, y.count),
                "percentiles of {f:?}"
            );
            for (p, q) in [
                (x.avg_ms, y.avg_ms),
                (x.p50_ms, y.p50_ms),
                (x.p95_ms, y.p95_ms),
                (x.p99_ms, y.p99_ms),
            ] {
                assert!(close(p, q), "percentiles of {f:?}: {x:?} vs {y:?}");
            }
        }

        assert_eq!(
            local.latency_heatmap(f, bucket).unwrap(),
            remote.latency_heatmap(f, bucket).unwrap(),
            "heatmap of {f:?}"
        );

        let (a, b) = (
            local.top_errors(f, 10).unwrap(),
            remote.top_errors(f, 10).unwrap(),
        );
        assert_eq!(a.len(), b.len(), "top errors of {f:?}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (
                    &x.error_type,
                    &x.model,
                    x.count,
                    x.last_seen_ns,
                    &x.example_message
                ),
                (
                    &y.error_type,
                    &y.model,
                    y.count,
                    y.last_seen_ns,
                    &y.example_message
                ),
                "top errors of {f:?}"
            );
            assert!(close(x.share, y.share));
        }

        let (mut a, mut b) = (local.trace_ids(f).unwrap(), remote.trace_ids(f).unwrap());
        a.sort();
        b.sort();
        assert_eq!(a, b, "trace ids of {f:?}");

        for sort in [
            TraceSort::Start,
            TraceSort::Duration,
            TraceSort::Cost,
            TraceSort::Name,
        ] {
            for dir in [SortDir::Asc, SortDir::Desc] {
                let (a, n) = local.traces_page(f, sort, dir, 3, 20).unwrap();
                let (b, m) = remote.traces_page(f, sort, dir, 3, 20).unwrap();
                assert_eq!(n, m, "traces of {f:?}");
                assert_eq!(a.len(), b.len(), "traces page of {f:?}");
                for (x, y) in a.iter().zip(&b) {
                    assert_eq!(
                        (
                            &x.trace_id,
                            &x.root_name,
                            &x.service,
                            x.start_ns,
                            x.duration_ns,
                            x.spans,
                            x.llm_calls,
                            x.tokens,
                            x.has_error
                        ),
                        (
                            &y.trace_id,
                            &y.root_name,
                            &y.service,
                            y.start_ns,
                            y.duration_ns,
                            y.spans,
                            y.llm_calls,
                            y.tokens,
                            y.has_error
                        ),
                        "traces page {sort:?} {dir:?} of {f:?}"
                    );
                    assert!(close(x.cost_usd, y.cost_usd), "trace cost of {f:?}");
                }
            }
        }
        for sort in [
            CallSort::Start,
            CallSort::Latency,
            CallSort::Cost,
            CallSort::Model,
        ] {
            let (a, n) = local.calls_page(f, sort, SortDir::Desc, 2, 25).unwrap();
            let (b, m) = remote.calls_page(f, sort, SortDir::Desc, 2, 25).unwrap();
            assert_eq!(n, m, "calls of {f:?}");
            assert_eq!(a.len(), b.len(), "calls page {sort:?} of {f:?}");
            for (x, y) in a.iter().zip(&b) {
                // Costs summed in another order differ in the last bits.
                let (cx, cy) = (x.cost_usd, y.cost_usd);
                assert!(
                    cx.is_some() == cy.is_some() && close(cx.unwrap_or(0.0), cy.unwrap_or(0.0))
                );
                let unpriced = |r: &store::CallRow| store::CallRow {
                    cost_usd: None,
                    ..r.clone()
                };
                assert_eq!(unpriced(x), unpriced(y), "calls page {sort:?} of {f:?}");
            }
        }
    }
    // Every trace opens with the same spans, tree, prompts and responses.
    for id in local.trace_ids(&Filter::default()).unwrap() {
        let (a, b) = (local.trace(id).unwrap(), remote.trace(id).unwrap());
        assert_eq!(a.spans.len(), b.spans.len(), "trace {}", a.trace_id);
        for (x, y) in a.spans.iter().zip(&b.spans) {
            assert_eq!(
                (
                    &x.span_id,
                    &x.parent_span_id,
                    x.depth,
                    &x.name,
                    x.kind,
                    x.class,
                    &x.service,
                    x.start_ns,
                    x.duration_ns,
                    x.status
                ),
                (
                    &y.span_id,
                    &y.parent_span_id,
                    y.depth,
                    &y.name,
                    y.kind,
                    y.class,
                    &y.service,
                    y.start_ns,
                    y.duration_ns,
                    y.status
                ),
                "trace {}",
                a.trace_id
            );
            assert_eq!(
                (
                    &x.model,
                    &x.response_model,
                    &x.provider,
                    x.input_tokens,
                    x.output_tokens,
                    &x.prompt,
                    &x.response,
                    &x.finish_reason,
                    &x.error_type
                ),
                (
                    &y.model,
                    &y.response_model,
                    &y.provider,
                    y.input_tokens,
                    y.output_tokens,
                    &y.prompt,
                    &y.response,
                    &y.finish_reason,
                    &y.error_type
                ),
                "call {} of trace {}",
                x.span_id,
                a.trace_id
            );
            assert_eq!(x.cost_usd.is_some(), y.cost_usd.is_some());
            assert!(close(x.cost_usd.unwrap_or(0.0), y.cost_usd.unwrap_or(0.0)));
        }
    }
}

#[test]
fn each_failure_to_connect_says_what_to_do() {
    let front = Front::start("failures", Some(("team", "s3cret")));
    let stats = |url: &str| {
        let out = run(&["stats", "--db", url]);
        assert!(!out.status.success(), "{url} should fail");
        stderr(&out)
    };
    let port = front.port;
    let e = stats(&format!("clickhouse://team:wrong@127.0.0.1:{port}/otel"));
    assert!(
        e.contains("refused user \"team\"") && e.contains("CLICKHOUSE_PASSWORD"),
        "{e}"
    );
    assert!(!e.contains("wrong"), "the password is never printed: {e}");
    let e = stats(&format!(
        "clickhouse://team:s3cret@127.0.0.1:{port}/nothere"
    ));
    assert!(e.contains("no database \"nothere\""), "{e}");
    // The database exists but the Collector never wrote into it.
    front.query("CREATE DATABASE empty");
    let e = stats(&format!("clickhouse://team:s3cret@127.0.0.1:{port}/empty"));
    assert!(
        e.contains("no table \"otel_traces\"") && e.contains("--create-tables"),
        "{e}"
    );
    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap().port();
    drop(closed);
    let e = stats(&format!("clickhouse://127.0.0.1:{dead}/otel"));
    assert!(e.contains("not reachable"), "{e}");
    let e = stats("clickhouse://127.0.0.1:1/otel?tabel=x");
    assert!(e.contains("unknown parameter \"tabel\""), "{e}");
    // The password from a file works where the URL has none.
    let dir = Scratch::new("clickhouse-password");
    let file = dir.path("pw");
    std::fs::write(&file, "s3cret\n").unwrap();
    let url = format!("clickhouse://team@127.0.0.1:{port}/otel");
    let out = run(&[
        "import",
        "--clickhouse",
        &url,
        "--create-tables",
        "--clickhouse-password-file",
        &file,
        &truth_and_dump("legacy-genai").1.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["stats", "--db", &url, "--clickhouse-password-file", &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("LLM calls"), "{}", stdout(&out));
}

/// `calls` and `trace` print the same from a ClickHouse as from a file.
#[test]
fn calls_and_trace_read_a_clickhouse_url() {
    let front = Front::start("cli", None);
    let url = front.url("otel");
    let dir = Scratch::new("clickhouse-cli");
    let db = dir.path("c.duckdb");
    let (truth, file) = truth_and_dump("openllmetry-openai");
    push(&url, &file);
    assert!(
        run(&["import", "--db", &db, file.to_str().unwrap()])
            .status
            .success()
    );
    let json_lines = |out: std::process::Output| -> Vec<serde_json::Value> {
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let needle = truth["needle"].as_str().unwrap();
    for query in [needle, "status:error", "latency>10ms"] {
        let local = json_lines(run(&["calls", "--db", &db, "--query", query, "--json"]));
        let remote = json_lines(run(&["calls", "--db", &url, "--query", query, "--json"]));
        assert!(!local.is_empty(), "{query} finds calls");
        assert_eq!(local.len(), remote.len(), "{query}");
        for (mut a, mut b) in local.into_iter().zip(remote) {
            let (x, y) = (a["cost_usd"].as_f64(), b["cost_usd"].as_f64());
            assert!(
                close(x.unwrap_or(0.0), y.unwrap_or(0.0)),
                "{query}: cost {x:?} vs {y:?}"
            );
            a["cost_usd"] = serde_json::Value::Null;
            b["cost_usd"] = serde_json::Value::Null;
            assert_eq!(a, b, "calls --query {query}");
        }
    }
    // The needle's trace opens the same way.
    let hit = json_lines(run(&["calls", "--db", &url, "--query", needle, "--json"]));
    let id = hit[0]["trace_id"].as_str().unwrap();
    let tree = |db: &str| {
        let out = run(&["trace", "--db", db, id]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    assert_eq!(tree(&db), tree(&url));
    assert!(tree(&url).contains("gpt-"), "{}", tree(&url));
}

/// `serve --clickhouse` with the real Python OTLP exporters and instrumentations: what
/// they sent is in ClickHouse, in the Collector's layout, and reads back as their truth.
#[test]
fn serve_writes_what_real_clients_send_into_clickhouse() {
    let front = Front::start("serve", None);
    for (instrumentation, protocol) in [("openinference", "grpc"), ("openllmetry", "http")] {
        // Each run into its own database, so the figures are the run's alone.
        let url = front.url(&format!("team_{instrumentation}"));
        let collector = crate::collector::Collector::start_into(
            crate::util::bin(),
            &["--clickhouse", &url, "--create-tables"],
            &["--no-alerts"],
            std::process::Stdio::inherit(),
        );
        let endpoint = if protocol == "grpc" {
            collector.grpc.clone()
        } else {
            collector.http.clone()
        };
        let truth = crate::live_clients::drive_into(&endpoint, protocol, instrumentation, false);
        // The query API of a serve writing into ClickHouse reads ClickHouse.
        let paths = [
            "summary",
            "traces?sort=cost&limit=3",
            "calls?query=status%3Aerror",
        ];
        let asked = crate::query_api::ask(&collector, "", &paths.map(String::from));
        assert!(collector.stop().success(), "serve exits 0 on SIGTERM");
        let cli =
            |args: &[&str]| crate::query_api::cli(&[args, &["--db", &url, "--json"]].concat());
        let expected = [
            cli(&["stats"]),
            cli(&["traces", "--sort", "cost", "--limit", "3"]),
            cli(&["calls", "--query", "status:error"]),
        ];
        for (path, want) in paths.iter().zip(&expected) {
            let answer = &asked["answers"][*path];
            assert_eq!(answer["status"], 200, "{path}: {answer}");
            assert_eq!(answer["schema_error"], serde_json::Value::Null, "{path}");
            let body = if path.starts_with("calls") {
                &answer["body"]["calls"]
            } else {
                &answer["body"]
            };
            crate::query_api::assert_same(path, body, want);
        }
        let s = crate::live_clients::stats(&url);
        crate::live_clients::assert_matches_truth(&s, &truth);
        assert_eq!(
            s["spans"], 80,
            "{instrumentation} over {protocol}: every span sent is stored"
        );
        assert_eq!(s["traces"], 40);
    }
}

/// One OTLP/HTTP JSON request holding one LLM span, posted; returns the status code.
fn post_span(http: &str, i: u64) -> u16 {
    use std::io::{Read, Write};
    let addr = http.trim_start_matches("http://");
    let start = 1_790_000_000_000_000_000u64 + i * 1_000_000;
    let body = format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"fault"}}}}]}},"scopeSpans":[{{"spans":[{{"traceId":"{:032x}","spanId":"{:016x}","name":"chat gpt-4o","kind":3,"startTimeUnixNano":"{start}","endTimeUnixNano":"{}","attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}},{{"key":"gen_ai.request.model","value":{{"stringValue":"gpt-4o"}}}}]}}]}}]}}]}}"#,
        i + 1,
        i + 1,
        start + 5_000_000
    );
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    reply
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// ClickHouse stopped mid-stream: requests meanwhile get the retryable 503, and once
/// it is back every acknowledged span is there (and only what was sent).
#[test]
fn clickhouse_stopping_mid_stream_loses_nothing_acknowledged() {
    let mut front = Front::start("fault", None);
    let url = front.url("otel");
    let collector = crate::collector::Collector::start_into(
        crate::util::bin(),
        &["--clickhouse", &url, "--create-tables"],
        &["--no-alerts"],
        std::process::Stdio::inherit(),
    );
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for i in 0..60u64 {
        if i == 20 {
            front.kill();
        }
        if i == 40 {
            front.restart();
        }
        match post_span(&collector.http, i) {
            200 => acknowledged.push(i + 1),
            503 => refused += 1,
            other => panic!("request {i}: status {other}, expected 200 or the retryable 503"),
        }
    }
    assert!(collector.stop().success());
    assert_eq!(
        refused, 20,
        "every request while ClickHouse was down was refused, retryably"
    );
    assert_eq!(acknowledged.len(), 40);
    let stored = front.query("SELECT SpanId FROM otel.otel_traces ORDER BY SpanId");
    let stored: Vec<u64> = stored
        .lines()
        .map(|l| u64::from_str_radix(l.trim(), 16).unwrap())
        .collect();
    assert_eq!(
        stored, acknowledged,
        "exactly the acknowledged spans are stored"
    );
}

/// An OTLP JSON export from a ClickHouse imports into a file with the dump's truth.
#[test]
fn otlp_json_export_from_clickhouse_reimports_into_the_truth() {
    let front = Front::start("export", None);
    let url = front.url("otel");
    let (truth, file) = truth_and_dump("openinference-openai");
    push(&url, &file);
    let dir = Scratch::new("clickhouse-export");
    let out = dir.path("out.jsonl");
    let done = run(&[
        "export",
        "--db",
        &url,
        "--what",
        "spans",
        "--format",
        "otlp-json",
        "--out",
        &out,
    ]);
    assert!(done.status.success(), "{}", stderr(&done));
    assert!(
        stdout(&done).contains("exported 80 spans of 40 traces"),
        "{}",
        stdout(&done)
    );
    let db = dir.path("back.duckdb");
    assert!(run(&["import", "--db", &db, &out]).status.success());
    crate::fixtures::check_stats("openinference-openai", &db, &truth);
}

/// Traces, spans and calls export from a ClickHouse in every format with the local export's
/// rows; a JSON export is one array of objects.
#[test]
fn every_table_exports_from_clickhouse_as_from_a_file() {
    let front = Front::start("tables", None);
    let url = front.url("otel");
    let (_, file) = truth_and_dump("openllmetry-openai");
    push(&url, &file);
    let dir = Scratch::new("clickhouse-tables");
    let db = dir.path("t.duckdb");
    assert!(
        run(&["import", "--db", &db, file.to_str().unwrap()])
            .status
            .success()
    );
    for what in ["traces", "spans", "calls"] {
        let mut objects = Vec::new();
        for source in [&db, &url] {
            let out = dir.path(&format!("{what}-{}.json", objects.len()));
            let done = run(&[
                "export", "--db", source, "--what", what, "--format", "json", "--out", &out,
            ]);
            assert!(
                done.status.success(),
                "{what} from {source}: {}",
                stderr(&done)
            );
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
            objects.push(v.as_array().unwrap().clone());
        }
        // Rows in one order on both sides (the local span export keeps stored order).
        for rows in objects.iter_mut() {
            rows.sort_by_key(|r| {
                (
                    r["start_ns"].as_i64(),
                    r["trace_id"].to_string(),
                    r["span_id"].to_string(),
                )
            });
        }
        let (local, remote) = (&objects[0], &objects[1]);
        assert_eq!(local.len(), remote.len(), "{what}");
        assert!(!local.is_empty());
        for (a, b) in local.iter().zip(remote) {
            for k in [
                "trace_id",
                "start_ns",
                "spans",
                "llm_calls",
                "tokens",
                "has_error",
                "root_name",
                "span_id",
                "name",
                "kind",
                "status_code",
                "service",
                "model",
                "response_model",
                "input_tokens",
                "output_tokens",
                "is_error",
                "error_type",
                "prompt",
                "response",
            ] {
                assert_eq!(a.get(k), b.get(k), "{what} {k}");
            }
        }
        for (format, check) in [("csv", "trace_id"), ("parquet", "PAR1")] {
            let out = dir.path(&format!("{what}.{format}"));
            let done = run(&[
                "export", "--db", &url, "--what", what, "--format", format, "--out", &out,
            ]);
            assert!(done.status.success(), "{}", stderr(&done));
            assert!(
                stdout(&done).contains(&format!("exported {} {what}", local.len())),
                "{}",
                stdout(&done)
            );
            let bytes = std::fs::read(&out).unwrap();
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).into_owned();
            assert!(head.contains(check), "{format}: {head}");
        }
    }
}

/// `copy` pushes a local database into ClickHouse; both then report the same figures.
#[test]
fn copy_pushes_a_local_database_into_clickhouse() {
    let front = Front::start("copy", None);
    let url = front.url("copied");
    let dir = Scratch::new("clickhouse-copy");
    let db = dir.path("local.duckdb");
    for dump in DUMPS {
        let (_, file) = truth_and_dump(dump);
        assert!(
            run(&["import", "--db", &db, file.to_str().unwrap()])
                .status
                .success()
        );
    }
    let out = run(&["copy", "--from", &db, "--to", &url, "--create-tables"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("copied 240 spans of 120 traces"),
        "{}",
        stdout(&out)
    );
    let stats = |db: &str| -> serde_json::Value {
        let out = run(&["stats", "--db", db, "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    let (local, remote) = (stats(&db), stats(&url));
    for k in [
        "spans",
        "traces",
        "llm_calls",
        "errors",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "first_start",
        "last_end",
    ] {
        assert_eq!(local[k], remote[k], "{k}");
    }
    assert!(close(
        local["cost_usd"].as_f64().unwrap(),
        remote["cost_usd"].as_f64().unwrap()
    ));
    assert_eq!(
        local["models"].as_array().unwrap().len(),
        remote["models"].as_array().unwrap().len()
    );
}

/// A query nobody wants any more is killed on the server: the reader's canceller sends
/// `KILL QUERY` for the query it runs, which then fails instead of finishing.
#[test]
fn a_cancelled_query_is_killed_on_the_server() {
    let front = Front::slow("cancel", 5.0);
    let url = front.url("otel");
    let (_, file) = truth_and_dump("legacy-genai");
    push(&url, &file);
    let ch = ClickHouse::connect(
        Endpoint::parse(&url, None).unwrap(),
        false,
        std::sync::Arc::new(ingest::collector::normalize_collector_span),
    )
    .unwrap();
    let mut reader = ch.reader().unwrap();
    let cancel = reader.canceller();
    let started = std::time::Instant::now();
    let running = std::thread::spawn(move || reader.summary(&Filter::default()));
    std::thread::sleep(std::time::Duration::from_millis(500));
    cancel();
    let result = running.join().unwrap();
    let e = result.expect_err("the query was killed").to_string();
    assert!(e.contains("394") || e.contains("cancelled"), "{e}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "it stopped at once, not after the server's 5 s"
    );
    // Cancelling with nothing running does nothing.
    let idle = ch.reader().unwrap();
    idle.canceller()();
}

/// The rollups (materialized views over the traces table) answer every dashboard
/// query as the raw spans do — sums exactly, percentiles from the latency sketches
/// within 1 % — whichever way they were filled: views on a new table summarising
/// every span, `clickhouse init` summarising the history of a table that has one, and
/// the views summarising spans that arrive after `init`'s cutover.
#[test]
fn rollups_answer_as_the_raw_spans_do() {
    let front = Front::start("rollups", None);
    let dir = Scratch::new("clickhouse-rollups");
    let db = dir.path("demo.duckdb");
    let made = run(&[
        "demo",
        "--db",
        &db,
        "--traces",
        "3000",
        "--days",
        "2",
        "--end",
        "2026-11-20",
    ]);
    assert!(made.status.success(), "{}", stderr(&made));
    let url = front.url("rollups");
    let copied = run(&["copy", "--from", &db, "--to", &url, "--create-tables"]);
    assert!(copied.status.success(), "{}", stderr(&copied));
    check_rollups(&url, "views on a new table");

    let init = run(&["clickhouse", "init", &url, "--rebuild", "--settle", "0s"]);
    assert!(init.status.success(), "{}", stderr(&init));
    let said = stdout(&init);
    assert!(said.contains("days of history"), "{said}");
    check_rollups(&url, "history summarised by init");
    let again = run(&["clickhouse", "init", &url]);
    assert!(
        stdout(&again).contains("already complete"),
        "{}",
        stdout(&again)
    );

    let collector = crate::collector::Collector::start_into(
        crate::util::bin(),
        &["--clickhouse", &url],
        &["--no-alerts"],
        std::process::Stdio::inherit(),
    );
    // Real instrumentations' calls, made now: after the cutover.
    crate::live_clients::drive_into(&collector.grpc, "grpc", "openinference", false);
    assert!(collector.stop().success());
    check_rollups(&url, "spans after the cutover");
}

/// Readers of `url` with and without the rollups agree on every query they serve.
fn check_rollups(url: &str, when: &str) {
    let ch = ClickHouse::connect(
        Endpoint::parse(url, None).unwrap(),
        false,
        std::sync::Arc::new(ingest::collector::normalize_collector_span),
    )
    .unwrap();
    ch.set_prices(PriceTable::bundled());
    assert!(ch.rollups().is_some(), "{when}: no rollups found");
    let mut rolled = ch.clickhouse_reader();
    rolled.exact_percentiles_up_to(0);
    let mut raw = ch.clickhouse_reader();
    raw.use_rollups(false);
    assert_eq!(rolled.models().unwrap(), raw.models().unwrap(), "{when}");
    assert_eq!(
        rolled.models_by_volume().unwrap(),
        raw.models_by_volume().unwrap(),
        "{when}"
    );
    let (first, last) = raw.time_bounds().unwrap().unwrap();
    assert_eq!(rolled.time_bounds().unwrap(), Some((first, last)), "{when}");
    let service = raw.services().unwrap()[0].clone();
    const HOUR: i64 = 3_600_000_000_000;
    let filters = [
        Filter::default(),
        Filter {
            models: vec!["gpt-4o*".into()],
            ..Filter::default()
        },
        Filter {
            status: StatusFilter::Error,
            services: vec![service],
            ..Filter::default()
        },
        // Partial minutes and hours at both edges.
        Filter {
            from_ns: Some(first + 37 * 60_000_000_000 + 1_234_567),
            to_ns: Some(last - 3 * HOUR - 7_654_321),
            providers: vec!["openai".into()],
            ..Filter::default()
        },
    ];
    let within = |a: f64, b: f64, rel: f64| (a - b).abs() <= rel * a.abs().max(b.abs()) + 1e-9;
    for f in &filters {
        let what = format!("{when}, {f:?}");
        let (a, b) = (
            raw.call_summary(f).unwrap(),
            rolled.call_summary(f).unwrap(),
        );
        assert!(a.llm_calls > 0, "{what}: no calls");
        assert!(b.latency_approximate, "{what}: the sketches did not answer");
        assert_eq!(
            (a.llm_calls, a.errors, a.input_tokens, a.output_tokens),
            (b.llm_calls, b.errors, b.input_tokens, b.output_tokens),
            "{what}"
        );
        assert_eq!(
            (a.first_start_ns, a.last_end_ns),
            (b.first_start_ns, b.last_end_ns),
            "{what}"
        );
        assert!(within(a.cost_usd, b.cost_usd, 1e-9), "{what}: cost");
        assert!(within(a.avg_latency_ms, b.avg_latency_ms, 1e-9), "{what}");
        for i in 0..3 {
            assert!(
                within(a.latency_ms[i], b.latency_ms[i], 0.01),
                "{what}: latency {:?} vs {:?}",
                a.latency_ms,
                b.latency_ms
            );
        }
        assert_same_usage(&raw.usage(f).unwrap(), &rolled.usage(f).unwrap(), f);
        let (a, b) = (raw.per_model(f).unwrap(), rolled.per_model(f).unwrap());
        assert_eq!(a.len(), b.len(), "{what}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (&x.model, &x.served, x.calls, x.errors),
                (&y.model, &y.served, y.calls, y.errors),
                "{what}"
            );
            assert!(within(x.cost_usd, y.cost_usd, 1e-9), "{what}");
            assert!(within(x.p95_ms, y.p95_ms, 0.01), "{what}: {x:?} vs {y:?}");
        }
        let (a, b) = (
            raw.time_series(f, HOUR).unwrap(),
            rolled.time_series(f, HOUR).unwrap(),
        );
        assert_eq!(a.len(), b.len(), "{what}: series");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (
                    x.bucket_start_ns,
                    &x.model,
                    x.requests,
                    x.errors,
                    x.input_tokens
                ),
                (
                    y.bucket_start_ns,
                    &y.model,
                    y.requests,
                    y.errors,
                    y.input_tokens
                ),
                "{what}: series"
            );
            assert!(within(x.cost_usd, y.cost_usd, 1e-9), "{what}: series cost");
        }
        let (a, b) = (
            raw.latency_percentiles(f, HOUR).unwrap(),
            rolled.latency_percentiles(f, HOUR).unwrap(),
        );
        assert_eq!(a.len(), b.len(), "{what}: percentiles");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (x.bucket_start_ns, x.count),
                (y.bucket_start_ns, y.count),
                "{what}"
            );
            assert!(within(x.avg_ms, y.avg_ms, 1e-9), "{what}: {x:?} vs {y:?}");
            assert!(within(x.p99_ms, y.p99_ms, 0.01), "{what}: {x:?} vs {y:?}");
        }
        assert_eq!(
            raw.latency_heatmap(f, HOUR).unwrap(),
            rolled.latency_heatmap(f, HOUR).unwrap(),
            "{what}: heatmap"
        );
        let (a, b) = (
            raw.top_errors(f, 10).unwrap(),
            rolled.top_errors(f, 10).unwrap(),
        );
        assert_eq!(a.len(), b.len(), "{what}: top errors");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (
                    &x.error_type,
                    &x.model,
                    x.count,
                    x.last_seen_ns,
                    &x.example_message
                ),
                (
                    &y.error_type,
                    &y.model,
                    y.count,
                    y.last_seen_ns,
                    &y.example_message
                ),
                "{what}: top errors"
            );
            assert!(within(x.share, y.share, 1e-9), "{what}: top errors");
        }
        for (sort, offset) in [
            (CallSort::Start, 0),
            (CallSort::Start, 150),
            (CallSort::Latency, 0),
        ] {
            let (a, n) = raw.calls_page(f, sort, SortDir::Desc, offset, 50).unwrap();
            let (b, m) = rolled
                .calls_page(f, sort, SortDir::Desc, offset, 50)
                .unwrap();
            assert_eq!(n, m, "{what}: calls total");
            let ids = |v: &[store::CallRow]| -> Vec<(String, i64)> {
                v.iter().map(|c| (c.span_id.clone(), c.start_ns)).collect()
            };
            assert_eq!(ids(&a), ids(&b), "{what}: calls by {sort:?} from {offset}");
        }
    }
    // Everything's span and trace counts from the per-trace summaries.
    let (a, b) = (
        raw.summary(&Filter::default()).unwrap(),
        rolled.summary(&Filter::default()).unwrap(),
    );
    assert!(a.spans.unwrap_or(0) > a.llm_calls, "{when}: {a:?}");
    assert_eq!(
        (a.spans, a.traces, a.first_start_ns, a.last_end_ns),
        (b.spans, b.traces, b.first_start_ns, b.last_end_ns),
        "{when}: summary"
    );
    // The traces page from the per-trace summaries (a selection by time alone).
    let range = Filter {
        from_ns: Some(first + 37 * 60_000_000_000 + 1_234_567),
        to_ns: Some(last - 3 * HOUR - 7_654_321),
        ..Filter::default()
    };
    for f in [Filter::default(), range] {
        for sort in [
            TraceSort::Start,
            TraceSort::Duration,
            TraceSort::Tokens,
            TraceSort::Cost,
        ] {
            for offset in [0, 40] {
                let what = format!("{when}, traces by {sort:?} from {offset}, {f:?}");
                let (a, n) = raw
                    .traces_page(&f, sort, SortDir::Desc, offset, 20)
                    .unwrap();
                let (b, m) = rolled
                    .traces_page(&f, sort, SortDir::Desc, offset, 20)
                    .unwrap();
                assert!(n > 0, "{what}: no traces");
                assert_eq!(n, m, "{what}: total");
                assert_eq!(a.len(), b.len(), "{what}");
                for (x, y) in a.iter().zip(&b) {
                    assert_eq!(
                        (
                            &x.trace_id,
                            &x.root_name,
                            &x.service,
                            x.start_ns,
                            x.duration_ns,
                            x.spans,
                            x.llm_calls,
                            x.tokens,
                            x.has_error
                        ),
                        (
                            &y.trace_id,
                            &y.root_name,
                            &y.service,
                            y.start_ns,
                            y.duration_ns,
                            y.spans,
                            y.llm_calls,
                            y.tokens,
                            y.has_error
                        ),
                        "{what}"
                    );
                    assert!(within(x.cost_usd, y.cost_usd, 1e-9), "{what}: cost");
                }
            }
        }
    }
}

/// `serve --clickhouse --rules`: rules are evaluated on the team's data, the webhook is
/// posted, and the history is kept in ClickHouse, where `alerts --db URL` reads it.
#[test]
fn serve_on_clickhouse_keeps_the_alert_history() {
    let front = Front::start("alerts", None);
    let url = front.url("otel");
    let (hook, got) = crate::webhook_sink::webhook_sink(200, std::time::Duration::ZERO);
    let dir = Scratch::new("clickhouse-alerts");
    let rules = dir.path("alerts.toml");
    std::fs::write(
        &rules,
        format!(
            "[[rule]]\nname = \"traffic\"\nmetric = \"request_rate\"\nwindow = \"1h\"\nthreshold = 0\nfor = \"0s\"\nseverity = \"critical\"\nwebhook = \"{hook}\"\n"
        ),
    )
    .unwrap();
    let history = || {
        let out = run(&["alerts", "--db", &url, "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let collector = crate::collector::Collector::start_into(
        crate::util::bin(),
        &["--clickhouse", &url, "--create-tables"],
        &["--rules", &rules, "--alert-every", "200ms"],
        std::process::Stdio::inherit(),
    );
    assert!(history().is_empty(), "nothing fired before any traffic");
    let sent = run(&[
        "loadgen",
        "--endpoint",
        &collector.grpc,
        "--protocol",
        "grpc",
        "--spans",
        "200",
    ]);
    assert!(sent.status.success(), "{}", stderr(&sent));
    let t = std::time::Instant::now();
    while got.lock().unwrap().is_empty() {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(30),
            "no webhook arrived"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(collector.stop().success());
    let events = history();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (
            &events[0]["rule"],
            &events[0]["state"],
            &events[0]["severity"]
        ),
        (&"traffic".into(), &"firing".into(), &"critical".into())
    );
    assert!(events[0]["value"].as_f64().unwrap() > 0.0, "{events:?}");
}

/// `serve --clickhouse` stores log records and metric points from the real Python SDK
/// (its LoggerProvider and MeterProvider with the OTLP exporters, over gRPC and HTTP)
/// in the Collector's `otel_logs` and `otel_metrics_*` tables, as it sent them.
#[test]
fn serve_writes_logs_and_metrics_into_the_collectors_tables() {
    let front = Front::start("signals", None);
    for protocol in ["grpc", "http"] {
        let db = format!("signals_{protocol}");
        let url = front.url(&db);
        let collector = crate::collector::Collector::start_into(
            crate::util::bin(),
            &["--clickhouse", &url, "--create-tables"],
            &["--no-alerts"],
            std::process::Stdio::inherit(),
        );
        let endpoint = if protocol == "grpc" {
            collector.grpc.clone()
        } else {
            collector.http.clone()
        };
        let sent = std::process::Command::new(crate::live_clients::python())
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/python/send_logs_metrics.py"
            ))
            .args(["--endpoint", &endpoint, "--protocol", protocol])
            .output()
            .unwrap();
        assert!(
            sent.status.success(),
            "{}",
            String::from_utf8_lossy(&sent.stderr)
        );
        let truth: serde_json::Value = serde_json::from_slice(&sent.stdout).unwrap();
        assert!(collector.stop().success());

        let one = |sql: &str| front.query(sql).trim().to_string();
        assert_eq!(
            one(&format!(
                "SELECT count(), countIf(SeverityNumber >= 13), uniqExact(ServiceName)
                 FROM {db}.otel_logs
                 WHERE LogAttributes['gen_ai.evaluation.name'] = 'relevance'
                   AND Body LIKE 'evaluation % of gpt-4o%'"
            )),
            format!("{}\t{}\t1", truth["logs"], truth["warnings"]),
            "{protocol}: every log record, with its severity and attributes"
        );
        assert_eq!(
            one(&format!("SELECT any(ServiceName) FROM {db}.otel_logs")),
            "signals-app"
        );
        for (model, tokens) in truth["tokens"].as_object().unwrap() {
            assert_eq!(
                one(&format!(
                    "SELECT argMax(Value, TimeUnix), any(IsMonotonic), any(MetricUnit)
                     FROM {db}.otel_metrics_sum
                     WHERE MetricName = 'gen_ai.client.token.usage.total'
                       AND Attributes['gen_ai.request.model'] = '{model}'"
                )),
                format!("{tokens}\ttrue\t{{token}}"),
                "{protocol}: the counter of {model}"
            );
        }
        let histogram = one(&format!(
            "SELECT sum(c), round(sum(s), 6) FROM (
                SELECT argMax(Count, TimeUnix) AS c, argMax(Sum, TimeUnix) AS s
                FROM {db}.otel_metrics_histogram
                WHERE MetricName = 'gen_ai.client.operation.duration'
                GROUP BY Attributes)"
        ));
        let expected_sum = (truth["duration_sum"].as_f64().unwrap() * 1e6).round() / 1e6;
        let (count, sum) = histogram.split_once('\t').unwrap();
        assert_eq!(count, truth["durations"].to_string(), "{protocol}");
        assert!(
            (sum.parse::<f64>().unwrap() - expected_sum).abs() < 1e-6,
            "{protocol}: histogram sum {sum} vs {expected_sum}"
        );
    }
}

/// Sessions, users, agents and tools through ClickHouse (extracted at query time)
/// equal the local database's (kept on its tables) on the same demo traffic: pages,
/// sorts, searches, a filter on calls, a session's turns, an agent's runs.
#[test]
fn sessions_users_agents_and_tools_answer_as_the_local_database_does() {
    let front = Front::start("sessions", None);
    let (mut local, mut remote, _dir) = demo_on_both(&front, "sessions");
    let gpt = Filter {
        models: vec!["gpt-4o*".into()],
        ..Filter::default()
    };
    let mut compared = 0;
    for (filter, search) in [
        (Filter::default(), ""),
        (Filter::default(), "SESS-0"),
        (gpt.clone(), ""),
    ] {
        for sort in [
            SessionSort::LastActivity,
            SessionSort::Turns,
            SessionSort::Cost,
        ] {
            let what = format!("{filter:?} {search:?} {sort:?}");
            let (a, n) = local
                .sessions_page(&filter, search, sort, SortDir::Desc, 5, 40)
                .unwrap();
            let (b, m) = remote
                .sessions_page(&filter, search, sort, SortDir::Desc, 5, 40)
                .unwrap();
            assert!(n > 5, "{what}: {n} sessions");
            assert_eq!(n, m, "{what}: total");
            assert_eq!(a.len(), b.len(), "{what}");
            for (x, y) in a.iter().zip(&b) {
                assert!(close(x.cost_usd, y.cost_usd), "{what}: {x:?} vs {y:?}");
                let y = store::SessionRow {
                    cost_usd: x.cost_usd,
                    ..y.clone()
                };
                assert_eq!(x, &y, "{what}");
                compared += 1;
            }
            let (a, n) = local
                .users_page(&filter, search, sort, SortDir::Desc, 0, 40)
                .unwrap();
            let (b, m) = remote
                .users_page(&filter, search, sort, SortDir::Desc, 0, 40)
                .unwrap();
            assert_eq!(n, m, "{what}: users");
            for (x, y) in a.iter().zip(&b) {
                assert!(close(x.cost_usd, y.cost_usd), "{what}");
                let y = store::UserRow {
                    cost_usd: x.cost_usd,
                    ..y.clone()
                };
                assert_eq!(x, &y, "{what}");
            }
        }
    }
    assert!(compared > 100, "{compared} sessions compared");
    let (page, _) = local
        .sessions_page(
            &Filter::default(),
            "",
            SessionSort::Turns,
            SortDir::Desc,
            0,
            1,
        )
        .unwrap();
    let busiest = &page[0];
    assert!(busiest.turns > 1, "{busiest:?}");
    assert!(busiest.first_message.is_some(), "{busiest:?}");
    let turns = local.session_traces(&busiest.session_id).unwrap();
    assert_eq!(turns.len() as u64, busiest.turns);
    assert_eq!(remote.session_traces(&busiest.session_id).unwrap(), turns);
    let named = |trees: Vec<store::TraceTree>| -> Vec<(String, Option<String>)> {
        trees
            .into_iter()
            .flat_map(|t| t.spans)
            .map(|s| (s.span_id, s.entity))
            .collect()
    };
    let local_names = named(local.traces(&turns).unwrap());
    assert!(
        local_names.iter().any(|(_, e)| e.is_some()),
        "{local_names:?}"
    );
    assert_eq!(named(remote.traces(&turns).unwrap()), local_names);
    // The session page's turns: from the traces table here, from the spans there.
    let chat = |turns: Vec<store::SessionTurn>| -> Vec<_> {
        turns
            .into_iter()
            .map(|t| {
                (
                    t.trace_id, t.spans, t.calls, t.tokens, t.failed, t.asked, t.answered,
                )
            })
            .collect()
    };
    let local_turns = chat(local.session_turns(&busiest.session_id).unwrap());
    assert_eq!(local_turns.len() as u64, busiest.turns);
    assert_eq!(
        chat(remote.session_turns(&busiest.session_id).unwrap()),
        local_turns
    );

    for filter in [Filter::default(), gpt] {
        let (a, b) = (
            local.agents(&filter).unwrap(),
            remote.agents(&filter).unwrap(),
        );
        assert!(a.len() > 1 && a[0].runs > 10, "{a:?}");
        assert_eq!(a.len(), b.len(), "{filter:?}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (&x.agent, x.runs, x.failed_runs, x.max_steps),
                (&y.agent, y.runs, y.failed_runs, y.max_steps),
                "{filter:?}"
            );
            for (u, v) in [
                (x.p50_ms, y.p50_ms),
                (x.p95_ms, y.p95_ms),
                (x.llm_calls_per_run, y.llm_calls_per_run),
                (x.tool_calls_per_run, y.tool_calls_per_run),
                (x.tokens_per_run, y.tokens_per_run),
                (x.cost_per_run, y.cost_per_run),
            ] {
                assert!(close(u, v), "{filter:?}: {x:?} vs {y:?}");
            }
        }
        let (a, b) = (
            local.tools(&filter).unwrap(),
            remote.tools(&filter).unwrap(),
        );
        assert!(!a.is_empty() && !a[0].agents.is_empty(), "{a:?}");
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (&x.tool, x.calls, x.errors, &x.agents),
                (&y.tool, y.calls, y.errors, &y.agents),
                "{filter:?}"
            );
            assert!(
                close(x.avg_ms, y.avg_ms) && close(x.p95_ms, y.p95_ms),
                "{x:?} vs {y:?}"
            );
        }
        let agent = &local.agents(&filter).unwrap()[0].agent;
        let (a, b) = (
            local.agent_runs(&filter, agent, 25).unwrap(),
            remote.agent_runs(&filter, agent, 25).unwrap(),
        );
        assert_eq!(a.len(), 25);
        for (x, y) in a.iter().zip(&b) {
            assert!(close(x.cost_usd, y.cost_usd), "{x:?} vs {y:?}");
            let y = store::AgentRun {
                cost_usd: x.cost_usd,
                ..y.clone()
            };
            assert_eq!(x, &y);
        }
    }
    // The inspector's trace-level conditions select the same calls on both.
    let agent = local.agents(&Filter::default()).unwrap()[0].agent.clone();
    let tool = local.tools(&Filter::default()).unwrap()[0].tool.clone();
    for query in [
        format!("agent:\"{agent}\""),
        format!("tool:\"{tool}\""),
        "kind:retrieval".to_string(),
        format!("session:{}", busiest.session_id),
    ] {
        assert_same_calls(local.as_mut(), remote.as_mut(), &query);
    }
}

/// Evaluation results on a team's ClickHouse (the demo traffic's OpenInference
/// annotations and `gen_ai.evaluation.result` span events, copied into the Collector's
/// table) answer the Evaluations view, the trace detail and the Inspector's `eval:`
/// conditions as the local database does.
#[test]
fn evaluations_answer_as_the_local_database_does() {
    let front = Front::start("evaluations", None);
    let (mut local, mut remote, _dir) = demo_on_both(&front, "evaluations");
    let gpt = Filter {
        models: vec!["gpt-4o*".into()],
        ..Filter::default()
    };
    let (start, end) = local.time_bounds().unwrap().unwrap();
    let second_half = Filter {
        from_ns: Some(start + (end - start) / 2),
        ..Filter::default()
    };
    for filter in [Filter::default(), gpt, second_half] {
        let (a, b) = (
            local.evaluators(&filter).unwrap(),
            remote.evaluators(&filter).unwrap(),
        );
        assert!(a.len() == 2 && a[0].evaluations > 50, "{a:?}");
        assert_eq!(a.len(), b.len(), "{filter:?}");
        for (x, y) in a.iter().zip(&b) {
            assert!(
                close(x.mean_score.unwrap_or(0.0), y.mean_score.unwrap_or(0.0)),
                "{x:?} vs {y:?}"
            );
            let y = store::EvaluatorRow {
                mean_score: x.mean_score,
                ..y.clone()
            };
            assert_eq!(x, &y, "{filter:?}");
        }
        let hour = 3_600_000_000_000;
        let (a, b) = (
            local.evaluation_trend(&filter, hour).unwrap(),
            remote.evaluation_trend(&filter, hour).unwrap(),
        );
        assert!(a.len() > 4, "{a:?}");
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (&x.name, x.bucket_ns, x.evaluations),
                (&y.name, y.bucket_ns, y.evaluations)
            );
            assert!(close(
                x.mean_score.unwrap_or(0.0),
                y.mean_score.unwrap_or(0.0)
            ));
        }
        let (a, b) = (
            local.evaluations_by_model(&filter).unwrap(),
            remote.evaluations_by_model(&filter).unwrap(),
        );
        assert!(a.len() > 2, "{a:?}");
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (&x.name, &x.model, x.evaluations, &x.top_label),
                (&y.name, &y.model, y.evaluations, &y.top_label)
            );
            assert!(close(
                x.mean_score.unwrap_or(0.0),
                y.mean_score.unwrap_or(0.0)
            ));
        }
        let (a, b) = (
            local.worst_judged(&filter, "relevance", 15).unwrap(),
            remote.worst_judged(&filter, "relevance", 15).unwrap(),
        );
        assert_eq!(a.len(), 15);
        assert!(a[0].prompt_excerpt.is_some(), "{:?}", a[0]);
        assert_eq!(a, b, "{filter:?}");
    }
    // Everything said about a few judged traces, as the trace detail lists it.
    let judged: Vec<u128> = local
        .worst_judged(&Filter::default(), "hallucination", 5)
        .unwrap()
        .iter()
        .map(|c| store::hex_to_trace_id(&c.trace_id).unwrap())
        .collect();
    assert_eq!(judged.len(), 5);
    let said = local.trace_evaluations(&judged).unwrap();
    assert!(said.len() >= 5, "{said:?}");
    assert_eq!(remote.trace_evaluations(&judged).unwrap(), said);
    // The Inspector's conditions on results select the same calls on both.
    for query in [
        "eval:relevance<0.5",
        "eval:relevance=relevant",
        "eval:hallucination",
        "eval:relevance>=0.9 model:gpt-4o*",
    ] {
        assert_same_calls(local.as_mut(), remote.as_mut(), query);
    }
}
