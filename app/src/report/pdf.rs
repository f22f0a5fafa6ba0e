//! The report as PDF: A4 pages laid out here (headings, wrapped text, tables whose
//! header repeats on each page they run onto, charts kept whole on a page), drawn with
//! krilla in the font the window uses, every page footed with the caption and its
//! number. The figures ride along as an attached `figures.json` (`stats --json`'s
//! object), for scripts (`pdfdetach -save 1`).

use super::{KPI_HEAD, Report, kpis, tables};
use ab_glyph::{Font as _, ScaleFont as _};
use krilla::Document;
use krilla::color::rgb;
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::geom::{PathBuilder, Point, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};

/// A4, in points.
const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 48.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
/// Where content stops, above the footer.
const BOTTOM: f32 = PAGE_H - MARGIN - 14.0;

const TITLE: f32 = 20.0;
const HEADING: f32 = 13.0;
const BODY: f32 = 9.5;
const CELL: f32 = 8.0;
/// Space between a cell's text and its column's edge.
const PAD: f32 = 4.0;

const INK: (u8, u8, u8) = (20, 24, 31);
const MUTED: (u8, u8, u8) = (95, 103, 115);
const RULE: (u8, u8, u8) = (205, 210, 218);
const HEAD_FILL: (u8, u8, u8) = (236, 239, 244);

/// The window's font (egui's default), embedded and subset.
const FONT: &[u8] = epaint_default_fonts::UBUNTU_LIGHT;

/// One thing drawn on a page, at page coordinates (points, from the top left).
enum Mark {
    /// Text on the baseline at `y`.
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
        color: (u8, u8, u8),
    },
    /// A filled rectangle.
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: (u8, u8, u8),
    },
    /// A horizontal line.
    Rule { x: f32, y: f32, w: f32 },
    /// The chart at this index of the report's charts.
    Chart {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        index: usize,
    },
}

