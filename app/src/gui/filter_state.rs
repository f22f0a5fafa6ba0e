//! What the filter bar selects, kept across restarts, and how it turns into the store's
//! [`Filter`] for a given moment: relative ranges slide with the clock while "follow
//! live" is on and stand still when it is off.

use serde::{Deserialize, Serialize};
use store::{Bound, Cmp, Filter, StatusFilter};

/// The time ranges offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum RangePreset {
    /// The last 5 minutes.
    Min5,
    /// The last 15 minutes.
    Min15,
    /// The last hour.
    Hour1,
    /// The last 6 hours.
    Hour6,
    /// The last 24 hours.
    #[default]
    Hour24,
    /// The last 7 days.
    Day7,
    /// Everything stored.
    All,
    /// From–to as typed.
    Custom,
}

impl RangePreset {
    /// Every preset, in menu order.
    pub const ALL: [RangePreset; 8] = [
        RangePreset::Min5,
        RangePreset::Min15,
        RangePreset::Hour1,
        RangePreset::Hour6,
        RangePreset::Hour24,
        RangePreset::Day7,
        RangePreset::All,
        RangePreset::Custom,
    ];

    /// Short label for the selector.
    pub fn label(self) -> &'static str {
        match self {
            RangePreset::Min5 => "5m",
            RangePreset::Min15 => "15m",
            RangePreset::Hour1 => "1h",
            RangePreset::Hour6 => "6h",
            RangePreset::Hour24 => "24h",
            RangePreset::Day7 => "7d",
            RangePreset::All => "All",
            RangePreset::Custom => "Custom",
        }
    }

    /// Length of a relative range in nanoseconds.
    pub fn length_ns(self) -> Option<i64> {
        const MIN: i64 = 60_000_000_000;
        Some(match self {
            RangePreset::Min5 => 5 * MIN,
            RangePreset::Min15 => 15 * MIN,
            RangePreset::Hour1 => 60 * MIN,
            RangePreset::Hour6 => 360 * MIN,
            RangePreset::Hour24 => 1440 * MIN,
            RangePreset::Day7 => 7 * 1440 * MIN,
            RangePreset::All | RangePreset::Custom => return None,
        })
    }
}

/// Outcome choices, stored by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum StatusChoice {
    /// Every call.
    #[default]
    All,
    /// Calls that succeeded.
    Ok,
    /// Calls that failed.
    Error,
}

/// The filter bar's state, saved with the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FilterState {
    /// Time range.
    pub range: RangePreset,
    /// Custom range start as typed (local time).
    pub custom_from: String,
    /// Custom range end as typed (local time); empty means now.
    pub custom_to: String,
    /// Relative ranges end at "now" and move with it.
    pub follow_live: bool,
    /// Where a relative range ends while not following live (Unix ns).
    pub paused_at_ns: Option<i64>,
    /// Model globs, any of which may match.
    pub models: Vec<String>,
    /// Outcome.
    pub status: StatusChoice,
    /// Service, empty for all.
    pub service: String,
    /// Words that must appear in the prompt or response.
    pub text: String,
    /// A latency band in ms (over `from`, up to `to` inclusive, as the heatmap's bands
    /// are; from 0 inclusive) set by drilling down from the heatmap or an alert.
    pub latency_ms: Option<(f64, Option<f64>)>,
    /// An error type set by drilling down from the top errors.
    pub error_type: Option<String>,
    /// An end user chosen in the Users table: every view shows that user's calls.
    pub user: Option<String>,
}

impl Default for FilterState {
    fn default() -> Self {
        FilterState {
            range: RangePreset::Hour24,
            custom_from: String::new(),
            custom_to: String::new(),
            follow_live: true,
            paused_at_ns: None,
            models: Vec::new(),
            status: StatusChoice::All,
            service: String::new(),
            text: String::new(),
            latency_ms: None,
            error_type: None,
            user: None,
        }
    }
}

/// A filter state made concrete at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// What every panel queries.
    pub filter: Filter,
    /// The time window shown, when it is known without asking the data (not "All").
    pub window: Option<(i64, i64)>,
    /// The same filter over the period of equal length just before, for changes.
    pub previous: Option<Filter>,
}

/// The step by which a range of `len` ns ending now moves: the longest of a fixed
/// ladder (so that it stays put while an open-ended custom range grows) within 1/300 of
/// its length, at least a second: 5 minutes move every second, 1 hour every 10 s,
/// 24 hours every 4 minutes.
fn live_step(len: i64) -> i64 {
    const LADDER_S: [i64; 11] = [1, 2, 5, 10, 15, 30, 60, 120, 240, 600, 1800];
    let s = LADDER_S
        .iter()
        .rev()
        .find(|s| **s * 1_000_000_000 <= len / 300)
        .unwrap_or(&1);
    s * 1_000_000_000
}

