//! What `serve` promises under stress: acknowledged spans survive SIGKILL and are never
//! duplicated; a full queue answers with retryable errors and bounded memory; bad input
//! gets the right status and the server keeps serving.

use crate::collector::{Collector, peak_rss_kib};
use crate::live_clients::stats;
use crate::util::{Scratch, bin, run, stderr, stdout};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use std::time::Duration;
use store::Queries as _;

/// Request `n`: 10 spans, each a gpt-4o call, trace ids derived from `n`.
pub(crate) fn request(n: u32) -> ExportTraceServiceRequest {
    let spans = (0..10u32)
        .map(|i| {
            let mut trace = [0u8; 16];
            trace[..4].copy_from_slice(&n.to_be_bytes());
            trace[15] = 1;
            let mut span = [0u8; 8];
            span[..4].copy_from_slice(&i.to_be_bytes());
            span[7] = 1;
            let kv = |k: &str, v: any_value::Value| KeyValue {
                key: k.into(),
                value: Some(AnyValue { value: Some(v) }),
                ..Default::default()
            };
            Span {
                trace_id: trace.to_vec(),
                span_id: span.to_vec(),
                name: "chat gpt-4o".into(),
                kind: 3,
                start_time_unix_nano: 1_790_000_000_000_000_000 + n as u64 * 1_000_000,
                end_time_unix_nano: 1_790_000_000_000_000_000 + n as u64 * 1_000_000 + 500_000,
                attributes: vec![
                    kv(
                        "gen_ai.operation.name",
                        any_value::Value::StringValue("chat".into()),
                    ),
                    kv(
                        "gen_ai.request.model",
                        any_value::Value::StringValue("gpt-4o".into()),
                    ),
                    kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(3)),
                ],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[test]
fn acknowledged_spans_survive_sigkill_and_are_never_duplicated() {
    let dir = Scratch::new("sigkill");
    let db = dir.path("live.duckdb");
    let collector = Collector::start(&db, &[]);
    let endpoint = collector.grpc.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Four clients send continuously, each counting what was acknowledged; the
    // collector is killed while they are mid-stream.
    let (acked, sent) = rt.block_on(async move {
        let next = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut clients = Vec::new();
        for _ in 0..4 {
            let (endpoint, next, acked) = (endpoint.clone(), next.clone(), acked.clone());
            clients.push(tokio::spawn(async move {
                let mut client = TraceServiceClient::connect(endpoint).await.unwrap();
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    match client.export(request(n)).await {
                        Ok(_) => acked.lock().unwrap().push(n),
                        Err(_) => break,
                    }
                }
            }));
        }
        while acked.lock().unwrap().len() < 300 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        collector.kill();
        for c in clients {
            c.await.unwrap();
        }
        let sent = next.load(std::sync::atomic::Ordering::SeqCst);
        let acked = acked.lock().unwrap().clone();
        (acked, sent)
    });
    assert!(acked.len() >= 300, "{} acknowledged", acked.len());
    // Reopen: every acknowledged span is there, once.
    let store = store::Store::open(std::path::Path::new(&db), store::OpenMode::ReadOnly).unwrap();
    let mut reader = store.reader().unwrap();
    for &n in &acked {
        let mut trace = [0u8; 16];
        trace[..4].copy_from_slice(&n.to_be_bytes());
        trace[15] = 1;
        let t = reader.trace(u128::from_be_bytes(trace)).unwrap();
        assert_eq!(t.spans.len(), 10, "acknowledged request {n} lost spans");
    }
    let spans = reader
        .summary(&store::Filter::default())
        .unwrap()
        .spans
        .expect("summary counts spans");
    assert!(
        spans >= acked.len() as u64 * 10 && spans <= sent as u64 * 10,
        "{spans} spans for {} acked of {sent}",
        acked.len()
    );
    drop(reader);
    drop(store);

    // A client retrying everything after the restart stores each span once.
    let collector = Collector::start(&db, &[]);
    let endpoint = collector.grpc.clone();
    rt.block_on(async move {
        let mut client = TraceServiceClient::connect(endpoint).await.unwrap();
        for n in 0..sent {
            client.export(request(n)).await.unwrap();
        }
    });
    assert!(collector.stop().success());
    let s = stats(&db);
    assert_eq!(s["spans"].as_u64().unwrap(), sent as u64 * 10);
    assert_eq!(s["llm_calls"].as_u64().unwrap(), sent as u64 * 10);
}

#[test]
fn a_full_queue_answers_retryable_errors_and_retries_store_everything_once() {
    let dir = Scratch::new("overload");
    let db = dir.path("live.duckdb");
    let collector = Collector::start(&db, &["--queue-size", "2KB"]);
    let pid = collector.child.id();
    let out = bin()
        .args([
            "loadgen",
            "--endpoint",
            &collector.grpc,
            "--protocol",
            "grpc",
            "--spans",
            "20000",
            "--concurrency",
            "8",
            "--batch",
            "200",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(
        report["retries"].as_u64().unwrap() > 0,
        "the tiny queue refused some requests: {report}"
    );
    assert_eq!(report["rejected"], 0);
    let rss_mib = peak_rss_kib(pid) / 1024;
    assert!(collector.stop().success());
    let s = stats(&db);
    assert_eq!(s["spans"], report["sent"]);
    assert_eq!(report["acknowledged"], report["sent"]);
    assert!(rss_mib < 400, "serve peaked at {rss_mib} MiB");
}

pub(crate) async fn post(
    url: &str,
    ct: &str,
    body: Vec<u8>,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut rb = reqwest::Client::new()
        .post(format!("{url}/v1/traces"))
        .header("content-type", ct)
        .body(body);
    for (k, v) in extra {
        rb = rb.header(*k, *v);
    }
    rb.send().await.unwrap()
}

/// Uploads `len` bytes and reads the answer while still writing: the server answers
/// once the body passes its limit (the writer then sees its connection closed, as a
/// client of any server that refuses early does).
fn status_of_huge_post(http: &str, len: usize) -> String {
    use std::io::{BufRead, BufReader, Write};
    let addr = http.trim_start_matches("http://");
    let conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut writer = conn.try_clone().unwrap();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-protobuf\r\n\
         Authorization: Bearer s3cret\r\nContent-Length: {len}\r\n\r\n"
    );
    let upload = std::thread::spawn(move || {
        let _ = writer.write_all(head.as_bytes());
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..len / chunk.len() {
            if writer.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let mut line = String::new();
    BufReader::new(conn).read_line(&mut line).unwrap();
    let _ = upload.join();
    line.trim().to_string()
}

#[test]
fn bad_input_gets_the_right_status_and_the_server_keeps_serving() {
    let dir = Scratch::new("bad-live");
    let db = dir.path("live.duckdb");
    let collector = Collector::start(&db, &["--token", "s3cret", "--max-message-size", "1MiB"]);
    let (http, grpc) = (collector.http.clone(), collector.grpc.clone());
    let auth = [("authorization", "Bearer s3cret")];
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let good = request(1).encode_to_vec();
        let ok = post(&http, "application/x-protobuf", good.clone(), &auth).await;
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["content-type"], "application/x-protobuf");

        let r = post(
            &http,
            "application/x-protobuf",
            good.clone(),
            &[("authorization", "Bearer wrong")],
        )
        .await;
        assert_eq!(r.status(), 401);
        let r = post(
            &http,
            "application/x-protobuf",
            vec![0xff, 0xff, 0x01, 0x02, 0x03],
            &auth,
        )
        .await;
        assert_eq!(r.status(), 400);
        let r = post(
            &http,
            "application/json",
            b"{\"name\": \"not otlp\"}".to_vec(),
            &auth,
        )
        .await;
        assert_eq!(r.status(), 400);
        let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("resourceSpans"),
            "{body}"
        );
        let r = post(&http, "text/plain", b"hello".to_vec(), &auth).await;
        assert_eq!(r.status(), 415);
        let mut gz = {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&good).unwrap();
            e.finish().unwrap()
        };
        gz.truncate(gz.len() / 2);
        let r = post(
            &http,
            "application/x-protobuf",
            gz,
            &[auth[0], ("content-encoding", "gzip")],
        )
        .await;
        assert_eq!(r.status(), 400, "truncated gzip");
        assert_eq!(
            status_of_huge_post(&http, 200 << 20),
            "HTTP/1.1 413 Payload Too Large"
        );

        // A span with a 16-byte span id: refused by name, the rest stored.
        let mut req = request(2);
        req.resource_spans[0].scope_spans[0].spans[3].span_id = vec![7u8; 16];
        let r = post(&http, "application/x-protobuf", req.encode_to_vec(), &auth).await;
        assert_eq!(r.status(), 200);
        let resp = ExportTraceServiceResponse::decode(r.bytes().await.unwrap()).unwrap();
        let partial = resp.partial_success.unwrap();
        assert_eq!(partial.rejected_spans, 1);
        assert!(
            partial
                .error_message
                .contains("span id has 16 bytes, expected 8"),
            "{}",
            partial.error_message
        );

        // gRPC: wrong token, and a message over the limit.
        let mut client = TraceServiceClient::connect(grpc).await.unwrap();
        let e = client.export(request(3)).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        let mut big = request(4);
        big.resource_spans[0].scope_spans[0].spans[0].name = "x".repeat(2 << 20);
        let mut r = tonic::Request::new(big);
        r.metadata_mut()
            .insert("authorization", "Bearer s3cret".parse().unwrap());
        let e = client.export(r).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::ResourceExhausted, "{e:?}");
        assert!(e.message().contains("limit"), "{}", e.message());

        // Still serving.
        let mut r = tonic::Request::new(request(5));
        r.metadata_mut()
            .insert("authorization", "Bearer s3cret".parse().unwrap());
        client.export(r).await.unwrap();
        assert_eq!(
            post(
                &http,
                "application/x-protobuf",
                request(6).encode_to_vec(),
                &auth
            )
            .await
            .status(),
            200
        );
    });
    assert!(collector.stop().success());
    let s = stats(&db);
    assert_eq!(s["spans"], 10 + 9 + 10 + 10);
}

