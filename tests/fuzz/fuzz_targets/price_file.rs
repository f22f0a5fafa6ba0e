//! The price file: any text gives a price table or an error, never a panic; a parsed
//! table prices any model name without a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(table) = store::PriceTable::parse(text) {
        for model in ["gpt-4o", "gpt-4o-2024-08-06", "", "a@b", text] {
            let _ = table.lookup(model);
        }
    }
});