/// The pages being laid out, and where the next thing goes.
struct Layout {
    pages: Vec<Vec<Mark>>,
    y: f32,
    metrics: ab_glyph::FontRef<'static>,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            pages: vec![Vec::new()],
            y: MARGIN,
            metrics: ab_glyph::FontRef::try_from_slice(FONT).expect("the bundled font parses"),
        }
    }

    /// How wide `text` is at the PDF font size `size` (an em of `size` points; ab_glyph
    /// scales by the ascent-to-descent height instead).
    fn width(&self, text: &str, size: f32) -> f32 {
        let em = self.metrics.units_per_em().unwrap_or(1000.0);
        let scaled = self
            .metrics
            .as_scaled(size * self.metrics.height_unscaled() / em);
        text.chars()
            .map(|c| scaled.h_advance(self.metrics.glyph_id(c)))
            .sum()
    }

    fn mark(&mut self, mark: Mark) {
        self.pages.last_mut().expect("a page").push(mark);
    }

    /// Starts a new page unless `height` more fits on this one.
    fn room_for(&mut self, height: f32) -> bool {
        if self.y + height <= BOTTOM {
            return false;
        }
        self.pages.push(Vec::new());
        self.y = MARGIN;
        true
    }

    /// `text` wrapped at word boundaries to the content width.
    fn paragraph(&mut self, text: &str, size: f32, color: (u8, u8, u8)) {
        let line_h = size * 1.35;
        let mut line = String::new();
        let mut lines = Vec::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if self.width(&candidate, size) > CONTENT_W && !line.is_empty() {
                lines.push(std::mem::replace(&mut line, word.to_string()));
            } else {
                line = candidate;
            }
        }
        lines.extend((!line.is_empty()).then_some(line));
        for text in lines {
            self.room_for(line_h);
            self.y += line_h;
            let y = self.y - size * 0.3;
            self.mark(Mark::Text {
                x: MARGIN,
                y,
                size,
                text,
                color,
            });
        }
    }

    /// A section heading, kept on the page of what follows it.
    fn heading(&mut self, text: &str) {
        self.room_for(HEADING * 2.0 + CELL * 4.0);
        self.y += HEADING * 1.2;
        self.paragraph(text, HEADING, INK);
        self.y += 4.0;
    }

    /// The widths of the columns: each its widest cell's, shrunk in proportion to the
    /// excess when together they are wider than the page.
    fn columns(&self, head: &[&str], rows: &[Vec<String>]) -> Vec<f32> {
        let mut widths: Vec<f32> = head
            .iter()
            .enumerate()
            .map(|(i, h)| {
                rows.iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| self.width(c, CELL))
                    .fold(self.width(h, CELL), f32::max)
                    + 2.0 * PAD
            })
            .collect();
        let total: f32 = widths.iter().sum();
        if total > CONTENT_W {
            // Narrow columns keep their width; wide ones share what is left.
            let fair = CONTENT_W / widths.len() as f32;
            let narrow: f32 = widths.iter().filter(|w| **w <= fair).sum();
            let wide: f32 = widths.iter().filter(|w| **w > fair).sum();
            let scale = (CONTENT_W - narrow) / wide;
            for w in widths.iter_mut().filter(|w| **w > fair) {
                *w *= scale;
            }
        }
        widths
    }

    /// `text` cut with an ellipsis to fit `width` (a hundredth of a point spare: the
    /// column was measured from the same text, and sums round).
    fn fit(&self, text: &str, width: f32) -> String {
        let width = width + 0.01;
        let text: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if self.width(&text, CELL) <= width {
            return text;
        }
        let mut cut = String::new();
        for c in text.chars() {
            if self.width(&format!("{cut}{c}…"), CELL) > width {
                break;
            }
            cut.push(c);
        }
        format!("{cut}…")
    }

    fn row(&mut self, cells: &[String], widths: &[f32], header: bool) {
        let h = CELL * 2.0;
        if header {
            self.mark(Mark::Fill {
                x: MARGIN,
                y: self.y,
                w: widths.iter().sum(),
                h,
                color: HEAD_FILL,
            });
        }
        let mut x = MARGIN;
        for (cell, w) in cells.iter().zip(widths) {
            let text = self.fit(cell, w - 2.0 * PAD);
            self.mark(Mark::Text {
                x: x + PAD,
                y: self.y + h * 0.68,
                size: CELL,
                text,
                color: if header { MUTED } else { INK },
            });
            x += w;
        }
        self.y += h;
        self.mark(Mark::Rule {
            x: MARGIN,
            y: self.y,
            w: widths.iter().sum(),
        });
    }

    /// A table; its header starts each page it runs onto.
    fn table(&mut self, head: &[&str], rows: &[Vec<String>]) {
        let widths = self.columns(head, rows);
        let head: Vec<String> = head.iter().map(|h| h.to_string()).collect();
        self.room_for(CELL * 4.0);
        self.row(&head, &widths, true);
        for r in rows {
            if self.room_for(CELL * 2.0) {
                self.row(&head, &widths, true);
            }
            self.row(r, &widths, false);
        }
        self.y += 6.0;
    }

    /// A chart at the content width, whole on one page (its image holds its title and
    /// caption).
    fn chart(&mut self, index: usize, png: &[u8]) {
        let (w, h) = png_size(png).unwrap_or((1280, 560));
        let height = CONTENT_W * h as f32 / w as f32;
        self.room_for(height);
        self.mark(Mark::Chart {
            x: MARGIN,
            y: self.y,
            w: CONTENT_W,
            h: height,
            index,
        });
        self.y += height + 10.0;
    }
}

