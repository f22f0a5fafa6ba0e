//! A prompt and response shown as a chat: system, user, assistant and tool messages told
//! apart, tool calls (`name(arguments)`) with their arguments pretty-printed, long text
//! folded behind "Show all", a copy button per message, and matches highlighted.

use crate::gui::palette;
use egui::text::LayoutJob;
use egui::{Color32, FontId, Frame, Margin, RichText, TextFormat, Ui};
use store::conversation::{Line, Message};

/// Characters shown before "Show all".
const FOLD_CHARS: usize = 1200;

/// Draws the messages; `id` keeps each message's "Show all" state apart.
pub fn conversation(ui: &mut Ui, id: &str, messages: &[Message], highlights: &[String]) {
    for (i, m) in messages.iter().enumerate() {
        let (accent, title) = match m.role.as_str() {
            "system" | "developer" => (palette::OKABE_ITO[6], "System"),
            "user" => (palette::OKABE_ITO[4], "User"),
            "assistant" | "model" => (palette::OKABE_ITO[2], "Assistant"),
            "tool" | "function" => (palette::OKABE_ITO[1], "Tool"),
            _ => (palette::OKABE_ITO[6], "Message"),
        };
        Frame::group(ui.style())
            .stroke((1.0, accent))
            .inner_margin(Margin::same(8))
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.horizontal(|ui| {
                    ui.label(RichText::new(title).strong().color(accent));
                    if ui
                        .small_button("Copy")
                        .on_hover_text("Copy this message")
                        .clicked()
                    {
                        ui.ctx().copy_text(m.content.clone());
                    }
                });
                let key = ui.make_persistent_id((id, i, "show_all"));
                let mut show_all = ui.data(|d| d.get_temp::<bool>(key).unwrap_or(false));
                let long = m.content.chars().count() > FOLD_CHARS;
                let shown = if long && !show_all {
                    Message {
                        role: m.role.clone(),
                        content: m.content.chars().take(FOLD_CHARS).collect::<String>() + " …",
                    }
                } else {
                    m.clone()
                };
                message_body(ui, &shown, highlights);
                if long {
                    let label = if show_all { "Show less" } else { "Show all" };
                    if ui.small_button(label).clicked() {
                        show_all = !show_all;
                        ui.data_mut(|d| d.insert_temp(key, show_all));
                    }
                }
            });
        ui.add_space(4.0);
    }
}

/// A message's lines: tool calls as `call name` with their arguments pretty-printed,
/// the rest as text with matches highlighted.
fn message_body(ui: &mut Ui, message: &Message, highlights: &[String]) {
    for line in message.lines() {
        match line {
            Line::ToolCall { name, arguments } => {
                ui.label(RichText::new(format!("call {name}")).monospace().strong());
                ui.label(RichText::new(arguments).monospace());
            }
            Line::Text(text) => {
                ui.label(highlighted(text, highlights, ui.visuals().text_color()));
            }
        }
    }
}

/// Text with every case-insensitive occurrence of a highlight marked.
pub fn highlighted(text: &str, highlights: &[String], color: Color32) -> LayoutJob {
    let mut job = LayoutJob::default();
    let lower = text.to_lowercase();
    // Case folding can change byte lengths; highlight only where it does not.
    let same_len = lower.len() == text.len();
    let mut marks: Vec<(usize, usize)> = Vec::new();
    if same_len {
        for h in highlights.iter().filter(|h| !h.is_empty()) {
            let needle = h.to_lowercase();
            let mut from = 0;
            while let Some(pos) = lower[from..].find(&needle) {
                let start = from + pos;
                marks.push((start, start + needle.len()));
                from = start + needle.len();
            }
        }
    }
    marks.sort();
    let normal = TextFormat {
        font_id: FontId::proportional(13.0),
        color,
        ..Default::default()
    };
    let marked = TextFormat {
        background: palette::WARN.gamma_multiply(0.6),
        ..normal.clone()
    };
    let mut at = 0;
    for (start, end) in marks {
        if start < at {
            continue;
        }
        job.append(&text[at..start], 0.0, normal.clone());
        job.append(&text[start..end], 0.0, marked.clone());
        at = end;
    }
    job.append(&text[at..], 0.0, normal);
    job.wrap.max_width = f32::INFINITY;
    job
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_are_case_insensitive() {
        let job = highlighted("Find the NEEDLE here", &["needle".into()], Color32::WHITE);
        assert_eq!(job.sections.len(), 3);
        let marked: Vec<bool> = job
            .sections
            .iter()
            .map(|s| s.format.background != Color32::TRANSPARENT)
            .collect();
        assert_eq!(marked, vec![false, true, false]);
        let none = highlighted("nothing to see", &["needle".into()], Color32::WHITE);
        assert_eq!(none.sections.len(), 1);
    }
}
