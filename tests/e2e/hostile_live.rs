//! What a hostile client found on the wire (issue 13), each reproduced against a running
//! `serve`: tokens that let strangers in, bodies read before the token was checked,
//! memory without a ceiling, connections that exhausted the process, and errors that
//! were not OTLP's.

use crate::collector::{Collector, peak_rss_kib};
use crate::live_clients::stats;
use crate::live_robustness::{post, request};
use crate::util::{Scratch, bin, isolate, stderr};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

/// `google.rpc.Status`, the body of every OTLP/HTTP error.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// One answer read off a raw connection.
struct Answer {
    status: String,
    headers: String,
    body: Vec<u8>,
}

/// Sends `head` and `body` on a fresh connection and reads the answer (status line,
/// lower-cased headers, body by its length).
fn exchange(http: &str, head: &str, body: &[u8]) -> Answer {
    let addr = http.trim_start_matches("http://");
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    conn.write_all(head.as_bytes()).unwrap();
    let _ = conn.write_all(body);
    read_answer(&mut conn).expect("an answer")
}

/// Reads one HTTP answer, or `None` when the connection closed or timed out first.
fn read_answer(conn: &mut TcpStream) -> Option<Answer> {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => got.push(byte[0]),
            _ => return None,
        }
    }
    let text = String::from_utf8_lossy(&got).to_string();
    let (status, headers) = text.split_once("\r\n").unwrap();
    let headers = headers.to_lowercase();
    let len: usize = headers
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body).ok()?;
    Some(Answer {
        status: status.to_string(),
        headers,
        body,
    })
}

/// POSTs to `/v1/traces` on a fresh connection: the head declares `content_type`,
/// `extra` headers and a `Content-Length` of `declared`; then `body` is sent.
fn post_raw(http: &str, content_type: &str, extra: &str, declared: usize, body: &[u8]) -> Answer {
    exchange(http, &head(http, content_type, extra, declared), body)
}

fn head(http: &str, content_type: &str, extra: &str, len: usize) -> String {
    let addr = http.trim_start_matches("http://");
    format!(
        "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n{extra}Content-Length: {len}\r\n\r\n"
    )
}

/// Runs `serve ARGS` (with `LLM_OBSERVATORY_TOKEN` set to `token`) expecting it to
/// refuse to start: exit status 2 within 20 s (a collector that starts is stopped and
/// fails the test instead of hanging it).
fn refused_start(args: &[&str], token: Option<&str>) -> std::process::Output {
    let mut c = std::process::Command::new("timeout");
    c.args(["20", env!("CARGO_BIN_EXE_llm-observatory"), "serve"])
        .args(args);
    isolate(&mut c);
    match token {
        Some(t) => c.env("LLM_OBSERVATORY_TOKEN", t),
        None => c.env_remove("LLM_OBSERVATORY_TOKEN"),
    };
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "serve {args:?} started: {}",
        stderr(&out)
    );
    out
}