/// The end of a range of `len` ns that follows the clock, at `now_ns`: the next step.
fn live_end(len: i64, now_ns: i64) -> i64 {
    let step = live_step(len);
    (now_ns / step + 1) * step
}

impl FilterState {
    /// How long until the range resolved at `now_ns` moves on with the clock (the frame
    /// loop wakes then, and not before, when nothing else happens); `None` when it is
    /// fixed.
    pub fn next_move_in(&self, now_ns: i64) -> Option<std::time::Duration> {
        let len = match self.range {
            RangePreset::All => return None,
            RangePreset::Custom => {
                if !self.custom_to.trim().is_empty() {
                    return None;
                }
                now_ns - parse_local(&self.custom_from).ok()?
            }
            _ if !self.follow_live => return None,
            preset => preset.length_ns()?,
        };
        let wait = live_end(len, now_ns) - now_ns;
        Some(std::time::Duration::from_nanos(wait.max(1) as u64))
    }

    /// The filter for the moment `now_ns`. Ranges that follow the clock end at the next
    /// step of [`live_step`] after `now_ns`, so that a query repeats at most that often
    /// as time passes. A custom range that does not parse is an error
    /// to show.
    pub fn resolve(&self, now_ns: i64) -> Result<Resolved, String> {
        let mut filter = Filter {
            models: self.models.clone(),
            services: if self.service.trim().is_empty() {
                Vec::new()
            } else {
                vec![self.service.trim().to_string()]
            },
            status: match self.status {
                StatusChoice::All => StatusFilter::All,
                StatusChoice::Ok => StatusFilter::Ok,
                StatusChoice::Error => StatusFilter::Error,
            },
            text: self.text.split_whitespace().map(str::to_string).collect(),
            latency_ms: self
                .latency_ms
                .map(|(from, to)| {
                    let mut b = vec![Bound {
                        cmp: if from <= 0.0 { Cmp::Ge } else { Cmp::Gt },
                        value: from,
                    }];
                    b.extend(to.map(|value| Bound {
                        cmp: Cmp::Le,
                        value,
                    }));
                    b
                })
                .unwrap_or_default(),
            errors: self.error_type.iter().cloned().collect(),
            users: self.user.iter().cloned().collect(),
            ..Filter::default()
        };
        let window = match self.range {
            RangePreset::All => None,
            RangePreset::Custom => {
                let from = parse_local(&self.custom_from).map_err(|e| format!("From: {e}"))?;
                let to = if self.custom_to.trim().is_empty() {
                    live_end(now_ns - from, now_ns)
                } else {
                    parse_local(&self.custom_to).map_err(|e| format!("To: {e}"))?
                };
                if to <= from {
                    return Err("the custom range ends before it starts".into());
                }
                Some((from, to))
            }
            preset => {
                let len = preset.length_ns().expect("relative preset");
                let end = if self.follow_live {
                    live_end(len, now_ns)
                } else {
                    self.paused_at_ns.unwrap_or(now_ns)
                };
                Some((end - len, end))
            }
        };
        filter
            .validate()
            .map_err(|e| e.to_string().replace("invalid filter: ", ""))?;
        let previous = window.map(|(from, to)| Filter {
            from_ns: Some(from - (to - from)),
            to_ns: Some(from),
            ..filter.clone()
        });
        if let Some((from, to)) = window {
            filter.from_ns = Some(from);
            filter.to_ns = Some(to);
        }
        Ok(Resolved {
            filter,
            window,
            previous,
        })
    }
}

/// A local date and time as people type it: `2026-11-27 14:05`, `2026-11-27 14:05:09`,
/// `2026-11-27`, or RFC 3339 with an offset.
pub fn parse_local(text: &str) -> Result<i64, String> {
    use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone};
    let t = text.trim();
    if t.is_empty() {
        return Err("empty; type a time like 2026-11-27 14:05".into());
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return d.timestamp_nanos_opt().ok_or("out of range".into());
    }
    let naive = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })
    .ok_or_else(|| format!("{t:?} is not a time like 2026-11-27 14:05"))?;
    Local
        .from_local_datetime(&naive)
        .earliest()
        .and_then(|d| d.timestamp_nanos_opt())
        .ok_or_else(|| format!("{t:?} does not exist in the local time zone"))
}

