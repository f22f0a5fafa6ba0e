//! Numbers for people: `1.2K/s`, `245 ms`, `$12.45/h`, `+12%`. Every figure the window
//! and the alert messages show goes through here so that units read the same everywhere.

/// A count with a K/M/B suffix past a thousand: `999`, `1.2K`, `3.4M`.
pub fn count(n: f64) -> String {
    let a = n.abs();
    let (v, suffix) = if a >= 1e9 {
        (n / 1e9, "B")
    } else if a >= 1e6 {
        (n / 1e6, "M")
    } else if a >= 1e3 {
        (n / 1e3, "K")
    } else {
        return if n.fract() == 0.0 || a >= 100.0 {
            format!("{n:.0}")
        } else if a >= 10.0 {
            format!("{n:.1}")
        } else if a >= 0.01 {
            format!("{n:.2}")
        } else {
            // Two significant digits, so that a slow rate does not read as zero.
            let digits = (-a.log10().floor()) as usize + 1;
            format!("{n:.digits$}")
        };
    };
    if v.abs() >= 100.0 {
        format!("{v:.0}{suffix}")
    } else {
        format!("{v:.1}{suffix}")
    }
}

/// A whole number with thousands separators: `1,234,567`.
pub fn integer(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate per second: `1.2K/s`, `0.35/s`.
pub fn per_second(n: f64) -> String {
    format!("{}/s", count(n))
}

/// A latency percentile: [`millis`], marked `≈` when it comes from the latency
/// sketch (within 1 % of the exact figure) rather than from every call.
pub fn percentile(ms: f64, approximate: bool) -> String {
    if approximate {
        format!("≈{}", millis(ms))
    } else {
        millis(ms)
    }
}

/// A duration in milliseconds: `0.8 ms`, `245 ms`, `1.25 s`, `2.5 min`.
pub fn millis(ms: f64) -> String {
    if !ms.is_finite() {
        return "—".into();
    }
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms < 3_600_000.0 {
        format!("{:.1} min", ms / 60_000.0)
    } else {
        format!("{:.1} h", ms / 3_600_000.0)
    }
}

/// US dollars with cents, more digits for amounts under a cent: `$12.45`, `$0.0031`.
pub fn usd(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "$0.00".into()
    } else if a < 0.0001 {
        "<$0.0001".into()
    } else if a < 0.01 {
        format!("${v:.4}")
    } else if a >= 10_000.0 {
        format!("${}", count(v))
    } else {
        format!("${v:.2}")
    }
}

/// A share 0..=1 as a percentage: `0.4%`, `12%`.
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p == 0.0 {
        "0%".into()
    } else if p.abs() < 10.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// A relative change: `+12%`, `−3.4%`, or `new` when there was nothing before.
pub fn change(now: f64, before: f64) -> Option<String> {
    if !now.is_finite() || !before.is_finite() {
        return None;
    }
    if before == 0.0 {
        return (now != 0.0).then(|| "new".to_string());
    }
    let rel = (now - before) / before;
    let sign = if rel >= 0.0 { "+" } else { "−" };
    Some(format!("{sign}{}", percent(rel.abs())))
}

/// A span of time in words for captions: `15 min`, `6 h`, `7 d`.
pub fn span_ns(ns: i64) -> String {
    let s = ns as f64 / 1e9;
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.0} h", s / 3600.0)
    } else {
        format!("{:.0} d", s / 86_400.0)
    }
}

/// A Unix-nanosecond time in local time, `2026-11-27 14:05:09`.
pub fn local_time(ns: i64) -> String {
    use chrono::TimeZone;
    chrono::Local
        .timestamp_nanos(ns)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A figure of the anomaly list in its unit (counts whole, cost in USD, latency in ms).
pub fn anomaly_value(metric: store::anomaly::Metric, v: f64) -> String {
    use store::anomaly::Metric;
    match metric {
        Metric::Calls | Metric::Errors => format!("{v:.0}"),
        Metric::Cost => usd(v),
        Metric::P95Latency => millis(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_rates_read_like_dashboards() {
        assert_eq!(count(0.0), "0");
        assert_eq!(count(999.0), "999");
        assert_eq!(count(1234.0), "1.2K");
        assert_eq!(count(3_400_000.0), "3.4M");
        assert_eq!(count(0.35), "0.35");
        assert_eq!(count(0.00097), "0.00097");
        assert_eq!(count(0.012), "0.01");
        assert_eq!(per_second(1234.0), "1.2K/s");
        assert_eq!(integer(1_234_567), "1,234,567");
        assert_eq!(integer(12), "12");
    }

    #[test]
    fn durations_pick_their_unit() {
        assert_eq!(millis(0.5), "0.50 ms");
        assert_eq!(millis(245.4), "245 ms");
        assert_eq!(millis(1250.0), "1.25 s");
        assert_eq!(millis(150_000.0), "2.5 min");
        assert_eq!(millis(f64::NAN), "—");
    }

    #[test]
    fn money_and_shares() {
        assert_eq!(usd(12.449), "$12.45");
        assert_eq!(usd(0.0031), "$0.0031");
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(usd(0.00003), "<$0.0001");
        assert_eq!(percent(0.004), "0.4%");
        assert_eq!(percent(0.123), "12%");
        assert_eq!(change(112.0, 100.0).as_deref(), Some("+12%"));
        assert_eq!(change(96.6, 100.0).as_deref(), Some("−3.4%"));
        assert_eq!(change(5.0, 0.0).as_deref(), Some("new"));
        assert_eq!(change(0.0, 0.0), None);
        assert_eq!(span_ns(15 * 60_000_000_000), "15 min");
    }
}
