//! `loadgen`: sends realistic LLM spans to any OTLP endpoint (ours or another
//! collector) and reports what was sent, acknowledged and rejected, the rate, and the
//! latency of the export calls. Overload answers (UNAVAILABLE, 429, 503) are retried as
//! OTLP exporters do.

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use ingest::otlp_json::traces_to_json;
use ingest::synth::{Synth, SynthConfig};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Wire protocol.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP with protobuf bodies.
    HttpProtobuf,
    /// OTLP/HTTP with JSON bodies.
    HttpJson,
}

/// Arguments of `loadgen`.
#[derive(Args, Debug)]
pub struct LoadgenArgs {
    /// Endpoint: http://HOST:4317 for gRPC, http://HOST:4318 (or the full /v1/traces URL) for HTTP
    #[arg(long, value_name = "URL")]
    endpoint: String,
    /// Wire protocol
    #[arg(long, value_enum, default_value = "grpc")]
    protocol: Protocol,
    /// Spans to send (about; whole traces are sent)
    #[arg(long, default_value_t = 100_000)]
    spans: u64,
    /// Export calls in flight at once
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Spans per export call (about)
    #[arg(long, default_value_t = 512)]
    batch: usize,
    /// Spans per second to send at most (0: as fast as the receiver takes them)
    #[arg(long, value_name = "SPANS_PER_S", default_value_t = 0)]
    rate: u64,
    /// Seed of the generated traffic (ids differ per seed)
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Bearer token to send
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Print the figures as one JSON object
    #[arg(long)]
    json: bool,
}

/// One export call's payload.
enum Payload {
    Grpc(ExportTraceServiceRequest),
    Http(Vec<u8>),
}

#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    acked: AtomicU64,
    rejected: AtomicU64,
    retries: AtomicU64,
    failed_calls: AtomicU64,
    latencies_us: Mutex<Vec<u64>>,
}

/// Runs the load and prints the figures.
pub fn run(args: LoadgenArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(load(args))
}

