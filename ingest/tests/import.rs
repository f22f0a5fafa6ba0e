//! Every import shape, compressed or not, into a real database file; and each bad
//! input's documented report.

use ingest::import::{ImportOptions, ImportReport, import_file};
use ingest::otlp_json::parse_traces;
use prost::Message;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use store::Queries as _;
use store::{Filter, OpenMode, Store};

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("ingest-import-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A request with one LLM call under a root span; `n` varies the ids.
fn request(n: u8) -> String {
    format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"svc"}}}}]}},"scopeSpans":[{{"scope":{{"name":"t"}},"spans":[
        {{"traceId":"{n:02x}f7651916cd43dd8448eb211c80319c","spanId":"{n:02x}ad6b7169203331","name":"root","kind":1,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000002000000000","status":{{}}}},
        {{"traceId":"{n:02x}f7651916cd43dd8448eb211c80319c","spanId":"{n:02x}ad6b7169203332","parentSpanId":"{n:02x}ad6b7169203331","name":"chat","kind":3,"startTimeUnixNano":"1700000000100000000","endTimeUnixNano":"1700000001100000000",
         "attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}},{{"key":"gen_ai.request.model","value":{{"stringValue":"gpt-4o"}}}},{{"key":"gen_ai.usage.input_tokens","value":{{"intValue":"10"}}}},{{"key":"gen_ai.usage.output_tokens","value":{{"intValue":5}}}}],"status":{{"code":1}}}}]}}]}}]}}"#
    )
    .replace('\n', "")
}

fn proto(n: u8) -> Vec<u8> {
    parse_traces(request(n).as_bytes()).unwrap().encode_to_vec()
}

fn import(dir: &Dir, files: &[&Path], strict: bool) -> (ImportReport, store::Summary) {
    let db = dir.0.join("db.duckdb");
    let store = Store::open(&db, OpenMode::ReadWrite).unwrap();
    let writer = store.writer().unwrap();
    let mut report = ImportReport::default();
    for f in files {
        import_file(
            f,
            ingest::import::Destination::Database(&writer),
            &ImportOptions { strict },
            &(),
            &AtomicBool::new(false),
            &mut report,
        );
    }
    writer.close().unwrap();
    let summary = store.reader().unwrap().summary(&Filter::default()).unwrap();
    (report, summary)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn assert_clean(report: &ImportReport, summary: &store::Summary, requests: u64) {
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(summary.spans, Some(requests * 2));
    assert_eq!(summary.llm_calls, requests);
    assert_eq!(summary.input_tokens, requests * 10);
    assert_eq!(summary.output_tokens, requests * 5);
}

#[test]
fn one_json_request_pretty_printed() {
    let d = Dir::new("single");
    let pretty = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(&request(1)).unwrap(),
    )
    .unwrap();
    let f = d.file("dump.json", pretty.as_bytes());
    let (r, s) = import(&d, &[&f], false);
    assert_clean(&r, &s, 1);
}

#[test]
fn json_lines_and_concatenated_objects() {
    let d = Dir::new("jsonl");
    let lines = format!("{}\n\n{}\n{}\n", request(1), request(2), request(3));
    let f = d.file("dump.jsonl", lines.as_bytes());
    let (r, s) = import(&d, &[&f], false);
    assert_clean(&r, &s, 3);
    assert_eq!(r.requests, 3);
}

#[test]
fn json_array_of_requests() {
    let d = Dir::new("array");
    let f = d.file(
        "dump.json",
        format!("[{}, {}]", request(1), request(2)).as_bytes(),
    );
    let (r, s) = import(&d, &[&f], false);
    assert_clean(&r, &s, 2);
}

#[test]
fn protobuf_message_and_length_prefixed_stream() {
    let d = Dir::new("proto");
    let single = d.file("one.pb", &proto(1));
    let mut stream = Vec::new();
    for n in 2..5 {
        let m = proto(n);
        stream.extend_from_slice(&(m.len() as u32).to_be_bytes());
        stream.extend_from_slice(&m);
    }
    let streamed = d.file("stream.pb", &stream);
    let (r, s) = import(&d, &[&single, &streamed], false);
    assert_clean(&r, &s, 4);
}

#[test]
fn gzip_and_zstd_compressed_dumps() {
    let d = Dir::new("compressed");
    let gz = d.file(
        "a.jsonl.gz",
        &gzip(format!("{}\n{}\n", request(1), request(2)).as_bytes()),
    );
    let zst = d.file("b.bin", &zstd::encode_all(proto(3).as_slice(), 3).unwrap());
    let (r, s) = import(&d, &[&gz, &zst], false);
    assert_clean(&r, &s, 3);
}

#[test]
fn what_generic_protobuf_json_printers_write() {
    let d = Dir::new("generic");
    // snake_case keys, enum names, base64 ids, 64-bit ints as numbers, nulls, unknown fields.
    let json = r#"{"resource_spans":[{"resource":{"attributes":null},"scope_spans":[{"scope":null,"spans":[
        {"trace_id":"WvdlGRbNQ92ESOshHIAxnA==","span_id":"t61rcWkgMzE=","parent_span_id":"","name":"chat","kind":"SPAN_KIND_CLIENT",
         "start_time_unix_nano":1700000000000000000,"end_time_unix_nano":"1700000001000000000","events":null,"links":null,"future_field":{"x":1},
         "attributes":[{"key":"gen_ai.operation.name","value":{"string_value":"chat"}},{"key":"gen_ai.request.model","value":{"string_value":"gpt-4o"}},
                       {"key":"gen_ai.usage.input_tokens","value":{"int_value":10}},{"key":"gen_ai.usage.output_tokens","value":{"int_value":"5"}}],
         "status":{"code":"STATUS_CODE_ERROR","message":"boom"}}]}]}]}"#;
    let f = d.file("generic.json", json.as_bytes());
    let (r, s) = import(&d, &[&f], false);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(
        (
            s.spans,
            s.llm_calls,
            s.errors,
            s.input_tokens,
            s.output_tokens
        ),
        (Some(1), 1, 1, 10, 5)
    );
}

