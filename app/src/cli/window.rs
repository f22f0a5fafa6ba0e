//! The window's command line (no subcommand): which database, where to listen, prices,
//! alerts, and the benchmark and screenshot options; it starts the window.

use super::serve::{AlertArgs, ListenArgs};
use crate::gui::single_instance::HandOff;
use crate::gui::{AlertSetup, StartOptions};
use crate::paths;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Options of the window (the command line without a subcommand).
#[derive(Args, Debug, Clone)]
pub struct WindowArgs {
    /// Database to open [default: observatory.duckdb in the platform data directory]
    #[arg(value_name = "DATABASE")]
    database: Option<PathBuf>,
    /// Open the demo database (filled with synthetic traffic the first time, then reused)
    #[arg(long, conflicts_with = "database")]
    demo: bool,
    /// With --demo: no synthetic traffic arriving while the window is open (by default
    /// a few calls a second keep the live indicator, charts and alerts moving)
    #[arg(long, requires = "demo")]
    no_live: bool,
    #[command(flatten)]
    listen: ListenArgs,
    /// Price file overriding the bundled prices (TOML, USD per million tokens)
    #[arg(long, value_name = "FILE")]
    prices: Option<PathBuf>,
    #[command(flatten)]
    alerts: AlertArgs,
    /// Benchmark: once data shows, repaint continuously for N frames, print frame-time
    /// percentiles and the time from launch to the first frame with data, and exit
    #[arg(long, value_name = "N")]
    bench_frames: Option<u32>,
    /// Save a PNG of the window once the Overview has its data, then exit
    #[arg(long, value_name = "FILE")]
    screenshot: Option<PathBuf>,
    /// With --screenshot: wait at least this long after launch (e.g. for live data)
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    screenshot_after: String,
    /// The window's first size in points, e.g. 3840x2160 for a 4K frame benchmark
    #[arg(long, value_name = "WIDTHxHEIGHT", default_value = "1440x900", value_parser = parse_window_size)]
    window_size: [f32; 2],
}

/// The largest side `--window-size` takes, in points.
const MAX_WINDOW_SIDE: f32 = 16_384.0;

/// Reads `WIDTHxHEIGHT` (points, each at least the window's smallest size).
fn parse_window_size(text: &str) -> Result<[f32; 2], String> {
    let (w, h) = text
        .split_once(['x', 'X', '×'])
        .ok_or_else(|| format!("{text:?} is not WIDTHxHEIGHT (try 1440x900)"))?;
    let side = |s: &str, what: &str, least: f32| -> Result<f32, String> {
        let v: f32 = s
            .trim()
            .parse()
            .map_err(|_| format!("the {what} {s:?} is not a number (try 1440x900)"))?;
        if !(least..=MAX_WINDOW_SIDE).contains(&v) {
            return Err(format!(
                "the {what} {v} is outside {least}–{MAX_WINDOW_SIDE}"
            ));
        }
        Ok(v)
    };
    let [min_w, min_h] = crate::gui::MIN_WINDOW_SIZE;
    Ok([side(w, "width", min_w)?, side(h, "height", min_h)?])
}

/// Opens the window and runs until it is closed.
pub fn run(args: WindowArgs, launched: Instant) -> anyhow::Result<ExitCode> {
    let listen = args.listen.optional_config()?;
    let prices = super::price_table(args.prices.as_deref())?;
    let database = match (&args.database, args.demo) {
        (_, true) => paths::demo_db(),
        (Some(p), false) => p.clone(),
        (None, false) => paths::default_db(),
    };
    let screenshot_after =
        humantime::parse_duration(&args.screenshot_after).with_context(|| {
            format!(
                "--screenshot-after {:?} is not a duration (try 5s)",
                args.screenshot_after
            )
        })?;
    // A bad rules file must not keep the window from opening (it may have been
    // double-clicked): alerts stay off and the window says why.
    let mut notices = Vec::new();
    let alerts = match args.alerts.load() {
        Ok(setup) => setup.map(|(file, rules, every)| AlertSetup { rules, file, every }),
        Err(e) => {
            notices.push(format!("Alerts are off: {e:#}"));
            None
        }
    };
    // A database opened while a window runs (double-clicked, "open with") goes to that
    // window; measuring runs and --demo keep to themselves.
    let alone = args.bench_frames.is_some() || args.screenshot.is_some() || args.demo;
    let single_instance = if alone { None } else { paths::data_dir() };
    if let Some(dir) = &single_instance {
        match crate::gui::single_instance::hand_off(dir, args.database.as_deref()) {
            Ok(HandOff::Handed) => {
                match &args.database {
                    Some(db) => println!("{} opens in the running window", db.display()),
                    None => println!("the window is already open"),
                }
                return Ok(ExitCode::SUCCESS);
            }
            Ok(HandOff::NoWindow) => {}
            Err(e) => eprintln!("warning: {e}; opening a window of its own"),
        }
    }
    let start = StartOptions {
        database,
        demo: args.demo,
        // Also a demo database opened later from the first-run panel.
        demo_live: !args.no_live,
        listen,
        scrape: args.listen.scrape_options(),
        prices,
        price_file: args.prices.clone().or_else(paths::user_prices),
        alerts,
        notices,
        bench_frames: args.bench_frames,
        screenshot: args.screenshot.map(|p| (p, screenshot_after)),
        launched,
        opening: None,
        single_instance,
    };
    if let Some(m) = crate::gui::show(start, args.window_size)? {
        println!("{m}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_window_size;

    #[test]
    fn a_window_size_reads_as_width_by_height_and_explains_what_is_wrong() {
        assert_eq!(parse_window_size("3840x2160"), Ok([3840.0, 2160.0]));
        assert_eq!(parse_window_size("1440×900"), Ok([1440.0, 900.0]));
        let missing = parse_window_size("1440").unwrap_err();
        assert!(missing.contains("not WIDTHxHEIGHT"), "{missing}");
        let word = parse_window_size("widex900").unwrap_err();
        assert!(word.contains("width \"wide\" is not a number"), "{word}");
        let small = parse_window_size("400x300").unwrap_err();
        assert!(small.contains("width 400 is outside 900–16384"), "{small}");
    }
}
