//! The Inspector's query language: any text parses into a filter or an error naming
//! what is wrong, never a panic; a parsed query applies to a filter.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(q) = store::Query::parse(text) {
        let mut filter = store::Filter::default();
        q.apply(&mut filter);
        let _ = filter.validate();
    }
});
