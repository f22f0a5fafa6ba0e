//! The OTLP JSON decoder (HTTP bodies, JSON dumps): any bytes give a request or an
//! error, never a panic; a decoded request normalizes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = ingest::otlp_json::parse_traces(data) {
        let _ = ingest::normalize::normalize_traces(&req);
    }
    if let Ok(req) = ingest::otlp_json::parse_logs(data) {
        let _ = ingest::normalize::normalize_logs(&req);
    }
    if let Ok(req) = ingest::otlp_json::parse_metrics(data) {
        let _ = ingest::normalize::normalize_metrics(&req);
    }
});
