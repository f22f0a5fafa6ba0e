//! Times and sizes on the command line: `--last 1h`, `--from 2026-11-27T10:00:00Z`,
//! `--retain 7d`, `--max-db-size 2GB`.

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};

/// A duration such as `90s`, `15m`, `1h`, `7d` in nanoseconds.
pub fn duration_ns(text: &str) -> anyhow::Result<i64> {
    let d = humantime::parse_duration(text)
        .with_context(|| format!("{text:?} is not a duration (try 15m, 1h, 7d)"))?;
    Ok(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// A point in time: RFC 3339 (`2026-11-27T10:00:00Z`), a date (`2026-11-27`, midnight
/// UTC), or Unix seconds.
pub fn timestamp_ns(text: &str) -> anyhow::Result<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return t.timestamp_nanos_opt().context("time out of range");
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_nanos_opt()
            .context("time out of range");
    }
    if let Ok(secs) = text.parse::<i64>() {
        return secs.checked_mul(1_000_000_000).context("time out of range");
    }
    bail!(
        "{text:?} is not a time (use RFC 3339 like 2026-11-27T10:00:00Z, a date like 2026-11-27, or Unix seconds)"
    )
}

/// Now, in Unix nanoseconds.
pub fn now_ns() -> i64 {
    Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// Unix nanoseconds as RFC 3339 UTC with nanoseconds.
pub fn rfc3339(ns: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// A size such as `500MB`, `2GiB`, `1G` in bytes.
pub fn size_bytes(text: &str) -> anyhow::Result<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .with_context(|| format!("{text:?} is not a size (try 500MB or 2GB)"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" => 1e12,
        "tib" => 1024f64.powi(4),
        other => bail!(
            "{text:?}: unknown size unit {other:?} (use B, KB, MB, GB, TB or KiB, MiB, GiB, TiB)"
        ),
    };
    Ok((number * factor) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_times_and_sizes() {
        assert_eq!(duration_ns("1h").unwrap(), 3_600_000_000_000);
        assert_eq!(timestamp_ns("1970-01-02").unwrap(), 86_400_000_000_000);
        assert_eq!(timestamp_ns("1970-01-01T00:00:01Z").unwrap(), 1_000_000_000);
        assert_eq!(timestamp_ns("5").unwrap(), 5_000_000_000);
        assert!(timestamp_ns("yesterday").is_err());
        assert_eq!(size_bytes("2GB").unwrap(), 2_000_000_000);
        assert_eq!(size_bytes("1.5 MiB").unwrap(), 1_572_864);
        assert!(size_bytes("3 parsecs").is_err());
        assert_eq!(rfc3339(1_000_000_001), "1970-01-01T00:00:01.000000001Z");
    }
}
