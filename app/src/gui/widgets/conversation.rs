//! A prompt and response shown as a chat: system, user, assistant and tool messages told
//! apart, tool calls (`name(arguments)`) with their arguments pretty-printed, long text
//! folded behind "Show all", a copy button per message, and matches highlighted.

use crate::gui::palette;
use egui::text::LayoutJob;
use egui::{Color32, FontId, Frame, Margin, RichText, TextFormat, Ui};

/// Characters shown before "Show all".
const FOLD_CHARS: usize = 1200;

/// One message of a rendered prompt or response.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant`, `tool`… (empty when unknown).
    pub role: String,
    /// The text.
    pub content: String,
}

const ROLES: [&str; 7] = [
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
    "model",
];

/// Splits text rendered as `role: content` paragraphs (how the store keeps prompts)
/// back into messages; text without roles is one message of `default_role`.
pub fn split_messages(text: &str, default_role: &str) -> Vec<ChatMessage> {
    let mut out: Vec<ChatMessage> = Vec::new();
    for paragraph in text.split("\n\n") {
        let role = paragraph
            .split_once(": ")
            .map(|(r, _)| r)
            .filter(|r| ROLES.contains(r));
        match (role, out.last_mut()) {
            (Some(r), _) => out.push(ChatMessage {
                role: r.to_string(),
                content: paragraph[r.len() + 2..].to_string(),
            }),
            (None, Some(last)) => {
                last.content.push_str("\n\n");
                last.content.push_str(paragraph);
            }
            (None, None) => out.push(ChatMessage {
                role: default_role.to_string(),
                content: paragraph.to_string(),
            }),
        }
    }
    out
}

/// Draws the messages; `id` keeps each message's "Show all" state apart.
pub fn conversation(ui: &mut Ui, id: &str, messages: &[ChatMessage], highlights: &[String]) {
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
                let text: String = if long && !show_all {
                    m.content.chars().take(FOLD_CHARS).collect::<String>() + " …"
                } else {
                    m.content.clone()
                };
                message_body(ui, &text, highlights);
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

/// A message's text: tool-call lines `name({...})` with their JSON pretty-printed, the
/// rest as wrapped text with matches highlighted.
fn message_body(ui: &mut Ui, text: &str, highlights: &[String]) {
    for line in text.split('\n') {
        if let Some((name, args)) = tool_call(line) {
            ui.label(RichText::new(format!("call {name}")).monospace().strong());
            ui.label(RichText::new(args).monospace());
        } else {
            ui.label(highlighted(line, highlights, ui.visuals().text_color()));
        }
    }
}

/// `name({json})` with the JSON pretty-printed.
fn tool_call(line: &str) -> Option<(&str, String)> {
    let open = line.find('(')?;
    let name = &line[..open];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '-')
        || !line.ends_with(')')
    {
        return None;
    }
    let args = &line[open + 1..line.len() - 1];
    let json: serde_json::Value = serde_json::from_str(args).ok()?;
    Some((name, serde_json::to_string_pretty(&json).ok()?))
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
    fn rendered_prompts_split_back_into_messages() {
        let m = split_messages(
            "system: be brief\n\nuser: hi\nthere\n\nassistant: get_weather({\"city\":\"Paris\"})",
            "user",
        );
        assert_eq!(m.len(), 3);
        assert_eq!(
            (m[0].role.as_str(), m[0].content.as_str()),
            ("system", "be brief")
        );
        assert_eq!(m[1].content, "hi\nthere");
        assert_eq!(m[2].role, "assistant");
        let (name, args) = tool_call(&m[2].content).unwrap();
        assert_eq!(name, "get_weather");
        assert!(args.contains("\"city\": \"Paris\""));
        assert_eq!(
            split_messages("plain answer", "assistant")[0].role,
            "assistant"
        );
    }

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
