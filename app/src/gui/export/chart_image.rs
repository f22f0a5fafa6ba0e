//! Renders a [`ChartData`] as an image for exports and reports, PNG or SVG from the
//! same drawing: at twice the on-screen size, on a white background, with its title, axes with units, legend, the expected bands and
//! the points outside them, labelled markers (alerts, annotations), and a caption naming
//! the time range and filters. Drawn by plotters in software with the font the window
//! uses, so it works without a display or GPU and looks the same everywhere.

use super::chart::{
    Bar, ChartBand, ChartData, ChartKind, FILLED_BANDS, HeatGrid, Series, heat_level, viridis,
};
use crate::gui::palette;
use crate::gui::time_axis::{time_marks, time_tick};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::sync::OnceLock;

/// The size of an exported chart in logical pixels; the PNG has [`SCALE`] times as many.
pub const SIZE: (u32, u32) = (960, 480);
/// Pixels per logical pixel of an export.
pub const SCALE: u32 = 2;

const FONT: &str = "sans-serif";

/// Encodes `chart` as a PNG of `SIZE × SCALE` pixels, `caption` under it.
pub fn png(chart: &ChartData, caption: &str) -> Result<Vec<u8>, String> {
    let (w, h) = (SIZE.0 * SCALE, SIZE.1 * SCALE);
    let mut pixels = vec![255u8; (w * h * 3) as usize];
    {
        register_font()?;
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        draw(&root, chart, caption).map_err(|e| format!("cannot draw the chart: {e}"))?;
        root.present()
            .map_err(|e| format!("cannot draw the chart: {e}"))?;
    }
    let image = image::RgbImage::from_raw(w, h, pixels).expect("buffer of the right size");
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| format!("cannot encode the PNG: {e}"))?;
    Ok(bytes.into_inner())
}

/// Draws `chart` as an SVG document of `SIZE × SCALE` units (it scales with its
/// `viewBox`), `caption` under it: what a report embeds so that its charts stay sharp
/// when printed.
pub fn svg(chart: &ChartData, caption: &str) -> Result<String, String> {
    let (w, h) = (SIZE.0 * SCALE, SIZE.1 * SCALE);
    let mut out = String::new();
    {
        register_font()?;
        let root = SVGBackend::with_string(&mut out, (w, h)).into_drawing_area();
        draw(&root, chart, caption).map_err(|e| format!("cannot draw the chart: {e}"))?;
        root.present()
            .map_err(|e| format!("cannot draw the chart: {e}"))?;
    }
    Ok(out)
}

/// The window's own font, registered once for plotters.
fn register_font() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT)
            .map_err(|_| "the bundled font cannot be read".to_string())
    })
    .clone()
}

/// Where a chart is drawn: a bitmap for PNG, a document for SVG.
type Area<DB> = DrawingArea<DB, Shift>;
type DrawResult<T> = Result<T, Box<dyn std::error::Error>>;

fn px(v: u32) -> u32 {
    v * SCALE
}

fn font(size: u32) -> TextStyle<'static> {
    (FONT, px(size) as f64).into_font().color(&BLACK)
}

fn rgb(c: egui::Color32) -> RGBColor {
    RGBColor(c.r(), c.g(), c.b())
}

fn draw<DB: DrawingBackend>(root: &Area<DB>, chart: &ChartData, caption: &str) -> DrawResult<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (body, foot) = root.split_vertically(root.dim_in_pixel().1 - px(28));
    foot.draw_text(
        caption,
        &font(12).color(&RGBColor(90, 90, 90)),
        (px(16) as i32, px(6) as i32),
    )?;
    let body = body
        .margin(px(10), 0, 0, 0)
        .titled(&chart.title, font(20))?;
    match &chart.kind {
        ChartKind::Lines(series) => time_chart(&body, chart, series, None),
        ChartKind::StackedTime { series, bucket_s } => {
            time_chart(&body, chart, series, Some(*bucket_s))
        }
        ChartKind::Bars(bars) => bar_chart(&body, chart, bars),
        ChartKind::Heat(grid) => heat_chart(&body, grid),
    }
}