async fn load(args: LoadgenArgs) -> anyhow::Result<ExitCode> {
    let traces_per_call = ((args.batch as f64 / 4.7).round() as usize).max(1);
    let traces = (args.spans as f64 / 4.7).ceil() as u64;
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let cfg = SynthConfig {
        traces,
        start_ns: now - 600_000_000_000,
        end_ns: now,
        seed: args.seed,
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<(u64, Payload)>(args.concurrency * 2);
    let protocol = args.protocol;
    // The generator runs on its own thread, ahead of the senders by a few calls.
    let generator = std::thread::spawn(move || {
        let mut synth = Synth::new(cfg);
        while let Some(req) = synth.next_request(traces_per_call) {
            let spans = ingest::normalize::span_count(&req) as u64;
            let payload = match protocol {
                Protocol::Grpc => Payload::Grpc(req),
                Protocol::HttpProtobuf => Payload::Http(req.encode_to_vec()),
                Protocol::HttpJson => Payload::Http(traces_to_json(&req).into_bytes()),
            };
            if tx.blocking_send((spans, payload)).is_err() {
                break;
            }
        }
    });
    let rx = Arc::new(Mutex::new(rx));
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let sender = Sender::new(args.protocol, &args.endpoint, args.token.clone()).await?;
        let (rx, tally, rate) = (rx.clone(), tally.clone(), args.rate);
        workers.push(tokio::spawn(async move {
            let mut sender = sender;
            loop {
                let next = rx.lock().await.recv().await;
                let Some((spans, payload)) = next else { break };
                let before = tally.sent.fetch_add(spans, Ordering::Relaxed);
                if rate > 0 {
                    // Paced: this call may leave once the spans sent before it are due.
                    let due = started + Duration::from_secs_f64(before as f64 / rate as f64);
                    tokio::time::sleep_until(due.into()).await;
                }
                sender.export(spans, payload, &tally).await;
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    let _ = generator.join();
    let elapsed = started.elapsed();
    report(&args, &tally, elapsed).await;
    Ok(if tally.failed_calls.load(Ordering::Relaxed) > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

enum Sender {
    Grpc(
        TraceServiceClient<tonic::transport::Channel>,
        Option<String>,
    ),
    Http(reqwest::Client, String, &'static str, Option<String>),
}

impl Sender {
    async fn new(
        protocol: Protocol,
        endpoint: &str,
        token: Option<String>,
    ) -> anyhow::Result<Sender> {
        Ok(match protocol {
            Protocol::Grpc => {
                let channel = tonic::transport::Endpoint::from_shared(endpoint.to_string())
                    .with_context(|| format!("{endpoint:?} is not a URL"))?
                    .connect()
                    .await
                    .with_context(|| format!("cannot connect to {endpoint}"))?;
                let client = TraceServiceClient::new(channel).max_encoding_message_size(usize::MAX);
                Sender::Grpc(client, token)
            }
            Protocol::HttpProtobuf | Protocol::HttpJson => {
                let mut url = endpoint.trim_end_matches('/').to_string();
                if !url.ends_with("/v1/traces") {
                    url.push_str("/v1/traces");
                }
                if !url.starts_with("http://") && !url.starts_with("https://") {
                    bail!("{endpoint:?}: the endpoint must start with http://");
                }
                let ct = if protocol == Protocol::HttpJson {
                    "application/json"
                } else {
                    "application/x-protobuf"
                };
                Sender::Http(reqwest::Client::new(), url, ct, token)
            }
        })
    }

    /// Sends one call, retrying overload answers with backoff.
    async fn export(&mut self, spans: u64, payload: Payload, tally: &Tally) {
        let mut backoff = Duration::from_millis(20);
        for _attempt in 0..50 {
            let t = Instant::now();
            let outcome = match (&mut *self, &payload) {
                (Sender::Grpc(client, token), Payload::Grpc(req)) => {
                    let mut request = tonic::Request::new(req.clone());
                    if let Some(tok) = token
                        && let Ok(v) = format!("Bearer {tok}").parse()
                    {
                        request.metadata_mut().insert("authorization", v);
                    }
                    match client.export(request).await {
                        Ok(r) => Outcome::Ok(
                            r.into_inner()
                                .partial_success
                                .map(|p| p.rejected_spans as u64)
                                .unwrap_or(0),
                        ),
                        Err(s) if s.code() == tonic::Code::Unavailable => Outcome::Retry,
                        Err(s) => Outcome::Fail(format!("{:?}: {}", s.code(), s.message())),
                    }
                }
                (Sender::Http(client, url, ct, token), Payload::Http(body)) => {
                    let mut rb = client
                        .post(url.as_str())
                        .header("content-type", *ct)
                        .body(body.clone());
                    if let Some(tok) = token {
                        rb = rb.bearer_auth(tok);
                    }
                    match rb.send().await {
                        Ok(r) if r.status().is_success() => {
                            let json = *ct == "application/json";
                            let body = r.bytes().await.unwrap_or_default();
                            Outcome::Ok(rejected_in_http(&body, json))
                        }
                        Ok(r) if matches!(r.status().as_u16(), 429 | 502 | 503 | 504) => {
                            Outcome::Retry
                        }
                        Ok(r) => Outcome::Fail(format!("HTTP {}", r.status())),
                        Err(e) => Outcome::Fail(e.to_string()),
                    }
                }
                _ => unreachable!("payload matches the sender's protocol"),
            };
            match outcome {
                Outcome::Ok(rejected) => {
                    tally
                        .latencies_us
                        .lock()
                        .await
                        .push(t.elapsed().as_micros() as u64);
                    tally
                        .acked
                        .fetch_add(spans.saturating_sub(rejected), Ordering::Relaxed);
                    tally.rejected.fetch_add(rejected, Ordering::Relaxed);
                    return;
                }
                Outcome::Retry => {
                    tally.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
                Outcome::Fail(e) => {
                    eprintln!("export failed: {e}");
                    tally.failed_calls.fetch_add(1, Ordering::Relaxed);
                    tally.rejected.fetch_add(spans, Ordering::Relaxed);
                    return;
                }
            }
        }
        eprintln!("export gave up after 50 retries");
        tally.failed_calls.fetch_add(1, Ordering::Relaxed);
        tally.rejected.fetch_add(spans, Ordering::Relaxed);
    }
}

enum Outcome {
    Ok(u64),
    Retry,
    Fail(String),
}

fn rejected_in_http(body: &[u8], json: bool) -> u64 {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
    if json {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let r = &v["partialSuccess"]["rejectedSpans"];
        r.as_u64()
            .or_else(|| r.as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(0)
    } else {
        ExportTraceServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_spans as u64)
            .unwrap_or(0)
    }
}

async fn report(args: &LoadgenArgs, tally: &Tally, elapsed: Duration) {
    let mut lat = tally.latencies_us.lock().await.clone();
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        lat[((lat.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
    };
    let (sent, acked, rejected) = (
        tally.sent.load(Ordering::Relaxed),
        tally.acked.load(Ordering::Relaxed),
        tally.rejected.load(Ordering::Relaxed),
    );
    let rate = acked as f64 / elapsed.as_secs_f64();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "protocol": format!("{:?}", args.protocol), "sent": sent, "acknowledged": acked, "rejected": rejected,
                "retries": tally.retries.load(Ordering::Relaxed), "calls": lat.len(), "seconds": elapsed.as_secs_f64(),
                "spans_per_second": rate, "latency_ms": { "p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99) }
            })
        );
    } else {
        println!(
            "{:?} to {}: batch {}, concurrency {}",
            args.protocol, args.endpoint, args.batch, args.concurrency
        );
        println!(
            "  sent {sent} spans, acknowledged {acked}, rejected {rejected}, retries {}",
            tally.retries.load(Ordering::Relaxed)
        );
        println!(
            "  {:.1} s, {rate:.0} spans/s acknowledged",
            elapsed.as_secs_f64()
        );
        println!(
            "  export call latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms ({} calls)",
            pct(0.5),
            pct(0.95),
            pct(0.99),
            lat.len()
        );
    }
}