/// A bucket width giving about `target` buckets over `len_ns`, on a round step.
pub fn bucket_ns(len_ns: i64, target: i64) -> i64 {
    const S: i64 = 1_000_000_000;
    const STEPS: [i64; 16] = [
        S,
        5 * S,
        10 * S,
        30 * S,
        60 * S,
        2 * 60 * S,
        5 * 60 * S,
        10 * 60 * S,
        15 * 60 * S,
        30 * 60 * S,
        3600 * S,
        3 * 3600 * S,
        6 * 3600 * S,
        12 * 3600 * S,
        86_400 * S,
        7 * 86_400 * S,
    ];
    let ideal = len_ns / target.max(1);
    STEPS
        .iter()
        .copied()
        .find(|s| *s >= ideal)
        .unwrap_or(STEPS[STEPS.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A range that follows the clock wakes the window when its end next moves, and
    /// its window does not change before; a fixed range never wakes it.
    #[test]
    fn a_live_range_moves_in_steps_and_says_when() {
        let now = 1_800_000_000_123_456_789;
        let mut f = FilterState {
            range: RangePreset::Hour24,
            ..FilterState::default()
        };
        let wait = f.next_move_in(now).unwrap();
        assert!(wait <= Duration::from_secs(240) && wait > Duration::ZERO);
        let window = |f: &FilterState, t: i64| f.resolve(t).unwrap().window;
        let just_before = now + wait.as_nanos() as i64 - 1;
        assert_eq!(window(&f, now), window(&f, just_before));
        assert_ne!(window(&f, now), window(&f, just_before + 1));
        f.range = RangePreset::All;
        assert_eq!(f.next_move_in(now), None);
        f.range = RangePreset::Custom;
        f.custom_from = "2027-01-15 08:00:00".into();
        f.custom_to = String::new();
        let from = parse_local(&f.custom_from).unwrap();
        let later = from + 3 * 3_600_000_000_000 + 7_000_000_000;
        let wait = f.next_move_in(later).unwrap();
        assert!(wait <= Duration::from_secs(30), "{wait:?}");
        assert_eq!(
            window(&f, later),
            window(&f, later + wait.as_nanos() as i64 - 1)
        );
        f.custom_to = "2027-01-15 09:00:00".into();
        assert_eq!(f.next_move_in(later), None);
    }

    const NOW: i64 = 1_800_000_000_000_000_000;

    #[test]
    fn a_relative_range_ends_now_and_steps_in_seconds() {
        let s = FilterState {
            range: RangePreset::Min15,
            ..FilterState::default()
        };
        let r = s.resolve(NOW).unwrap();
        let (from, to) = r.window.unwrap();
        assert_eq!(to - from, 15 * 60_000_000_000);
        assert!(to >= NOW && to - NOW <= 3_000_000_000);
        assert_eq!(
            s.resolve(NOW + 1).unwrap(),
            r,
            "within a step nothing moves"
        );
        let prev = r.previous.unwrap();
        assert_eq!(prev.to_ns, Some(from));
        assert_eq!(prev.from_ns, Some(from - (to - from)));
    }

    #[test]
    fn a_paused_range_stands_still() {
        let s = FilterState {
            range: RangePreset::Hour1,
            follow_live: false,
            paused_at_ns: Some(NOW),
            ..FilterState::default()
        };
        assert_eq!(
            s.resolve(NOW + 10 * 60_000_000_000).unwrap().window,
            Some((NOW - 3_600_000_000_000, NOW))
        );
    }

    #[test]
    fn all_has_no_window_and_custom_errors_are_specific() {
        let all = FilterState {
            range: RangePreset::All,
            ..FilterState::default()
        };
        let r = all.resolve(NOW).unwrap();
        assert_eq!(
            (r.filter.from_ns, r.filter.to_ns, r.previous),
            (None, None, None)
        );
        let bad = FilterState {
            range: RangePreset::Custom,
            custom_from: "yesterday-ish".into(),
            ..FilterState::default()
        };
        assert!(bad.resolve(NOW).unwrap_err().starts_with("From:"));
        let glob = FilterState {
            models: vec!["gpt-[".into()],
            ..FilterState::default()
        };
        assert!(glob.resolve(NOW).unwrap_err().contains("gpt-["));
    }

    #[test]
    fn filters_carry_models_status_service_and_text() {
        let s = FilterState {
            models: vec!["gpt-*".into()],
            status: StatusChoice::Error,
            service: " checkout ".into(),
            text: "  refund ".into(),
            ..FilterState::default()
        };
        let f = s.resolve(NOW).unwrap().filter;
        assert_eq!(f.models, vec!["gpt-*"]);
        assert_eq!(f.status, StatusFilter::Error);
        assert_eq!(f.services, vec!["checkout"]);
        assert_eq!(f.text, vec!["refund"]);
    }

    #[test]
    fn local_times_parse_in_common_forms() {
        assert!(parse_local("2026-11-27 14:05").is_ok());
        assert!(parse_local("2026-11-27").is_ok());
        assert_eq!(
            parse_local("2026-11-27T14:05:00Z").unwrap(),
            1_795_788_300_000_000_000
        );
        assert!(parse_local("27/11/2026").is_err());
    }

    #[test]
    fn buckets_are_round_and_near_the_target_count() {
        assert_eq!(bucket_ns(3_600_000_000_000, 60), 60_000_000_000);
        assert_eq!(bucket_ns(300_000_000_000, 60), 5_000_000_000);
        assert_eq!(bucket_ns(7 * 86_400_000_000_000, 60), 3 * 3_600_000_000_000);
    }
}