#[test]
fn a_port_in_use_or_a_locked_database_is_one_line_naming_it() {
    let dir = Scratch::new("conflicts");
    let db = dir.path("live.duckdb");
    let first = Collector::start(&db, &[]);
    let port = first.grpc.rsplit(':').next().unwrap().to_string();
    let other = dir.path("other.duckdb");
    let out = bin()
        .args([
            "serve",
            "--db",
            &other,
            "--grpc",
            &format!("127.0.0.1:{port}"),
            "--http",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port} (OTLP/gRPC)")),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let out = bin()
        .args([
            "serve",
            "--db",
            &db,
            "--grpc",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("is already open in another process"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let out = run(&["serve", "--db", &other, "--grpc", "0.0.0.0:0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--allow-remote"), "{}", stderr(&out));
    assert!(first.stop().success());
    std::thread::sleep(Duration::from_millis(10));
}

/// `serve | head -1`, or a supervisor that stopped reading: serve's stdout is a pipe
/// nobody reads. Printing its addresses must not stop it; spans sent afterwards are
/// stored and it stops cleanly.
#[test]
fn serve_keeps_serving_when_its_stdout_is_closed() {
    let dir = Scratch::new("closed-stdout");
    let db = dir.path("closed.duckdb");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = bin()
        .args(["serve", "--db", &db, "--http", "off"])
        .args(["--grpc", &format!("127.0.0.1:{port}")])
        .stdout(writer)
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(child.try_wait().unwrap().is_none(), "serve exited");
        assert!(std::time::Instant::now() < deadline, "serve never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    let sent = run(&[
        "loadgen",
        "--endpoint",
        &format!("http://127.0.0.1:{port}"),
        "--protocol",
        "grpc",
        "--spans",
        "500",
        "--json",
    ]);
    assert!(sent.status.success(), "{}", stderr(&sent));
    let sent: serde_json::Value = serde_json::from_str(&stdout(&sent)).unwrap();
    assert!(sent["acknowledged"].as_u64().unwrap() > 0);
    assert!(child.try_wait().unwrap().is_none(), "serve exited");
    crate::collector::signal(child.id(), "TERM");
    assert!(child.wait().unwrap().success());
    assert_eq!(stats(&db)["spans"], sent["acknowledged"]);
}
