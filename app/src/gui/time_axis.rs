//! Time axes in local time: round steps (every 5 min, every 3 h, at midnight…) and tick
//! labels, shared by the window's charts and the PNG export so that both read alike.

/// Round time steps for ticks, in seconds.
const TIME_STEPS: [f64; 17] = [
    1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0,
    21600.0, 43200.0, 86400.0, 604800.0,
];

/// The round step of a time axis spanning `span_s` seconds.
pub fn time_step(span_s: f64) -> f64 {
    let span = span_s.max(1.0);
    TIME_STEPS
        .iter()
        .copied()
        .find(|s| span / s <= 8.0)
        .unwrap_or(TIME_STEPS[TIME_STEPS.len() - 1])
}

/// Round local times (Unix seconds) between `lo` and `hi` for ticks: every 5 min, every
/// 3 h, at midnight…
pub fn time_marks(lo: f64, hi: f64) -> Vec<f64> {
    let step = time_step(hi - lo);
    // Align hour-and-longer steps to local midnight, not to UTC.
    let offset = if step >= 3600.0 {
        use chrono::{Offset, TimeZone};
        chrono::Local
            .timestamp_opt(lo as i64, 0)
            .single()
            .map_or(0.0, |t| t.offset().fix().local_minus_utc() as f64)
    } else {
        0.0
    };
    let first = ((lo + offset) / step).ceil() * step - offset;
    let mut marks = Vec::new();
    let mut v = first;
    while v <= hi && marks.len() < 64 {
        marks.push(v);
        v += step;
    }
    marks
}

/// A tick label on a time axis spanning `span_s` seconds: clock time within a day,
/// date and time beyond.
pub fn time_tick(unix_s: f64, span_s: f64) -> String {
    use chrono::TimeZone;
    let t = chrono::Local.timestamp_nanos((unix_s * 1e9) as i64);
    if span_s <= 600.0 {
        t.format("%H:%M:%S").to_string()
    } else if span_s <= 36.0 * 3600.0 {
        t.format("%H:%M").to_string()
    } else {
        t.format("%b %d %H:%M").to_string()
    }
}
