//! The normalizer over arbitrary spans: the bytes decode as a protobuf request (so any
//! attribute map, any value types, nesting, events and ids), and every convention's
//! extraction runs on it without a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = ExportTraceServiceRequest::decode(data) {
        let n = ingest::normalize::normalize_traces(&req);
        assert_eq!(
            n.rows.len() + n.rejected.len(),
            ingest::normalize::span_count(&req),
            "every span is stored or rejected with a reason"
        );
    }
    if let Ok(req) = ExportLogsServiceRequest::decode(data) {
        let _ = ingest::normalize::normalize_logs(&req);
    }
});
