//! Faults injected into a running `serve`: the disk filling up mid-commit, SIGKILL
//! during the shutdown checkpoint and in the middle of commits, the clock jumping back
//! an hour, a webhook endpoint that hangs. Each asserts that nothing acknowledged is lost and that the error a
//! client or the log sees says what happened.

use crate::collector::{Collector, signal};
use crate::live_clients::stats;
use crate::live_robustness::request;
use crate::util::{Scratch, bin, isolate, run, stderr};
use crate::webhook_sink::webhook_sink;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use std::process::Stdio;
use std::time::{Duration, Instant};
use store::Queries as _;

/// Every acknowledged request `n` (10 spans in trace `n`) is in the database, whole.
fn assert_acked_stored(db: &str, acked: &[u32]) {
    let store = store::Store::open(std::path::Path::new(db), store::OpenMode::ReadOnly)
        .unwrap_or_else(|e| panic!("{db} does not reopen: {e}"));
    let mut reader = store.reader().unwrap();
    for &n in acked {
        let mut trace = [0u8; 16];
        trace[..4].copy_from_slice(&n.to_be_bytes());
        trace[15] = 1;
        let t = reader.trace(u128::from_be_bytes(trace)).unwrap();
        assert_eq!(t.spans.len(), 10, "acknowledged request {n} lost spans");
    }
}

/// Request `n` with a 20 KiB prompt on each span, to fill a disk quickly.
fn heavy_request(
    n: u32,
) -> opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    let mut r = request(n);
    for (i, span) in r.resource_spans[0].scope_spans[0]
        .spans
        .iter_mut()
        .enumerate()
    {
        span.attributes.push(KeyValue {
            key: "gen_ai.prompt.0.content".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(format!(
                    "request {n} span {i} {}",
                    "lorem ipsum dolor sit amet ".repeat(760)
                ))),
            }),
            ..Default::default()
        });
    }
    r
}

#[test]
fn a_disk_filling_up_mid_commit_loses_nothing_acknowledged_and_says_so() {
    let dir = Scratch::new("fault-disk-full");
    let small = dir.0.join("small");
    let kept = dir.0.join("kept");
    std::fs::create_dir_all(&small).unwrap();
    std::fs::create_dir_all(&kept).unwrap();
    // A 12 MiB file system of its own (a user and mount namespace, so no root is
    // needed); when serve ends its files are copied out before the mount goes away.
    let script = format!(
        r#"mount -t tmpfs -o size=12m none "{small}" || exit 3
"$@" & pid=$!
trap 'kill -TERM $pid' TERM INT
wait $pid; wait $pid; code=$?
cp -a "{small}"/. "{kept}"/
exit $code"#,
        small = small.display(),
        kept = kept.display()
    );
    let mut command = std::process::Command::new("unshare");
    command
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            &script,
            "sh",
        ])
        .arg(env!("CARGO_BIN_EXE_llm-observatory"));
    isolate(&mut command);
    let log = dir.0.join("serve.log");
    let db_inside = small.join("t.duckdb").display().to_string();
    let collector = Collector::start_command(
        command,
        &db_inside,
        &[],
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    let grpc = collector.grpc.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (acked, errors) = rt.block_on(async move {
        let mut client = TraceServiceClient::connect(grpc).await.unwrap();
        let (mut acked, mut errors) = (Vec::new(), Vec::new());
        for n in 0..2000u32 {
            match client.export(heavy_request(n)).await {
                Ok(_) => acked.push(n),
                Err(e) => {
                    errors.push(e);
                    if errors.len() >= 5 {
                        break;
                    }
                }
            }
        }
        (acked, errors)
    });
    assert!(
        !acked.is_empty(),
        "nothing was acknowledged before the disk filled"
    );
    assert!(
        errors.len() >= 5,
        "the disk never filled ({} acknowledged)",
        acked.len()
    );
    for e in &errors {
        assert_eq!(e.code(), tonic::Code::Unavailable, "{e:?}");
        assert!(
            e.message().contains("could not store the data")
                && e.message().contains("No space left on device"),
            "{}",
            e.message()
        );
    }
    let status = collector.stop();
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(!said.contains("panicked"), "{said}");
    let _ = status;
    // Reopened where there is room, every acknowledged span is there.
    assert_acked_stored(&kept.join("t.duckdb").display().to_string(), &acked);
}