#[test]
fn an_empty_token_is_refused_at_start_and_only_the_exact_bearer_token_gets_in() {
    let dir = Scratch::new("hostile-token");
    let db = dir.path("t.duckdb");
    let listen = ["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"];
    let out = refused_start(&[&["--db", &db, "--token", ""][..], &listen].concat(), None);
    assert!(
        stderr(&out).contains("the token is empty"),
        "{}",
        stderr(&out)
    );
    let out = refused_start(&[&["--db", &db][..], &listen].concat(), Some(""));
    assert!(
        stderr(&out).contains("the token is empty"),
        "{}",
        stderr(&out)
    );

    let collector = Collector::start(&db, &["--token", "s3cret", "--max-message-size", "1MiB"]);
    let (http, grpc) = (collector.http.clone(), collector.grpc.clone());
    let good = request(1).encode_to_vec();
    for auth in [
        "",
        "Authorization: s3cret\r\n",
        "Authorization: Basic s3cret\r\n",
        "Authorization: Bearer\r\n",
        "Authorization: Bearer wrong\r\n",
    ] {
        let a = post_raw(&http, "application/x-protobuf", auth, good.len(), &good);
        assert_eq!(a.status, "HTTP/1.1 401 Unauthorized", "{auth:?}");
        assert_eq!(RpcStatus::decode(a.body.as_slice()).unwrap().code, 16);
    }
    // The token is checked before the body is read: a declared 200 MiB body (none of
    // it sent) is answered 401 at once, not 413 after reading.
    let a = post_raw(&http, "application/x-protobuf", "", 200 << 20, &[]);
    assert_eq!(a.status, "HTTP/1.1 401 Unauthorized");
    let a = post_raw(
        &http,
        "application/x-protobuf",
        "Content-Encoding: gzip\r\n",
        10 << 20,
        &[],
    );
    assert_eq!(a.status, "HTTP/1.1 401 Unauthorized");
    let ok = post_raw(
        &http,
        "application/x-protobuf",
        "Authorization: bearer s3cret\r\n",
        good.len(),
        &good,
    );
    assert_eq!(ok.status, "HTTP/1.1 200 OK");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let mut client = TraceServiceClient::connect(grpc).await.unwrap();
        let mut r = tonic::Request::new(request(2));
        r.metadata_mut()
            .insert("authorization", "s3cret".parse().unwrap());
        let e = client.export(r).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        // Over the size limit and without the token: UNAUTHENTICATED, the message unread.
        let mut big = request(3);
        big.resource_spans[0].scope_spans[0].spans[0].name = "x".repeat(2 << 20);
        let e = client.export(big).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
    });
    assert!(collector.stop().success());
    assert_eq!(stats(&db)["spans"], 10);
}

#[test]
fn bodies_share_one_memory_budget_and_are_refused_before_they_are_read() {
    let dir = Scratch::new("hostile-budget");
    let db = dir.path("t.duckdb");
    // The defaults: 64 MiB messages, 128 MiB for all bodies together.
    let collector = Collector::start(&db, &[]);
    let http = collector.http.clone();
    let pid = collector.child.id();
    const LEN: usize = 60 << 20;
    const FIRST: usize = 64 << 10;
    // Twelve clients each declare 60 MiB and send the first 64 KiB; two fit the budget
    // and are read, the others are told to retry at once.
    let uploads: Vec<_> = (0..12)
        .map(|_| {
            let addr = http.trim_start_matches("http://").to_string();
            let head = head(&http, "application/x-protobuf", "", LEN);
            let mut conn = TcpStream::connect(&addr).unwrap();
            conn.write_all(head.as_bytes()).unwrap();
            conn.write_all(&[0u8; FIRST]).unwrap();
            conn
        })
        .collect();
    let mut reading = Vec::new();
    let mut refused = 0;
    for mut conn in uploads {
        conn.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        match read_answer(&mut conn) {
            Some(a) => {
                assert_eq!(a.status, "HTTP/1.1 429 Too Many Requests");
                assert!(a.headers.contains("retry-after: 1"), "{}", a.headers);
                let status = RpcStatus::decode(a.body.as_slice()).unwrap();
                assert_eq!(status.code, 8);
                assert!(
                    status.message.contains("memory budget"),
                    "{}",
                    status.message
                );
                refused += 1;
            }
            None => reading.push(conn),
        }
    }
    assert_eq!(reading.len(), 2, "bodies being read at once");
    assert_eq!(refused, 10);
    // While those two hold the budget, a gRPC message is refused with a retry delay.
    let grpc = collector.grpc.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let mut client = TraceServiceClient::connect(grpc)
            .await
            .unwrap()
            .max_encoding_message_size(64 << 20);
        let mut big = request(1);
        big.resource_spans[0].scope_spans[0].spans[0].name = "x".repeat(10 << 20);
        let e = client.export(big).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::ResourceExhausted, "{e:?}");
        assert!(e.message().contains("memory budget"), "{}", e.message());
        assert!(
            String::from_utf8_lossy(e.details()).contains("google.rpc.RetryInfo"),
            "no retry delay in {e:?}"
        );
    });
    // The two finish (zeros are not OTLP: 400), and the budget is free again.
    for mut conn in reading {
        conn.set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        conn.write_all(&vec![0u8; LEN - FIRST]).unwrap();
        assert_eq!(
            read_answer(&mut conn).unwrap().status,
            "HTTP/1.1 400 Bad Request"
        );
    }
    let good = request(2).encode_to_vec();
    let ok = post_raw(&http, "application/x-protobuf", "", good.len(), &good);
    assert_eq!(ok.status, "HTTP/1.1 200 OK");
    let peak_mib = peak_rss_kib(pid) / 1024;
    assert!(collector.stop().success());
    assert!(peak_mib < 600, "serve peaked at {peak_mib} MiB");
    assert_eq!(stats(&db)["spans"], 10);
}

