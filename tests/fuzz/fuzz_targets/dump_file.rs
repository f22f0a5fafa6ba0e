//! A dump file as `import` reads it: compression detected from the first bytes, the
//! shape (JSON objects, JSON array, protobuf message or length-prefixed stream) from
//! the content, then every request read (of any signal) and normalized — each a request
//! or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::ops::ControlFlow;

fuzz_target!(|data: &[u8]| {
    let Ok((mut input, _)) = ingest::import::decompress(data) else {
        return;
    };
    let Ok(head) = std::io::BufRead::fill_buf(&mut input) else {
        return;
    };
    let Ok(shape) = ingest::import::shape(head) else {
        return;
    };
    let mut requests = 0;
    let _ = ingest::import::for_each_request(input, shape, &mut |_, r| {
        match r {
            Ok(ingest::otlp_json::Request::Traces(req)) => {
                let _ = ingest::normalize::normalize_traces(&req);
            }
            Ok(ingest::otlp_json::Request::Logs(req)) => {
                let _ = ingest::normalize::normalize_logs(&req);
                let _ = ingest::collector_signals::collector_logs(&req);
            }
            Ok(ingest::otlp_json::Request::Metrics(req)) => {
                let _ = ingest::normalize::normalize_metrics(&req);
                let _ = ingest::collector_signals::collector_metrics(&req);
            }
            Err(_) => {}
        }
        requests += 1;
        if requests > 64 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    });
});
