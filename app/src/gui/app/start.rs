//! How the window starts: the options the command line gives it.

use super::super::session::OpenRequest;
use super::Opening;
use crate::alerts::Rules;
use crate::scrape::ScrapeOptions;
use ingest::receive::ReceiverConfig;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use store::PriceTable;

/// How the window starts.
pub struct StartOptions {
    /// The database to open.
    pub database: PathBuf,
    /// Fill it with demo traffic when new.
    pub demo: bool,
    /// With a demo database (this one, or one opened later from the first-run panel):
    /// keep a gentle synthetic stream arriving while it is open (`--demo` without
    /// `--no-live`).
    pub demo_live: bool,
    /// Where to listen for OTLP; `None` to receive nothing.
    pub listen: Option<ReceiverConfig>,
    /// How the receivers answer `GET /metrics`; `None`: not at all.
    pub scrape: Option<ScrapeOptions>,
    /// Prices in force.
    pub prices: PriceTable,
    /// Where prices set in the price editor are saved (`--prices`, else the user's
    /// config file); `None` keeps them for this run only.
    pub price_file: Option<PathBuf>,
    /// Alert rules to evaluate; `None` turns alerts off.
    pub alerts: Option<AlertSetup>,
    /// Things to tell the user as the window opens (a rules file that does not parse).
    pub notices: Vec<String>,
    /// `--bench-frames`.
    pub bench_frames: Option<u32>,
    /// `--screenshot` and its delay.
    pub screenshot: Option<(PathBuf, Duration)>,
    /// When the process started.
    pub launched: Instant,
    /// The database already being opened ([`StartOptions::open_early`]).
    pub opening: Option<Opening>,
    /// Where to announce this window, so that later launches hand it their database
    /// ([`crate::gui::single_instance`]); `None` for windows that must stay apart
    /// (benchmarks, screenshots, tests).
    pub single_instance: Option<PathBuf>,
}

impl StartOptions {
    /// Starts opening the database now, before the window exists, so that data is
    /// ready sooner after launch (creating a window on a software renderer takes a
    /// quarter of a second).
    pub fn open_early(&mut self) {
        self.opening = Some(Opening::start(
            self.request(self.database.clone(), self.demo),
            None,
        ));
    }

    pub(super) fn request(&self, path: PathBuf, demo: bool) -> OpenRequest {
        OpenRequest {
            path,
            demo,
            demo_live: demo && self.demo_live,
            listen: self.listen.clone(),
            scrape: self.scrape,
            prices: self.prices.clone(),
        }
    }
}

/// Alert rules, where they are saved, and how often they are evaluated.
pub struct AlertSetup {
    /// The rules.
    pub rules: Rules,
    /// The rules file edits are saved to; `None` keeps them for this run.
    pub file: Option<PathBuf>,
    /// Evaluation period.
    pub every: Duration,
}