#[test]
fn importing_twice_changes_nothing() {
    let d = Dir::new("twice");
    let f = d.file(
        "dump.jsonl",
        format!("{}\n{}\n", request(1), request(2)).as_bytes(),
    );
    let (first, s1) = import(&d, &[&f], false);
    let (second, s2) = import(&d, &[&f], false);
    assert_eq!((first.stored, first.duplicates), (4, 0));
    assert_eq!((second.stored, second.duplicates), (0, 4));
    assert_eq!(s1, s2);
}

#[test]
fn bad_files_are_reported_and_do_not_stop_the_rest() {
    let d = Dir::new("bad");
    let garbage = d.file("garbage.bin", &[0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03]);
    let empty = d.file("empty.json", b"");
    let not_otlp = d.file("config.json", br#"{"name": "my-app", "version": 3}"#);
    let text = d.file("notes.txt", b"hello world, this is not telemetry");
    let good = d.file("good.jsonl", format!("{}\n", request(1)).as_bytes());
    let (r, s) = import(&d, &[&garbage, &empty, &not_otlp, &text, &good], false);
    let reasons: Vec<String> = r.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(
        reasons[0].contains("garbage.bin: not OTLP: neither JSON nor OTLP protobuf"),
        "{}",
        reasons[0]
    );
    assert!(
        reasons[1].contains("empty.json: the file is empty"),
        "{}",
        reasons[1]
    );
    assert!(
        reasons[2].contains("config.json:1: not an OTLP request"),
        "{}",
        reasons[2]
    );
    assert!(
        reasons[3].contains("notes.txt: not OTLP: the file is text but not JSON"),
        "{}",
        reasons[3]
    );
    assert_eq!(s.llm_calls, 1);
}

#[test]
fn bad_lines_are_reported_with_their_line_and_the_good_ones_imported() {
    let d = Dir::new("lines");
    let wrong_id = request(2).replace("02ad6b7169203332", "02ad6b71692033");
    let truncated = &request(3)[..200];
    let content = format!(
        "{}\n{{\"resourceSpans\": [1, 2]}}\n{}\n{}",
        request(1),
        wrong_id,
        truncated
    );
    let f = d.file("dump.jsonl", content.as_bytes());
    let (r, s) = import(&d, &[&f], false);
    let reasons: Vec<String> = r.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons[0].contains("dump.jsonl:2: invalid type"),
        "{}",
        reasons[0]
    );
    assert!(
        reasons[1].contains(
            "dump.jsonl:3: span 1 of scope 0 of resource 0: span id has 7 bytes, expected 8"
        ),
        "{}",
        reasons[1]
    );
    assert!(
        reasons[2].contains("dump.jsonl:4: truncated"),
        "{}",
        reasons[2]
    );
    // Line 1 whole, and the root span of line 3.
    assert_eq!((s.spans, s.llm_calls), (Some(3), 1));
    assert_eq!(r.rejected, 3);
}

