//! Measuring the window itself: frame times while repainting continuously, the time from
//! launch to the first frame showing data (`--bench-frames`), and saving a screenshot
//! once the Overview has its data (`--screenshot`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Frame timing for `--bench-frames N`.
pub struct FrameBench {
    target: usize,
    /// What draws the frames (the wgpu adapter and backend).
    renderer: String,
    last: Option<Instant>,
    intervals_ms: Vec<f64>,
    ui_ms: Vec<f64>,
    /// Launch to the first frame that showed data.
    pub first_data: Option<Duration>,
}

impl FrameBench {
    /// Measures `frames` frames after the first one with data, noting the adapter
    /// wgpu draws them with (`cc`'s): a figure from a software rasterizer (llvmpipe)
    /// and one from a GPU differ a hundredfold.
    pub fn new(frames: u32, cc: &eframe::CreationContext<'_>) -> Self {
        let renderer = cc.wgpu_render_state.as_ref().map_or_else(
            || "not wgpu".to_string(),
            |rs| {
                let info = rs.adapter.get_info();
                format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
            },
        );
        FrameBench {
            target: frames as usize,
            renderer,
            last: None,
            intervals_ms: Vec::new(),
            ui_ms: Vec::new(),
            first_data: None,
        }
    }

    /// Records one frame that began at `start` and spent `ui` building the UI. Frames
    /// before data is shown are not counted. Returns true when enough frames are in.
    pub fn frame(&mut self, start: Instant, ui: Duration, has_data: bool) -> bool {
        if !has_data {
            return false;
        }
        if let Some(last) = self.last {
            self.intervals_ms
                .push(start.duration_since(last).as_secs_f64() * 1e3);
            self.ui_ms.push(ui.as_secs_f64() * 1e3);
        }
        self.last = Some(start);
        self.intervals_ms.len() >= self.target
    }

    /// The figures, one per line.
    pub fn report(&self) -> String {
        let pct = |v: &[f64], q: f64| {
            let mut s = v.to_vec();
            s.sort_by(f64::total_cmp);
            s.get(((s.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        format!(
            "renderer: {}\n\
             frames measured: {}\n\
             frame time (start to start) ms: p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}\n\
             UI build time ms:               p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}\n\
             launch to first frame with data: {} ms",
            self.renderer,
            self.intervals_ms.len(),
            pct(&self.intervals_ms, 0.5),
            pct(&self.intervals_ms, 0.95),
            pct(&self.intervals_ms, 0.99),
            pct(&self.intervals_ms, 1.0),
            pct(&self.ui_ms, 0.5),
            pct(&self.ui_ms, 0.95),
            pct(&self.ui_ms, 0.99),
            pct(&self.ui_ms, 1.0),
            self.first_data
                .map_or("—".into(), |d| d.as_millis().to_string()),
        )
    }
}

/// A screenshot to take once the data is in and a delay has passed.
pub struct ScreenshotPlan {
    path: PathBuf,
    after: Duration,
    requested: bool,
    done: Arc<AtomicBool>,
    error: Arc<Mutex<Option<String>>>,
}

impl ScreenshotPlan {
    /// Saves to `path` no sooner than `after` from launch.
    pub fn new(path: PathBuf, after: Duration) -> Self {
        ScreenshotPlan {
            path,
            after,
            requested: false,
            done: Arc::new(AtomicBool::new(false)),
            error: Arc::new(Mutex::new(None)),
        }
    }

    /// Asks for the screenshot when `ready` and late enough; returns the outcome once it
    /// was saved (the window should then close).
    pub fn poll(
        &mut self,
        ctx: &egui::Context,
        launched: Instant,
        ready: bool,
    ) -> Option<Result<PathBuf, String>> {
        if self.done.load(Ordering::Acquire) {
            return Some(match self.error.lock().expect("error lock").take() {
                Some(e) => Err(e),
                None => Ok(self.path.clone()),
            });
        }
        if !self.requested && ready && launched.elapsed() >= self.after {
            self.requested = true;
            let (path, done, error, repaint) = (
                self.path.clone(),
                self.done.clone(),
                self.error.clone(),
                ctx.clone(),
            );
            ctx.request_screenshot(move |image| {
                if let Err(e) = save_png(&path, &image) {
                    *error.lock().expect("error lock") = Some(e);
                }
                done.store(true, Ordering::Release);
                repaint.request_repaint();
            });
        }
        ctx.request_repaint_after(Duration::from_millis(200));
        None
    }
}

/// Writes an egui image as PNG.
pub fn save_png(path: &std::path::Path, image: &egui::ColorImage) -> Result<(), String> {
    let [w, h] = image.size;
    let rgba: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
    let buffer = image::RgbaImage::from_raw(w as u32, h as u32, rgba)
        .ok_or("the screenshot has the wrong size")?;
    let mut png = std::io::Cursor::new(Vec::new());
    buffer
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| format!("cannot encode the screenshot: {e}"))?;
    store::write_file(path, png.get_ref(), store::Replace::Allowed).map_err(|e| e.to_string())
}
