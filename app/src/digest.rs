//! The scheduled digest: `serve --report-every 1d --report-at 08:00 --report-to DIR`
//! writes the report of each period ([`crate::report`]) into a dated file when the
//! period ends, local time, and POSTs its summary to `--report-webhook`. A machine that
//! slept through one or several ends (or a collector that was stopped) makes the latest
//! one on waking, once; the last period made is kept in the folder, so a restart
//! neither repeats nor forgets one.

use crate::report::Report;
use anyhow::{Context, bail};
use chrono::{DateTime, Local, NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;
use store::{Database, Filter, Replace};

/// A day, ns.
const DAY_NS: i64 = 86_400_000_000_000;

/// The longest the schedule sleeps between looks at the clock: a machine waking from
/// sleep (or a clock set forward) is noticed within it.
const LOOK_EVERY: Duration = Duration::from_secs(5);

/// The file in the report folder remembering the last period made.
const STATE_FILE: &str = ".llm-observatory-digest.json";

/// When digests are due: every `period`, ending at the local time of day `at` for
/// periods of whole days (weekly ones on Mondays), on the period's multiples of the
/// Unix epoch otherwise (every hour on the hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    period_ns: i64,
    at: NaiveTime,
}

impl Schedule {
    /// The schedule `--report-every EVERY [--report-at HH:MM]` names, or why not.
    pub fn new(every: &str, at: Option<&str>) -> anyhow::Result<Schedule> {
        let period_ns = crate::timearg::duration_ns(every).context("--report-every")?;
        if period_ns < 60_000_000_000 {
            bail!("--report-every {every}: at least a minute (1h, 1d, 7d)");
        }
        let whole_days = period_ns % DAY_NS == 0;
        let at = match at {
            None => NaiveTime::MIN,
            Some(_) if !whole_days => {
                bail!(
                    "--report-at sets the time of day of daily or weekly digests; --report-every {every} is not whole days"
                )
            }
            Some(text) => NaiveTime::parse_from_str(text, "%H:%M")
                .with_context(|| format!("--report-at {text:?}: give a local time like 08:00"))?,
        };
        Ok(Schedule { period_ns, at })
    }

    /// How long a period is, ns.
    pub fn period_ns(&self) -> i64 {
        self.period_ns
    }

    /// The last time a digest was due at or before `now` in the time zone `tz` (Unix ns).
    pub fn latest_due<Tz: TimeZone>(&self, tz: &Tz, now_ns: i64) -> i64 {
        if self.period_ns % DAY_NS != 0 {
            return now_ns.div_euclid(self.period_ns) * self.period_ns;
        }
        let days = self.period_ns / DAY_NS;
        let now = tz.timestamp_nanos(now_ns);
        let mut date = now.date_naive();
        loop {
            // Weekly and longer digests end on days counted from a Monday (1970-01-05).
            let index =
                (date - chrono::NaiveDate::from_ymd_opt(1970, 1, 5).expect("a date")).num_days();
            if index.rem_euclid(days) == 0
                && let Some(due) = tz.from_local_datetime(&date.and_time(self.at)).earliest()
            {
                let due_ns = due.timestamp_nanos_opt().unwrap_or(i64::MIN);
                if due_ns <= now_ns {
                    return due_ns;
                }
            }
            date = date.pred_opt().expect("a date after year 0");
        }
    }
}

/// Where the digests go.
#[derive(Debug, Clone)]
pub struct DigestPlan {
    /// When.
    pub schedule: Schedule,
    /// The folder of the dated files; `None`: the webhook alone.
    pub dir: Option<PathBuf>,
    /// The files' format.
    pub format: crate::report::Format,
    /// Where the summary is POSTed.
    pub webhook: Option<String>,
}

/// What the schedule remembers between runs.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// The end of the last period made, Unix ns.
    last_due_ns: Option<i64>,
}

/// The decision at one look at the clock: which period to make now, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Turn {
    /// The last period already made (or passed over at the first start), Unix ns.
    pub last_due_ns: i64,
}

