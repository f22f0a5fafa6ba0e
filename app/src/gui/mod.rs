//! The desktop window (eframe + egui, wgpu renderer). `llm-observatory` with no
//! subcommand lands here.

mod alert_banner;
pub mod annotation_form;
mod app;
mod bench;
mod cache;
pub mod export;
pub mod feedback;
mod filter_bar;
pub mod filter_state;
pub mod getting_started;
mod import_job;
mod live_meter;
pub mod opening_view;
mod paged_rows;
pub mod palette;
mod queries;
mod session;
pub mod single_instance;
mod span_panel;
mod time_axis;
mod tool_steps;
pub mod views;
mod wake;
pub mod widgets;

pub use app::{AlertSetup, ObservatoryApp, StartOptions};

/// The app icon (rendered from `assets/icons/llm-observatory.svg`).
const WINDOW_ICON: &[u8] = include_bytes!("../../../assets/icons/llm-observatory-256.png");

/// The smallest window the layout is made for, in points.
pub const MIN_WINDOW_SIZE: [f32; 2] = [900.0, 560.0];

/// Opens the window with `start`, `size` points large, and runs until it is closed;
/// returns what the app says when it closes (benchmark figures, the screenshot's path).
pub fn show(mut start: StartOptions, size: [f32; 2]) -> anyhow::Result<Option<String>> {
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
        .with_inner_size(size)
        .with_min_inner_size(MIN_WINDOW_SIZE)
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
            let background = Background::take_from_panels(&cc.egui_ctx);
            Ok(Box::new(ExitReporter {
                app: ObservatoryApp::new(cc, start),
                background,
                out,
            }))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))?;
    Ok(message.lock().expect("message lock").take())
}

/// Passes the app's closing message (benchmark figures) out of the event loop, and
/// clears the window to the panels' colour.
struct ExitReporter {
    app: ObservatoryApp,
    background: Background,
    out: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

/// The panels' fill of each theme, painted by clearing the window instead of by the
/// panels. Clearing is free; a software renderer (llvmpipe) spends ~50 ms of a
/// 1440×900 frame filling each full-window layer, and the central panel was one.
struct Background {
    dark: egui::Color32,
    light: egui::Color32,
}

impl Background {
    /// Remembers the panels' fills and makes the panels transparent.
    fn take_from_panels(ctx: &egui::Context) -> Self {
        let background = Self {
            dark: ctx.style_of(egui::Theme::Dark).visuals.panel_fill,
            light: ctx.style_of(egui::Theme::Light).visuals.panel_fill,
        };
        ctx.all_styles_mut(|s| s.visuals.panel_fill = egui::Color32::TRANSPARENT);
        background
    }
}

impl eframe::App for ExitReporter {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        self.app.ui(ui, frame);
        if let Some(m) = self.app.exit_message() {
            *self.out.lock().expect("message lock") = Some(m.to_string());
        }
    }

    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        let fill = if visuals.dark_mode {
            self.background.dark
        } else {
            self.background.light
        };
        fill.to_normalized_gamma_f32()
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.app.save(storage);
    }

    fn on_exit(&mut self) {
        self.app.on_exit();
    }
}