/// The time window of a chart: its own, else the extent of its points.
fn x_range(chart: &ChartData, series: &[Series], bucket_s: f64) -> (f64, f64) {
    if let Some(w) = chart.window {
        return w;
    }
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p[0]));
    let lo = xs.clone().fold(f64::INFINITY, f64::min);
    let hi = xs.fold(f64::NEG_INFINITY, f64::max) + bucket_s;
    if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

/// Lines, or bars stacked per time bucket when `bucket_s` is given.
fn time_chart<DB: DrawingBackend>(
    area: &Area<DB>,
    chart: &ChartData,
    series: &[Series],
    bucket_s: Option<f64>,
) -> DrawResult<()>
where
    DB::ErrorType: 'static,
{
    let (x0, x1) = x_range(chart, series, bucket_s.unwrap_or(0.0));
    // Stack tops per bucket (bars) or the largest point (lines).
    let mut tops: std::collections::BTreeMap<i64, f64> = Default::default();
    let mut y_max: f64 = 0.0;
    for s in series {
        for p in &s.points {
            if bucket_s.is_some() {
                let t = tops.entry(p[0] as i64).or_default();
                *t += p[1];
                y_max = y_max.max(*t);
            } else {
                y_max = y_max.max(p[1]);
            }
        }
    }
    let band_top = chart
        .bands
        .iter()
        .flat_map(|b| b.points.iter().map(|p| p.high))
        .fold(0.0, f64::max);
    let y_max = y_max.max(band_top);
    let y_max = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
    let y_max = chart.value_span.map_or(y_max, |(_, top)| y_max.max(top));
    let span = x1 - x0;
    let unit = chart.unit;
    let mut c = ChartBuilder::on(area)
        .margin(px(14))
        .margin_right(px(40))
        .x_label_area_size(px(30))
        .y_label_area_size(px(80))
        .build_cartesian_2d(x0..x1, 0.0..y_max)?;
    c.configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_label_formatter(&|y| unit(*y))
        .y_labels(6)
        .label_style(font(12))
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(220, 220, 220))
        .draw()?;
    for t in time_marks(x0, x1) {
        c.draw_series(std::iter::once(PathElement::new(
            vec![(t, 0.0), (t, y_max)],
            RGBColor(225, 225, 225),
        )))?;
        let (x, y) = c.backend_coord(&(t, 0.0));
        tick_label(area, &time_tick(t, span), (x, y))?;
    }
    for m in chart
        .markers
        .iter()
        .filter(|m| m.x <= x1 && m.until.unwrap_or(m.x) >= x0)
    {
        let at = m.x.max(x0);
        if let Some(until) = m.until {
            c.draw_series(std::iter::once(Rectangle::new(
                [(at, 0.0), (until.min(x1), y_max)],
                rgb(m.color).mix(0.10).filled(),
            )))?;
        }
        c.draw_series(std::iter::once(PathElement::new(
            vec![(at, 0.0), (at, y_max)],
            rgb(m.color).stroke_width(px(1)),
        )))?;
        let (x, y) = c.backend_coord(&(at, y_max));
        let base = area.get_base_pixel();
        area.draw_text(
            &m.label,
            &font(11).color(&rgb(m.color)),
            (x - base.0 + px(3) as i32, y - base.1 + px(2) as i32),
        )?;
    }
    for (i, band) in chart.bands.iter().take(FILLED_BANDS).enumerate() {
        let drawn = draw_band(&mut c, band, bucket_s)?;
        if i == 0 && drawn {
            let color = rgb(band.color).mix(0.25);
            drawn_band_legend(&mut c, color)?;
        }
    }
    match bucket_s {
        None => {
            for s in series {
                let color = rgb(s.color);
                c.draw_series(LineSeries::new(
                    s.points.iter().map(|p| (p[0], p[1])),
                    color.stroke_width(px(2)),
                ))?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(
                        vec![(x, y), (x + px(16) as i32, y)],
                        color.stroke_width(px(2)),
                    )
                });
            }
        }
        Some(width) => {
            let mut base: std::collections::BTreeMap<i64, f64> = Default::default();
            for s in series {
                let color = rgb(s.color);
                let rects: Vec<_> = s
                    .points
                    .iter()
                    .map(|p| {
                        let b = base.entry(p[0] as i64).or_default();
                        let r = Rectangle::new(
                            [(p[0] + width * 0.08, *b), (p[0] + width * 0.92, *b + p[1])],
                            color.filled(),
                        );
                        *b += p[1];
                        r
                    })
                    .collect();
                c.draw_series(rects)?
                    .label(s.name.clone())
                    .legend(move |(x, y)| swatch(x, y, color));
            }
        }
    }
    let flags = chart.flags();
    if !flags.is_empty() {
        let half = bucket_s.map_or(0.0, |w| w / 2.0);
        let ring = rgb(palette::ANOMALY).stroke_width(px(2));
        c.draw_series(
            flags
                .iter()
                .map(|f| Circle::new((f.x + half, f.y), px(6), ring)),
        )?
        .label("outside the expected band")
        .legend(move |(x, y)| Circle::new((x + px(8) as i32, y), px(5), ring));
    }
    legend(&mut c, SeriesLabelPosition::UpperLeft)
}