#[test]
fn sigkill_during_the_shutdown_checkpoint_loses_nothing_acknowledged() {
    let dir = Scratch::new("fault-kill-checkpoint");
    let db = dir.path("t.duckdb");
    let collector = Collector::start(&db, &[]);
    let grpc = collector.grpc.clone();
    let pid = collector.child.id();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let acked = rt.block_on(async move {
        let mut client = TraceServiceClient::connect(grpc).await.unwrap();
        let mut acked = Vec::new();
        for n in 0..400u32 {
            client.export(heavy_request(n)).await.unwrap();
            acked.push(n);
        }
        acked
    });
    // SIGTERM starts the checkpoint of a ~80 MiB log; SIGKILL lands in the middle of it.
    let wal = std::fs::metadata(format!("{db}.wal")).map_or(0, |m| m.len());
    assert!(wal > 10 << 20, "the log to checkpoint is only {wal} bytes");
    signal(pid, "TERM");
    std::thread::sleep(Duration::from_millis(150));
    collector.kill();
    assert_acked_stored(&db, &acked);
    assert_eq!(stats(&db)["spans"], 4000);
}

/// Request `n`'s calls spread over hours (7 s apart, durations varying), so that
/// commits add to many minutes and hours of the rollups.
fn spread_request(
    n: u32,
) -> opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
    let mut r = request(n);
    let start = 1_790_000_000_000_000_000 + n as u64 * 7_000_000_000;
    for (i, span) in r.resource_spans[0].scope_spans[0]
        .spans
        .iter_mut()
        .enumerate()
    {
        span.start_time_unix_nano = start + i as u64 * 1_000_000;
        span.end_time_unix_nano =
            span.start_time_unix_nano + 1_000_000 * (1 + (n as u64 * 31 + i as u64) % 997);
    }
    r
}