/// A PNG's pixel size, from its header.
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    let header = png.get(16..24)?;
    let w = u32::from_be_bytes(header[..4].try_into().ok()?);
    let h = u32::from_be_bytes(header[4..].try_into().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

fn color((r, g, b): (u8, u8, u8)) -> rgb::Color {
    rgb::Color::new(r, g, b)
}

impl Report {
    /// The report as a PDF document.
    pub fn pdf(&self) -> Result<Vec<u8>, String> {
        let mut layout = Layout::new();
        layout.paragraph("LLM Observatory report", TITLE, INK);
        layout.y += 4.0;
        layout.paragraph(
            &format!("{} · database {}", self.caption, self.database),
            BODY,
            MUTED,
        );
        layout.heading("Summary");
        let kpi_rows: Vec<Vec<String>> = kpis(&self.summary, self.previous.as_ref())
            .into_iter()
            .map(Vec::from)
            .collect();
        layout.table(&KPI_HEAD, &kpi_rows);
        layout.heading("Charts");
        if self.charts.is_empty() {
            layout.paragraph(
                "No LLM calls in this selection: nothing to chart.",
                BODY,
                INK,
            );
        }
        for (i, chart) in self.charts.iter().enumerate() {
            layout.chart(i, &chart.png);
        }
        for (title, head, rows, empty) in tables(self) {
            layout.heading(title);
            if rows.is_empty() {
                layout.paragraph(empty, BODY, INK);
            } else {
                layout.table(&head, &rows);
            }
        }
        self.draw(layout)
    }

    fn draw(&self, layout: Layout) -> Result<Vec<u8>, String> {
        let font = Font::new(FONT.into(), 0).ok_or("the bundled font does not load")?;
        let charts: Vec<Image> = self
            .charts
            .iter()
            .map(|c| {
                Image::from_png(c.png.clone().into(), true)
                    .map_err(|e| format!("chart {}: {e}", c.title))
            })
            .collect::<Result<_, _>>()?;
        let mut document = Document::new();
        document.set_metadata(
            Metadata::new()
                .title(format!("LLM Observatory report · {}", self.caption))
                .creator("llm-observatory".into()),
        );
        let figures = serde_json::to_string_pretty(&self.figures).expect("figures serialize");
        document.embed_file(EmbeddedFile {
            path: "figures.json".into(),
            mime_type: MimeType::new("application/json"),
            description: Some("The report's figures, as stats --json prints them".into()),
            association_kind: AssociationKind::Data,
            data: figures.into_bytes().into(),
            modification_date: None,
            compress: None,
            location: None,
        });
        let count = layout.pages.len();
        for (number, marks) in layout.pages.into_iter().enumerate() {
            let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or("A4 is a page size")?;
            let mut page = document.start_page_with(settings);
            let mut surface = page.surface();
            let footer = Mark::Text {
                x: MARGIN,
                y: PAGE_H - MARGIN + 6.0,
                size: CELL,
                text: format!(
                    "LLM Observatory report · {} · page {} of {count}",
                    self.caption,
                    number + 1
                ),
                color: MUTED,
            };
            for mark in marks.iter().chain([&footer]) {
                match mark {
                    Mark::Text {
                        x,
                        y,
                        size,
                        text,
                        color: c,
                    } => {
                        surface.set_fill(Some(Fill {
                            paint: color(*c).into(),
                            ..Fill::default()
                        }));
                        surface.draw_text(
                            Point::from_xy(*x, *y),
                            font.clone(),
                            *size,
                            text,
                            false,
                            TextDirection::Auto,
                        );
                    }
                    Mark::Fill {
                        x,
                        y,
                        w,
                        h,
                        color: c,
                    } => {
                        let mut p = PathBuilder::new();
                        if let Some(rect) = krilla::geom::Rect::from_xywh(*x, *y, *w, *h) {
                            p.push_rect(rect);
                        }
                        if let Some(path) = p.finish() {
                            surface.set_stroke(None);
                            surface.set_fill(Some(Fill {
                                paint: color(*c).into(),
                                ..Fill::default()
                            }));
                            surface.draw_path(&path);
                        }
                    }
                    Mark::Rule { x, y, w } => {
                        let mut p = PathBuilder::new();
                        p.move_to(*x, *y);
                        p.line_to(x + w, *y);
                        if let Some(path) = p.finish() {
                            surface.set_fill(None);
                            surface.set_stroke(Some(Stroke {
                                paint: color(RULE).into(),
                                width: 0.5,
                                ..Stroke::default()
                            }));
                            surface.draw_path(&path);
                            surface.set_stroke(None);
                        }
                    }
                    Mark::Chart { x, y, w, h, index } => {
                        let size = Size::from_wh(*w, *h).ok_or("a chart has a size")?;
                        surface.push_transform(&Transform::from_translate(*x, *y));
                        surface.draw_image(charts[*index].clone(), size);
                        surface.pop();
                    }
                }
            }
            surface.finish();
            page.finish();
        }
        document
            .finish()
            .map_err(|e| format!("the PDF could not be made: {e:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_table_repeats_its_header_on_each_page_and_wide_cells_are_cut() {
        let mut layout = Layout::new();
        let rows: Vec<Vec<String>> = (0..120)
            .map(|i| vec![format!("row {i}"), "x".repeat(400)])
            .collect();
        layout.table(&["Name", "Text"], &rows);
        assert!(layout.pages.len() >= 3, "{} pages", layout.pages.len());
        for page in &layout.pages {
            let first = page.iter().find_map(|m| match m {
                Mark::Text { text, .. } => Some(text.as_str()),
                _ => None,
            });
            assert_eq!(first, Some("Name"), "each page starts with the header");
            for m in page {
                if let Mark::Text { x, text, .. } = m {
                    assert!(
                        x + layout.width(text, CELL) <= MARGIN + CONTENT_W + 0.01,
                        "{text} overflows"
                    );
                }
                if let Mark::Rule { y, .. } = m {
                    assert!(*y <= BOTTOM + 0.01, "a row runs into the footer");
                }
            }
        }
    }
}