type TimeChart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A band, lightly, as in the window: joined between buckets for lines, a step per
/// bucket for bars. Whether anything was drawn.
fn draw_band<DB: DrawingBackend>(
    c: &mut TimeChart<'_, DB>,
    band: &ChartBand,
    bucket_s: Option<f64>,
) -> DrawResult<bool>
where
    DB::ErrorType: 'static,
{
    let fill = rgb(band.color).mix(0.16).filled();
    let mut drawn = false;
    for run in band.runs() {
        let mut top: Vec<(f64, f64)> = Vec::new();
        let mut bottom: Vec<(f64, f64)> = Vec::new();
        for p in run {
            let xs = match bucket_s {
                None => vec![p.x],
                Some(w) => vec![p.x, p.x + w],
            };
            for x in xs {
                top.push((x, p.high));
                bottom.push((x, p.low.max(0.0)));
            }
        }
        if top.len() == 1 {
            let w = band.bucket_s / 4.0;
            let (x, (hi, lo)) = (top[0].0, (top[0].1, bottom[0].1));
            top = vec![(x - w, hi), (x + w, hi)];
            bottom = vec![(x - w, lo), (x + w, lo)];
        }
        // One quadrilateral per step: each convex, whatever the band's shape.
        c.draw_series(
            top.windows(2)
                .zip(bottom.windows(2))
                .map(|(t, b)| Polygon::new(vec![b[0], b[1], t[1], t[0]], fill)),
        )?;
        drawn = true;
    }
    Ok(drawn)
}

/// The legend entry of the bands (once per chart).
fn drawn_band_legend<DB: DrawingBackend>(
    c: &mut TimeChart<'_, DB>,
    color: RGBAColor,
) -> DrawResult<()>
where
    DB::ErrorType: 'static,
{
    c.draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
        .label("expected band")
        .legend(move |(x, y)| {
            let r = px(6) as i32;
            Rectangle::new([(x, y - r), (x + 2 * r, y + r)], color.filled())
        });
    Ok(())
}

/// The legend of the labelled series, in one style for every chart.
fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    c: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> DrawResult<()>
where
    DB::ErrorType: 'static,
{
    c.configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .label_font(font(12))
        .draw()?;
    Ok(())
}

