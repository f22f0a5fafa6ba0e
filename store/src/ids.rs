//! Trace and span ids: bytes on the wire, unsigned integers in the database, lower-case
//! hex for people.

/// A trace id as the database stores it.
#[cfg(feature = "duckdb")]
pub(crate) fn trace_key(id: &[u8; 16]) -> u128 {
    u128::from_be_bytes(*id)
}

/// A span id as the database stores it.
#[cfg(feature = "duckdb")]
pub(crate) fn span_key(id: &[u8; 8]) -> u64 {
    u64::from_be_bytes(*id)
}

/// A stored trace id as 32 lower-case hex digits.
pub fn trace_id_hex(key: u128) -> String {
    format!("{key:032x}")
}

/// A stored span id as 16 lower-case hex digits.
pub fn span_id_hex(key: u64) -> String {
    format!("{key:016x}")
}

/// Parses a 32-digit hex trace id (what the UI and CLI show) to its stored form.
pub fn hex_to_trace_id(hex: &str) -> Option<u128> {
    if hex.len() != 32 {
        return None;
    }
    u128::from_str_radix(hex, 16).ok()
}

/// Trace ids as SQL literals for `trace_id IN (…)`.
#[cfg(feature = "duckdb")]
pub(crate) fn trace_id_list(ids: &[u128]) -> String {
    let list: Vec<String> = ids.iter().map(|id| format!("'{id}'::UHUGEINT")).collect();
    list.join(", ")
}