impl Turn {
    /// The end of the period to make at `now_ns`, if one is due: only the latest, however
    /// many ended since the last (a machine asleep for three days makes one digest).
    pub fn due<Tz: TimeZone>(&mut self, schedule: &Schedule, tz: &Tz, now_ns: i64) -> Option<i64> {
        let due = schedule.latest_due(tz, now_ns);
        (due > self.last_due_ns).then(|| {
            self.last_due_ns = due;
            due
        })
    }
}

/// The running schedule; dropping it stops it.
pub struct Digest {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Digest {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Digest {
    /// Starts the schedule over `db`; `said` hears of each digest made (or failed).
    pub fn start(
        db: Arc<dyn Database>,
        plan: DigestPlan,
        said: impl Fn(String) + Send + 'static,
    ) -> anyhow::Result<Digest> {
        if let Some(dir) = &plan.dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("--report-to {}: cannot create it", dir.display()))?;
        }
        let state = plan.dir.as_deref().map(load).unwrap_or_default();
        let now = crate::timearg::now_ns();
        // At the first start the period under way is the first made.
        let mut turn = Turn {
            last_due_ns: state
                .last_due_ns
                .unwrap_or_else(|| plan.schedule.latest_due(&Local, now)),
        };
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("digest".into())
            .spawn(move || {
                loop {
                    let now = crate::timearg::now_ns();
                    if let Some(due) = turn.due(&plan.schedule, &Local, now) {
                        said(match make(db.as_ref(), &plan, due) {
                            Ok(line) => line,
                            Err(e) => format!("digest of the period ending {}: {e:#}", local(due)),
                        });
                        if let Some(dir) = &plan.dir {
                            save(dir, due);
                        }
                    }
                    let next = turn.last_due_ns + plan.schedule.period_ns();
                    let wait = Duration::from_nanos((next - now).clamp(1, i64::MAX) as u64);
                    match rx.recv_timeout(wait.min(LOOK_EVERY)) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                }
            })
            .context("cannot start the digest thread")?;
        Ok(Digest {
            stop: Some(tx),
            thread: Some(thread),
        })
    }
}

/// Makes the digest of the period ending at `due`; returns the line to print.
fn make(db: &dyn Database, plan: &DigestPlan, due: i64) -> anyhow::Result<String> {
    let filter = Filter {
        from_ns: Some(due - plan.schedule.period_ns()),
        to_ns: Some(due),
        ..Filter::default()
    };
    let mut reader = db.reader()?;
    let report = Report::gather(reader.as_mut(), &filter, db.describe())?;
    let path = match &plan.dir {
        Some(dir) => {
            let path = dir.join(format!(
                "{}.{}",
                file_stem(plan.schedule, due),
                plan.format.extension()
            ));
            report.write(&path, plan.format, Replace::Allowed)?;
            Some(path)
        }
        None => None,
    };
    if let Some(url) = &plan.webhook {
        let body = webhook_body(&report, &filter, path.as_deref());
        crate::alerts::deliver_blocking(url, &body);
    }
    Ok(format!(
        "digest of {} to {}: {} LLM calls{}",
        local(due - plan.schedule.period_ns()),
        local(due),
        report.llm_calls(),
        path.map(|p| format!(", wrote {}", p.display()))
            .unwrap_or_default()
    ))
}

/// The file name of the digest ending at `due`: its local date, and time for periods
/// shorter than a day (`report-2026-12-07`, `report-2026-12-07T0800`).
fn file_stem(schedule: Schedule, due: i64) -> String {
    let at = Local.timestamp_nanos(due);
    if schedule.period_ns() % DAY_NS == 0 {
        format!("report-{}", at.format("%Y-%m-%d"))
    } else {
        format!("report-{}", at.format("%Y-%m-%dT%H%M"))
    }
}