/// A time label under the axis at backend pixel `at` (drawn on the chart's area, outside
/// the plot, so it is not clipped).
fn tick_label<DB: DrawingBackend>(area: &Area<DB>, text: &str, at: (i32, i32)) -> DrawResult<()>
where
    DB::ErrorType: 'static,
{
    let base = area.get_base_pixel();
    let style = font(12).pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Center,
        plotters::style::text_anchor::VPos::Top,
    ));
    area.draw_text(text, &style, (at.0 - base.0, at.1 - base.1 + px(6) as i32))?;
    Ok(())
}

fn swatch(x: i32, y: i32, color: RGBColor) -> Rectangle<(i32, i32)> {
    let r = px(6) as i32;
    Rectangle::new([(x, y - r), (x + 2 * r, y + r)], color.filled())
}

/// A row name left of the value axis, at backend pixel `at` (the row's middle on the
/// axis).
fn row_label<DB: DrawingBackend>(area: &Area<DB>, text: &str, at: (i32, i32)) -> DrawResult<()>
where
    DB::ErrorType: 'static,
{
    let base = area.get_base_pixel();
    let style = font(12).pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Right,
        plotters::style::text_anchor::VPos::Center,
    ));
    area.draw_text(text, &style, (at.0 - base.0 - px(6) as i32, at.1 - base.1))?;
    Ok(())
}

/// Horizontal bars, one per category, segments stacked; value axis in the unit.
fn bar_chart<DB: DrawingBackend>(area: &Area<DB>, chart: &ChartData, bars: &[Bar]) -> DrawResult<()>
where
    DB::ErrorType: 'static,
{
    let total = |b: &Bar| b.segments.iter().map(|s| s.1).sum::<f64>();
    let max = bars.iter().map(total).fold(0.0, f64::max);
    let x_max = if max > 0.0 { max * 1.15 } else { 1.0 };
    let n = bars.len().max(1) as i32;
    let unit = chart.unit;
    let mut c = ChartBuilder::on(area)
        .margin(px(14))
        .margin_right(px(40))
        .x_label_area_size(px(30))
        .y_label_area_size(px(170))
        .build_cartesian_2d(0.0..x_max, 0.0..n as f64)?;
    c.configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(8)
        .x_label_formatter(&|x| unit(*x))
        .label_style(font(12))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()?;
    // Category names left of the axis, busiest at the top.
    for (i, bar) in bars.iter().enumerate() {
        let at = c.backend_coord(&(0.0, (n - 1 - i as i32) as f64 + 0.5));
        row_label(area, &bar.label, at)?;
    }
    let mut legend_done: Vec<String> = Vec::new();
    for (i, bar) in bars.iter().enumerate() {
        let row = n - 1 - i as i32;
        let mut x = 0.0;
        for (name, v, color) in &bar.segments {
            let color = rgb(*color);
            let rect = Rectangle::new(
                [(x, row as f64 + 0.15), (x + v, row as f64 + 0.85)],
                color.filled(),
            );
            let drawn = c.draw_series(std::iter::once(rect))?;
            if bar.segments.len() > 1 && !legend_done.contains(name) {
                legend_done.push(name.clone());
                drawn
                    .label(name.clone())
                    .legend(move |(x, y)| swatch(x, y, color));
            }
            x += v;
        }
        c.draw_series(std::iter::once(Text::new(
            unit(total(bar)),
            (x + x_max * 0.01, row as f64 + 0.62),
            font(12),
        )))?;
    }
    if !legend_done.is_empty() {
        legend(&mut c, SeriesLabelPosition::LowerRight)?;
    }
    Ok(())
}