#[test]
fn sigkill_in_the_middle_of_commits_leaves_rollups_traces_and_calls_consistent() {
    let dir = Scratch::new("fault-kill-rollups");
    let db = dir.path("t.duckdb");
    let collector = Collector::start(&db, &[]);
    let grpc = collector.grpc.clone();
    let pid = collector.child.id();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Four clients send as fast as they can; SIGKILL lands while commits are in flight.
    let acked = rt.block_on(async move {
        let clients: Vec<_> = (0..4u32)
            .map(|c| {
                let grpc = grpc.clone();
                tokio::spawn(async move {
                    let mut client = TraceServiceClient::connect(grpc).await.unwrap();
                    let mut acked = Vec::new();
                    for k in 0..1_000_000u32 {
                        let n = k * 4 + c;
                        match client.export(spread_request(n)).await {
                            Ok(_) => acked.push(n),
                            Err(_) => break,
                        }
                    }
                    acked
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(2000)).await;
        signal(pid, "KILL");
        let mut acked = Vec::new();
        for c in clients {
            acked.extend(c.await.unwrap());
        }
        acked
    });
    collector.kill();
    assert!(
        acked.len() > 20,
        "only {} requests were acknowledged",
        acked.len()
    );
    assert_acked_stored(&db, &acked);
    // Reopened for writing (the log replayed), the rollups hold exactly the calls.
    let store = store::Store::open(std::path::Path::new(&db), store::OpenMode::ReadWrite)
        .unwrap_or_else(|e| panic!("{db} does not reopen: {e}"));
    let mut r = store.reader().unwrap();
    r.exact_percentiles_up_to(0);
    let all = store::Filter::default();
    let mut answers = Vec::new();
    for rollups in [true, false] {
        r.use_rollups(rollups);
        let s = r.call_summary(&all).unwrap();
        let series: Vec<_> = r
            .time_series(&all, 60_000_000_000)
            .unwrap()
            .into_iter()
            .map(|p| (p.bucket_start_ns, p.requests, p.input_tokens))
            .collect();
        let latency = r.latency_percentiles(&all, 3_600_000_000_000).unwrap();
        let traces = r
            .traces_page(
                &all,
                store::TraceSort::Duration,
                store::SortDir::Desc,
                0,
                50,
            )
            .unwrap();
        answers.push((s, series, latency, traces));
    }
    let (rolled, raw) = (&answers[0], &answers[1]);
    assert!(rolled.0.latency_approximate && !raw.0.latency_approximate);
    assert!(raw.0.llm_calls >= acked.len() as u64 * 10);
    assert_eq!(
        (
            rolled.0.llm_calls,
            rolled.0.input_tokens,
            rolled.0.first_start_ns,
            rolled.0.last_end_ns
        ),
        (
            raw.0.llm_calls,
            raw.0.input_tokens,
            raw.0.first_start_ns,
            raw.0.last_end_ns
        )
    );
    assert_eq!(rolled.1, raw.1);
    assert_eq!(
        rolled
            .2
            .iter()
            .map(|p| (p.bucket_start_ns, p.count))
            .collect::<Vec<_>>(),
        raw.2
            .iter()
            .map(|p| (p.bucket_start_ns, p.count))
            .collect::<Vec<_>>()
    );
    // The traces table (one row per trace) lists what grouping the spans gives.
    assert_eq!(rolled.3.1, raw.3.1);
    let without_cost = |rows: &[store::TraceRow]| {
        rows.iter()
            .map(|t| store::TraceRow {
                cost_usd: 0.0,
                ..t.clone()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(without_cost(&rolled.3.0), without_cost(&raw.3.0));
    for (a, b) in rolled.3.0.iter().zip(&raw.3.0) {
        assert!((a.cost_usd - b.cost_usd).abs() <= 1e-9 * b.cost_usd.abs().max(1.0));
    }
    for (p, q) in rolled.2.iter().zip(&raw.2) {
        assert!(
            (p.p95_ms - q.p95_ms).abs() <= 0.01 * q.p95_ms + 1e-9,
            "{p:?} {q:?}"
        );
    }
}

/// Request `n` with its spans starting now (so that retention keeps them).
fn recent_request(
    n: u32,
) -> opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut r = request(n);
    for span in &mut r.resource_spans[0].scope_spans[0].spans {
        let took = span.end_time_unix_nano - span.start_time_unix_nano;
        span.start_time_unix_nano = now;
        span.end_time_unix_nano = now + took;
    }
    r
}

#[test]
fn the_clock_jumping_back_an_hour_loses_nothing_and_stops_nothing() {
    let faketime = crate::util::libfaketime();
    let dir = Scratch::new("fault-clock");
    let db = dir.path("t.duckdb");
    let clock = dir.0.join("clock");
    std::fs::write(&clock, "+0\n").unwrap();
    let mut command = bin();
    command
        .env("LD_PRELOAD", &faketime)
        .env("FAKETIME_TIMESTAMP_FILE", &clock)
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    let collector = Collector::start_command(
        command,
        &db,
        &["--retain", "2h", "--alert-every", "100ms"],
        Stdio::inherit(),
    );
    let grpc = collector.grpc.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let clock_file = clock.clone();
    let acked = rt.block_on(async move {
        let mut client = TraceServiceClient::connect(grpc).await.unwrap();
        let mut acked = Vec::new();
        for n in 0..200u32 {
            if n == 100 {
                std::fs::write(&clock_file, "-1h\n").unwrap();
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            client.export(recent_request(n)).await.unwrap();
            acked.push(n);
        }
        acked
    });
    // The evaluator and the retention task keep running across the jump.
    std::thread::sleep(Duration::from_secs(1));
    assert!(collector.stop().success());
    assert_acked_stored(&db, &acked);
    assert_eq!(stats(&db)["spans"], 2000);
}

#[test]
fn a_webhook_that_hangs_delays_no_span_and_no_shutdown() {
    let dir = Scratch::new("fault-webhook");
    let db = dir.path("t.duckdb");
    let (url, got) = webhook_sink(200, Duration::from_secs(600));
    let rules = dir.path("alerts.toml");
    std::fs::write(
        &rules,
        format!(
            "[[rule]]\nname = \"traffic\"\nmetric = \"request_rate\"\nwindow = \"1h\"\nthreshold = 0\nfor = \"0s\"\nwebhook = \"{url}\"\n"
        ),
    )
    .unwrap();
    let log = dir.0.join("serve.log");
    let collector = Collector::start_command(
        bin(),
        &db,
        &["--rules", &rules, "--alert-every", "100ms"],
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    let sent = run(&[
        "loadgen",
        "--endpoint",
        &collector.grpc,
        "--spans",
        "3000",
        "--json",
    ]);
    assert!(sent.status.success(), "{}", stderr(&sent));
    let report: serde_json::Value =
        serde_json::from_slice(&sent.stdout).expect("loadgen's JSON figures");
    assert_eq!(report["acknowledged"], report["sent"]);
    let t = Instant::now();
    while got.lock().unwrap().is_empty() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the webhook was never called"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The webhook still hangs; stopping waits for no more than its timeouts.
    let t = Instant::now();
    assert!(collector.stop().success());
    assert!(
        t.elapsed() < Duration::from_secs(25),
        "stopping took {:?}",
        t.elapsed()
    );
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(
        said.contains("webhook"),
        "the hung webhook is not named: {said}"
    );
    assert_eq!(stats(&db)["spans"], report["sent"]);
}