#[test]
fn a_truncated_protobuf_stream_reports_the_offset() {
    let d = Dir::new("pbtrunc");
    let m = proto(1);
    let mut stream = (m.len() as u32).to_be_bytes().to_vec();
    stream.extend_from_slice(&m);
    let second = proto(2);
    stream.extend_from_slice(&(second.len() as u32).to_be_bytes());
    stream.extend_from_slice(&second[..10]);
    let f = d.file("stream.pb", &stream);
    let (r, s) = import(&d, &[&f], false);
    assert_eq!(r.problems.len(), 1);
    let p = r.problems[0].to_string();
    assert!(
        p.contains(&format!(
            "stream.pb@{}: truncated: message of {} bytes, the file ends after 10",
            4 + m.len(),
            second.len()
        )),
        "{p}"
    );
    assert_eq!(s.llm_calls, 1);
}

#[test]
fn strict_imports_nothing_of_a_file_with_a_bad_record() {
    let d = Dir::new("strict");
    let f = d.file(
        "dump.jsonl",
        format!("{}\nnot json\n", request(1)).as_bytes(),
    );
    let (r, s) = import(&d, &[&f], true);
    assert!(r.problems.iter().any(|p| p.reason.contains("--strict")));
    assert_eq!(s.spans, Some(0));
    let ok = d.file("ok.jsonl", format!("{}\n", request(2)).as_bytes());
    let (r, s) = import(&d, &[&ok], true);
    assert!(r.problems.is_empty());
    assert_eq!(s.spans, Some(2));
}

/// Every trace of the real-instrumentation fixtures, exported as OTLP JSON and imported
/// into an empty database, comes back identical.
#[test]
fn an_exported_trace_reimports_identically() {
    let dir = Dir::new("roundtrip");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let source = Store::open_in_memory().unwrap();
    let writer = source.writer().unwrap();
    let mut report = ImportReport::default();
    for f in [
        "openinference-openai.jsonl",
        "openllmetry-openai.jsonl",
        "legacy-genai.pb",
    ] {
        import_file(
            &fixtures.join(f),
            ingest::import::Destination::Database(&writer),
            &ImportOptions::default(),
            &(),
            &AtomicBool::new(false),
            &mut report,
        );
    }
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let mut r = source.reader().unwrap();
    let (traces, total) = r
        .traces_page(
            &Filter::default(),
            store::TraceSort::Start,
            store::SortDir::Asc,
            0,
            1000,
        )
        .unwrap();
    assert_eq!(traces.len() as u64, total);
    let target = Store::open_in_memory().unwrap();
    let target_writer = target.writer().unwrap();
    let mut target_reader = target.reader().unwrap();
    for t in &traces {
        let id = store::hex_to_trace_id(&t.trace_id).unwrap();
        let tree = r.trace(id).unwrap();
        let json =
            ingest::otlp_json::traces_to_json(&ingest::otlp_json::trace_request(&tree).unwrap());
        let path = dir.file(&format!("{}.json", t.trace_id), json.as_bytes());
        let mut again = ImportReport::default();
        import_file(
            &path,
            ingest::import::Destination::Database(&target_writer),
            &ImportOptions { strict: true },
            &(),
            &AtomicBool::new(false),
            &mut again,
        );
        assert!(again.problems.is_empty(), "{:?}", again.problems);
        assert_eq!(
            target_reader.trace(id).unwrap(),
            tree,
            "trace {}",
            t.trace_id
        );
    }
    assert_eq!(
        target_reader.summary(&Filter::default()).unwrap(),
        r.summary(&Filter::default()).unwrap()
    );
}