/// The webhook's JSON: `text` for chat tools, the period, the file, and the figures
/// (`stats --json`'s object).
fn webhook_body(report: &Report, filter: &Filter, path: Option<&Path>) -> serde_json::Value {
    let f = report.figures();
    serde_json::json!({
        "text": format!(
            "LLM Observatory digest {} to {}: {} LLM calls, {} errors, ${:.2}",
            local(filter.from_ns.unwrap_or_default()),
            local(filter.to_ns.unwrap_or_default()),
            f["llm_calls"],
            f["errors"],
            f["cost_usd"].as_f64().unwrap_or_default()
        ),
        "source": "llm-observatory",
        "kind": "digest",
        "from": filter.from_ns.map(crate::timearg::rfc3339),
        "to": filter.to_ns.map(crate::timearg::rfc3339),
        "path": path.map(|p| p.display().to_string()),
        "summary": f,
    })
}

fn local(ns: i64) -> String {
    let t: DateTime<Local> = Local.timestamp_nanos(ns);
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn load(dir: &Path) -> State {
    std::fs::read_to_string(dir.join(STATE_FILE))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn save(dir: &Path, due: i64) {
    let state = State {
        last_due_ns: Some(due),
    };
    let text = serde_json::to_string(&state).expect("state serializes");
    if let Err(e) = store::write_file(&dir.join(STATE_FILE), text.as_bytes(), Replace::Allowed) {
        tracing::warn!("digest: cannot remember the last period made: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, Utc};

    fn at(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap()
    }

    #[test]
    fn daily_digests_are_due_at_the_local_time_of_day() {
        let s = Schedule::new("1d", Some("08:00")).unwrap();
        let paris = FixedOffset::east_opt(3600).unwrap();
        assert_eq!(
            s.latest_due(&paris, at("2026-12-07T07:30:00Z")),
            at("2026-12-07T07:00:00Z")
        );
        assert_eq!(
            s.latest_due(&paris, at("2026-12-07T06:59:59Z")),
            at("2026-12-06T07:00:00Z")
        );
        assert_eq!(
            s.latest_due(&Utc, at("2026-12-07T08:00:00Z")),
            at("2026-12-07T08:00:00Z")
        );
        // Weekly ones end on Mondays (2026-12-07 is one), hourly ones on the hour.
        let weekly = Schedule::new("7d", None).unwrap();
        assert_eq!(
            weekly.latest_due(&Utc, at("2026-12-13T23:00:00Z")),
            at("2026-12-07T00:00:00Z")
        );
        let hourly = Schedule::new("1h", None).unwrap();
        assert_eq!(
            hourly.latest_due(&Utc, at("2026-12-07T10:59:00Z")),
            at("2026-12-07T10:00:00Z")
        );
        assert!(Schedule::new("1h", Some("08:00")).is_err());
        assert!(Schedule::new("1d", Some("8 o'clock")).is_err());
        assert!(Schedule::new("10s", None).is_err());
    }

    #[test]
    fn each_period_is_made_once_and_a_long_sleep_makes_only_the_latest() {
        let s = Schedule::new("1d", Some("08:00")).unwrap();
        let mut turn = Turn {
            last_due_ns: s.latest_due(&Utc, at("2026-12-07T07:59:50Z")),
        };
        assert_eq!(turn.due(&s, &Utc, at("2026-12-07T07:59:55Z")), None);
        assert_eq!(
            turn.due(&s, &Utc, at("2026-12-07T08:00:01Z")),
            Some(at("2026-12-07T08:00:00Z"))
        );
        assert_eq!(turn.due(&s, &Utc, at("2026-12-07T08:00:06Z")), None);
        assert_eq!(turn.due(&s, &Utc, at("2026-12-08T07:59:59Z")), None);
        // Asleep from the 8th to the 11th, 09:00: the 11th's digest, once.
        assert_eq!(
            turn.due(&s, &Utc, at("2026-12-11T09:00:00Z")),
            Some(at("2026-12-11T08:00:00Z"))
        );
        assert_eq!(turn.due(&s, &Utc, at("2026-12-11T09:00:05Z")), None);
    }
}
