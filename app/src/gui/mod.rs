//! The desktop window (eframe + egui, wgpu renderer). `llm-observatory` with no
//! subcommand lands here.

mod alert_banner;
mod alerts_view;
mod app;
mod bench;
mod cache;
mod costs_view;
mod errors_view;
pub mod export;
mod filter_bar;
pub mod filter_state;
pub mod format;
mod import_job;
mod inspector;
pub mod latency_view;
mod live_meter;
mod models_view;
mod overview;
mod paged_rows;
pub mod palette;
mod session;
mod span_class;
mod span_panel;
mod trace_view;
mod traces_view;
mod view_common;
pub mod widgets;

pub use app::{AlertSetup, ObservatoryApp, StartOptions};

use crate::cli::serve::ListenArgs;
use crate::paths;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// The app icon (rendered from `assets/icons/llm-observatory.svg`).
const WINDOW_ICON: &[u8] = include_bytes!("../../../assets/icons/llm-observatory-256.png");

/// Options of the window (the command line without a subcommand).
#[derive(Args, Debug, Clone)]
pub struct WindowArgs {
    /// Database to open [default: observatory.duckdb in the platform data directory]
    #[arg(value_name = "DATABASE")]
    database: Option<PathBuf>,
    /// Open the demo database (filled with synthetic traffic the first time, then reused)
    #[arg(long, conflicts_with = "database")]
    demo: bool,
    #[command(flatten)]
    listen: ListenArgs,
    /// Price file overriding the bundled prices (TOML, USD per million tokens)
    #[arg(long, value_name = "FILE")]
    prices: Option<PathBuf>,
    #[command(flatten)]
    alerts: crate::cli::serve::AlertArgs,
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
}

/// Opens the window and runs until it is closed.
pub fn run(args: WindowArgs, launched: Instant) -> anyhow::Result<ExitCode> {
    let listen = args.listen.optional_config()?;
    let prices = crate::cli::price_table(args.prices.as_deref())?;
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
    let mut start = StartOptions {
        database,
        demo: args.demo,
        listen,
        prices,
        price_file: args.prices.clone().or_else(paths::user_prices),
        alerts,
        notices,
        bench_frames: args.bench_frames,
        screenshot: args.screenshot.map(|p| (p, screenshot_after)),
        launched,
        opening: None,
    };
    start.open_early();
    let benchmarking = start.bench_frames.is_some();
    let mut wgpu_options = eframe::WgpuConfiguration::default();
    if benchmarking {
        // Measure how fast frames can be made, not the display's refresh rate.
        wgpu_options.surface.present_mode = eframe::wgpu::PresentMode::AutoNoVsync;
    }
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("LLM Observatory")
        .with_app_id("llm-observatory")
        .with_inner_size([1440.0, 900.0])
        .with_min_inner_size([900.0, 560.0])
        .with_drag_and_drop(true);
    match eframe::icon_data::from_png_bytes(WINDOW_ICON) {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(e) => tracing::warn!("window icon: {e}"),
    }
    let options = eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Wgpu,
        wgpu_options,
        // Dithering computes noise for every pixel; software renderers feel it.
        dithering: false,
        ..Default::default()
    };
    let message = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let out = message.clone();
    eframe::run_native(
        "llm-observatory",
        options,
        Box::new(move |cc| {
            Ok(Box::new(ExitReporter {
                app: ObservatoryApp::new(cc, start),
                out,
            }))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))?;
    if let Some(m) = message.lock().expect("message lock").take() {
        println!("{m}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Passes the app's closing message (benchmark figures) out of the event loop.
struct ExitReporter {
    app: ObservatoryApp,
    out: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl eframe::App for ExitReporter {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        self.app.ui(ui, frame);
        if let Some(m) = self.app.exit_message() {
            *self.out.lock().expect("message lock") = Some(m.to_string());
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.app.save(storage);
    }

    fn on_exit(&mut self) {
        self.app.on_exit();
    }
}