#[test]
fn idle_connections_are_capped_below_the_descriptor_limit_and_time_out() {
    let dir = Scratch::new("hostile-connections");
    let db = dir.path("t.duckdb");
    let log = dir.0.join("serve.log");
    let mut command = std::process::Command::new("prlimit");
    command
        .args(["--nofile=1024:1024", "--"])
        .arg(env!("CARGO_BIN_EXE_llm-observatory"));
    isolate(&mut command);
    let collector = Collector::start_command(
        command,
        &db,
        &["--max-connections", "5000", "--idle-timeout", "10s"],
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    let http = collector.http.clone();
    let addr = http.trim_start_matches("http://").to_string();
    // More idle connections than the process has descriptors.
    let idle: Vec<TcpStream> = (0..1100)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    // (Refusals being answered are let go within a quarter second.)
    std::thread::sleep(Duration::from_millis(1000));
    // Still reachable: past the cap the answer is 503 with Retry-After, at once.
    let good = request(1).encode_to_vec();
    let busy = post_raw(&http, "application/x-protobuf", "", good.len(), &good);
    assert_eq!(busy.status, "HTTP/1.1 503 Service Unavailable");
    assert!(busy.headers.contains("retry-after: 1"));
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(
        said.contains("768 connections are open (the limit)"),
        "the cap is 1024 descriptors less 256 reserved: {said}"
    );
    // The idle ones are closed after the idle timeout, and the collector serves again.
    std::thread::sleep(Duration::from_secs(11));
    let mut closed = 0;
    for mut c in idle.into_iter().take(50) {
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        if matches!(c.read(&mut [0u8; 64]), Ok(0) | Err(_)) {
            closed += 1;
        }
    }
    assert_eq!(closed, 50, "idle connections left open");
    let ok = post_raw(&http, "application/x-protobuf", "", good.len(), &good);
    assert_eq!(ok.status, "HTTP/1.1 200 OK");
    assert!(collector.stop().success());
    assert_eq!(stats(&db)["spans"], 10);
}

/// A gRPC codec that sends bytes as they are, to send what is not a protobuf message.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }
    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        prost::bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        use prost::bytes::Buf;
        let v = src.chunk().to_vec();
        src.advance(v.len());
        Ok(Some(v))
    }
}