/// The heatmap with a colour legend on the right.
fn heat_chart<DB: DrawingBackend>(area: &Area<DB>, grid: &HeatGrid) -> DrawResult<()>
where
    DB::ErrorType: 'static,
{
    let (w, _) = area.dim_in_pixel();
    let (plot, scale) = area.split_horizontally(w - px(110));
    let x0 = grid.times.first().copied().unwrap_or(0.0);
    let x1 = grid.times.last().copied().unwrap_or(1.0) + grid.bucket_s;
    let n = grid.rows.len().max(1) as i32;
    let span = x1 - x0;
    let mut c = ChartBuilder::on(&plot)
        .margin(px(14))
        .x_label_area_size(px(30))
        .y_label_area_size(px(100))
        .build_cartesian_2d(x0..x1, 0.0..n as f64)?;
    c.configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(0)
        .label_style(font(12))
        .draw()?;
    for (i, label) in grid.rows.iter().enumerate() {
        let at = c.backend_coord(&(x0, i as f64 + 0.5));
        row_label(&plot, label, at)?;
    }
    let max = grid.max();
    let mut cells = Vec::new();
    for (t, counts) in grid.times.iter().zip(&grid.counts) {
        for (row, &count) in counts.iter().enumerate() {
            if count > 0 {
                let color = rgb(viridis(heat_level(count, max)));
                cells.push(Rectangle::new(
                    [(*t, row as f64), (t + grid.bucket_s, row as f64 + 1.0)],
                    color.filled(),
                ));
            }
        }
    }
    c.draw_series(cells)?;
    for t in time_marks(x0, x1) {
        let (x, y) = c.backend_coord(&(t, 0.0));
        tick_label(&plot, &time_tick(t, span), (x, y))?;
    }
    // The colour legend: the scale from 1 to the busiest cell.
    let (_, sh) = scale.dim_in_pixel();
    let top = px(40) as i32;
    let bottom = sh as i32 - px(50) as i32;
    let steps = 64;
    for i in 0..steps {
        let t = i as f64 / (steps - 1) as f64;
        let y = bottom - ((bottom - top) as f64 * t) as i32;
        let h = ((bottom - top) as f64 / steps as f64).ceil() as i32 + 1;
        scale.draw(&Rectangle::new(
            [(px(10) as i32, y - h), (px(30) as i32, y)],
            rgb(viridis(t)).filled(),
        ))?;
    }
    scale.draw_text("calls", &font(12), (px(8) as i32, top - px(24) as i32))?;
    scale.draw_text(
        &max.to_string(),
        &font(12),
        (px(36) as i32, top - px(6) as i32),
    )?;
    scale.draw_text("1", &font(12), (px(36) as i32, bottom - px(12) as i32))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::Color32;

    fn decode(path: &std::path::Path) -> image::RgbImage {
        image::open(path).expect("a PNG that decodes").to_rgb8()
    }

    /// Rows (y) of the pixels of `color` in the columns `x0..x1`, sorted.
    fn rows_of(img: &image::RgbImage, x0: u32, x1: u32, color: fn(&[u8; 3]) -> bool) -> Vec<u32> {
        let mut rows: Vec<u32> = (x0..x1)
            .flat_map(|x| (0..img.height()).map(move |y| (x, y)))
            .filter(|&(x, y)| color(&img.get_pixel(x, y).0))
            .map(|(_, y)| y)
            .collect();
        rows.sort_unstable();
        rows
    }

    fn dark(p: &[u8; 3]) -> bool {
        p.iter().all(|c| *c < 110)
    }

    /// A line chart as PNG has its title centred at the top, a y axis and an x axis, and
    /// each series drawn in its colour at the height its value says.
    #[test]
    fn a_line_chart_image_has_its_title_axes_and_series_where_the_values_say() {
        let flat = |name: &str, color, value: f64| Series {
            name: name.into(),
            color,
            points: (0..10).map(|i| [1.8e9 + 60.0 * i as f64, value]).collect(),
        };
        let chart = ChartData {
            title: "Latency percentiles".into(),
            kind: ChartKind::Lines(vec![
                flat("p50", Color32::from_rgb(0, 0, 255), 1.0),
                flat("p95", Color32::from_rgb(255, 0, 0), 3.0),
            ]),
            unit: crate::format::millis,
            window: None,
            markers: Vec::new(),
            value_span: None,
            bands: Vec::new(),
        };
        let img = image::load_from_memory(&png(&chart, "Range: last hour").unwrap())
            .unwrap()
            .to_rgb8();
        let (w, h) = img.dimensions();
        // The title: dark text in the top band, around the middle, not at the left.
        let title_band = |x0: u32, x1: u32| {
            (x0..x1)
                .flat_map(|x| (0..h / 12).map(move |y| (x, y)))
                .filter(|&(x, y)| dark(&img.get_pixel(x, y).0))
                .count()
        };
        assert!(
            title_band(w * 2 / 5, w * 3 / 5) > 200,
            "no title at the top centre"
        );
        assert_eq!(title_band(0, w / 5), 0, "the title is not centred");
        // The axes: a dark column on the left and a dark row at the bottom, each over
        // most of the plot.
        let y_axis = (0..w / 5)
            .find(|&x| (0..h).filter(|&y| dark(&img.get_pixel(x, y).0)).count() > (h / 2) as usize);
        assert!(y_axis.is_some(), "no y axis");
        let x_axis = (h / 2..h)
            .find(|&y| (0..w).filter(|&x| dark(&img.get_pixel(x, y).0)).count() > (w / 2) as usize)
            .expect("no x axis");
        // The series, right of the legend: blue at 1 ms, red at 3 ms, three times as
        // high above the x axis (the y axis starts at 0).
        let blue = rows_of(&img, w * 3 / 10, w * 9 / 10, |p| {
            p[2] > 200 && p[0] < 80 && p[1] < 80
        });
        let red = rows_of(&img, w * 3 / 10, w * 9 / 10, |p| {
            p[0] > 200 && p[1] < 80 && p[2] < 80
        });
        assert!(
            blue.len() > 1000 && red.len() > 1000,
            "series not drawn in their colours"
        );
        let height = |rows: &[u32]| f64::from(x_axis) - f64::from(rows[rows.len() / 2]);
        let ratio = height(&red) / height(&blue);
        assert!(
            (ratio - 3.0).abs() < 0.15,
            "3 ms is drawn {ratio:.2} times as high as 1 ms"
        );
        // Flat series are flat: each colour within a few rows.
        assert!(blue[blue.len() - 1] - blue[0] < 12 && red[red.len() - 1] - red[0] < 12);
    }

    /// The expected band is drawn lightly behind its series, the point outside it is
    /// ringed, and a note's stretch is shaded with its text: the PNG shows what the
    /// window shows.
    #[test]
    fn a_png_shows_the_band_the_flagged_point_and_the_notes() {
        use super::super::chart::{BandOf, BandPoint, ChartBand, Marker};
        let xs: Vec<f64> = (0..24).map(|i| 1.8e9 + 3600.0 * i as f64).collect();
        let mut ys: Vec<f64> = (0..24).map(|i| 100.0 + (i % 3) as f64 * 5.0).collect();
        ys[16] = 400.0;
        let chart = ChartData {
            title: "Latency percentiles".into(),
            kind: ChartKind::Lines(vec![Series {
                name: "p95".into(),
                color: palette::P95,
                points: xs.iter().zip(&ys).map(|(x, y)| [*x, *y]).collect(),
            }]),
            unit: crate::format::millis,
            window: Some((xs[0], xs[23] + 3600.0)),
            markers: vec![Marker {
                x: xs[4],
                until: Some(xs[6]),
                color: palette::NOTE,
                label: "deploy v1.4".into(),
            }],
            value_span: None,
            bands: vec![ChartBand {
                of: BandOf::Series("p95".into()),
                color: palette::P95,
                bucket_s: 3600.0,
                points: xs
                    .iter()
                    .skip(2)
                    .map(|&x| BandPoint {
                        x,
                        low: 80.0,
                        high: 130.0,
                        expected: 105.0,
                        baseline: store::anomaly::Baseline::Rolling { buckets: 8 },
                    })
                    .collect(),
            }],
        };
        assert_eq!(chart.flags().len(), 1, "the spike alone is outside");
        let bytes = png(&chart, "Range: a day").unwrap();
        let dir = std::env::temp_dir().join("llm-observatory-chart-png");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("bands_and_notes.png"), &bytes).unwrap();
        let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
        let count = |pred: &dyn Fn(&[u8; 3]) -> bool| img.pixels().filter(|p| pred(&p.0)).count();
        let ring = palette::ANOMALY;
        let rings = count(&|p| {
            p.iter()
                .zip([ring.r(), ring.g(), ring.b()])
                .all(|(a, b)| a.abs_diff(b) < 30)
        });
        assert!(rings > 100, "the flagged point is ringed ({rings} pixels)");
        // The band: a light orange tint (the p95 colour at a sixth) over many pixels.
        let tint = count(&|p| p[0] > 240 && p[1] > 225 && p[1] < 248 && p[2] > 200 && p[2] < 235);
        assert!(tint > 20_000, "the band is drawn ({tint} pixels)");
        // The note: its stretch shaded light blue, its text in its colour.
        let note = palette::NOTE;
        let shade = count(&|p| p[2] > 235 && p[0] > 215 && p[0] < 245 && p[1] > 225 && p[1] < 250);
        assert!(
            shade > 10_000,
            "the note's stretch is shaded ({shade} pixels)"
        );
        let text = count(&|p| {
            p.iter()
                .zip([note.r(), note.g(), note.b()])
                .all(|(a, b)| a.abs_diff(b) < 40)
        });
        assert!(
            text > 150,
            "the note's line and text are drawn ({text} pixels)"
        );
    }

    #[test]
    fn every_chart_kind_renders_at_twice_the_size() {
        // Kept (and overwritten by the next run) for people to look at.
        let dir = std::env::temp_dir().join("llm-observatory-chart-png");
        std::fs::create_dir_all(&dir).unwrap();
        let series = |name: &str, color| Series {
            name: name.into(),
            color,
            points: (0..10)
                .map(|i| [1.8e9 + 60.0 * i as f64, (i % 4) as f64])
                .collect(),
        };
        let kinds = [
            ChartKind::Lines(vec![
                series("p50", Color32::BLUE),
                series("p95", Color32::RED),
            ]),
            ChartKind::StackedTime {
                series: vec![series("a", Color32::BLUE), series("b", Color32::RED)],
                bucket_s: 60.0,
            },
            ChartKind::Bars(vec![Bar {
                label: "gpt-4o".into(),
                segments: vec![
                    ("input".into(), 3.0, Color32::BLUE),
                    ("output".into(), 1.0, Color32::RED),
                ],
            }]),
            ChartKind::Heat(HeatGrid {
                times: vec![1.8e9, 1.8e9 + 60.0],
                bucket_s: 60.0,
                rows: vec!["<100 ms".into(), "≥100 ms".into()],
                counts: vec![vec![1, 5], vec![0, 2]],
            }),
        ];
        for (i, kind) in kinds.into_iter().enumerate() {
            let path = dir.join(format!("{i}.png"));
            let chart = ChartData {
                title: "A chart".into(),
                kind,
                unit: crate::format::millis,
                window: None,
                markers: Vec::new(),
                value_span: None,
                bands: Vec::new(),
            };
            let bytes = png(&chart, "Range: last hour · all models").unwrap();
            std::fs::write(&path, bytes).unwrap();
            let img = decode(&path);
            assert_eq!(img.dimensions(), (SIZE.0 * SCALE, SIZE.1 * SCALE));
            // Something besides the white background was drawn.
            let ink = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
            assert!(ink > 10_000, "chart {i}: only {ink} non-white pixels");
        }
    }
}