#[test]
fn every_error_is_an_otlp_status() {
    let dir = Scratch::new("hostile-errors");
    let db = dir.path("t.duckdb");
    let collector = Collector::start(&db, &["--max-message-size", "1MiB"]);
    let (http, grpc) = (collector.http.clone(), collector.grpc.clone());
    // Too large, by its declared length: 413 as google.rpc.Status, in the request's
    // content type.
    let a = post_raw(&http, "application/json", "", 2 << 20, &[]);
    assert_eq!(a.status, "HTTP/1.1 413 Payload Too Large");
    let body: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(body["code"], 8);
    assert!(
        body["message"].as_str().unwrap().contains("1048576"),
        "{body}"
    );
    let a = post_raw(&http, "application/x-protobuf", "", 2 << 20, &[]);
    assert_eq!(a.status, "HTTP/1.1 413 Payload Too Large");
    assert_eq!(RpcStatus::decode(a.body.as_slice()).unwrap().code, 8);
    // Too large once decompressed (a gzip bomb).
    let gzip = |bytes: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    };
    let bomb = gzip(&vec![0u8; 8 << 20]);
    let a = post_raw(
        &http,
        "application/x-protobuf",
        "Content-Encoding: gzip\r\n",
        bomb.len(),
        &bomb,
    );
    assert_eq!(a.status, "HTTP/1.1 413 Payload Too Large");
    assert_eq!(RpcStatus::decode(a.body.as_slice()).unwrap().code, 8);
    // Not gzip at all.
    let a = post_raw(
        &http,
        "application/x-protobuf",
        "Content-Encoding: gzip\r\n",
        5,
        b"hello",
    );
    assert_eq!(a.status, "HTTP/1.1 400 Bad Request");
    let status = RpcStatus::decode(a.body.as_slice()).unwrap();
    assert_eq!(status.code, 3);
    assert!(status.message.contains("gzip"), "{}", status.message);
    // An encoding name in capitals is the same encoding.
    let good = gzip(&request(1).encode_to_vec());
    let a = post_raw(
        &http,
        "application/x-protobuf",
        "Content-Encoding: GZIP\r\n",
        good.len(),
        &good,
    );
    assert_eq!(a.status, "HTTP/1.1 200 OK");
    // An encoding we do not speak.
    let a = post_raw(
        &http,
        "application/json",
        "Content-Encoding: br\r\n",
        2,
        b"{}",
    );
    assert_eq!(a.status, "HTTP/1.1 415 Unsupported Media Type");
    let body: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("\"br\""),
        "{body}"
    );
    // A path that is not OTLP's.
    let a = exchange(
        &http,
        &head(&http, "application/json", "", 2).replace("/v1/traces", "/v1/trace"),
        b"{}",
    );
    assert_eq!(a.status, "HTTP/1.1 404 Not Found");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&a.body).unwrap()["code"],
        5
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let channel = tonic::transport::Channel::from_shared(grpc.clone())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut raw = tonic::client::Grpc::new(channel);
        raw.ready().await.unwrap();
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        );
        let e = raw
            .unary(
                tonic::Request::new(vec![0xff, 0xff, 0x01, 0x02]),
                path,
                RawCodec,
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
        assert!(e.message().contains("malformed"), "{}", e.message());
        let mut client = TraceServiceClient::connect(grpc).await.unwrap();
        client.export(request(2)).await.unwrap();
    });
    assert!(collector.stop().success());
    assert_eq!(stats(&db)["spans"], 20);
}

#[test]
fn listening_beyond_this_machine_needs_a_token_or_says_it_is_insecure() {
    let dir = Scratch::new("hostile-remote");
    let db = dir.path("t.duckdb");
    let out = refused_start(
        &[
            "--db",
            &db,
            "--allow-remote",
            "--grpc",
            "0.0.0.0:0",
            "--http",
            "127.0.0.1:0",
        ],
        None,
    );
    let err = stderr(&out);
    assert!(
        err.contains("0.0.0.0:0 is reachable from other machines and no --token is set")
            && err.contains("--insecure-no-token"),
        "{err}"
    );
    let log = dir.0.join("serve.log");
    let collector = Collector::start_command(
        bin(),
        &db,
        &[
            "--allow-remote",
            "--insecure-no-token",
            "--grpc",
            "0.0.0.0:0",
        ],
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    assert!(collector.stop().success());
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains("warning: listening on"), "{said}");
    // With a token it starts without a warning.
    let collector = Collector::start_command(
        bin(),
        &db,
        &["--allow-remote", "--token", "s3cret", "--grpc", "0.0.0.0:0"],
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    assert!(collector.stop().success());
    assert!(!std::fs::read_to_string(&log).unwrap().contains("warning"));
}

#[test]
fn spans_with_questionable_times_are_stored_and_the_client_is_warned() {
    let dir = Scratch::new("hostile-live-times");
    let db = dir.path("t.duckdb");
    let collector = Collector::start(&db, &[]);
    let http = collector.http.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let mut req = request(1);
        let spans = &mut req.resource_spans[0].scope_spans[0].spans;
        spans[2].start_time_unix_nano = 0;
        let r = post(&http, "application/x-protobuf", req.encode_to_vec(), &[]).await;
        assert_eq!(r.status(), 200);
        let resp = ExportTraceServiceResponse::decode(r.bytes().await.unwrap()).unwrap();
        let partial = resp.partial_success.expect("a warning");
        assert_eq!(partial.rejected_spans, 0);
        assert!(
            partial.error_message.contains("questionable times")
                && partial.error_message.contains("span 2 of scope 0")
                && partial.error_message.contains("start time is 0"),
            "{}",
            partial.error_message
        );
    });
    assert!(collector.stop().success());
    assert_eq!(stats(&db)["spans"], 10);
}
