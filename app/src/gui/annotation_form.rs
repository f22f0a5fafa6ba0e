//! The form in which a user pins a note to a moment or a stretch of time (a deploy, a
//! prompt change) and removes notes. Every time chart marks the notes, PNG exports
//! included; they are kept in the database, so whoever opens the file sees them.

use crate::format;
use crate::gui::filter_state::parse_local;
use crate::gui::palette;
use egui::{Key, RichText, Vec2};
use std::sync::{Arc, Mutex};
use store::{AnnotationEdit, TimeAnnotation};

/// A note being written, with the stretch it is about.
pub struct AnnotationForm {
    from: String,
    to: String,
    text: String,
    /// Whether the note field was given the keyboard once.
    focused: bool,
    /// How the last change went (whether it went well, and in words): set here for a
    /// typo, by the writer's thread after a commit.
    status: Status,
}

/// How a form's last change went: (it went well, what to say).
pub type Status = Arc<Mutex<Option<(bool, String)>>>;

/// What the user did with the form this frame.
#[derive(Debug, PartialEq)]
pub enum FormOutcome {
    /// Nothing yet.
    Open,
    /// Closed it.
    Closed,
    /// Asked for these changes (a new note, or a note removed).
    Save(AnnotationEdit),
}

/// The window's title (also how tests find it).
pub const TITLE: &str = "Annotate a stretch of time";

/// How many of the stored notes the form lists.
const LISTED: usize = 12;

impl AnnotationForm {
    /// A form for a note on `from_ns..=to_ns` (a moment when equal).
    pub fn new(from_ns: i64, to_ns: i64) -> Self {
        AnnotationForm {
            from: format::local_time(from_ns),
            to: format::local_time(to_ns),
            text: String::new(),
            focused: false,
            status: Arc::default(),
        }
    }

    /// Where the form shows "saved" or why not (given to the writer's callback).
    pub fn status(&self) -> Status {
        self.status.clone()
    }

    /// Clears the note once it was added, for the next one.
    pub fn added(&mut self) {
        self.text.clear();
    }

    /// Draws the form over the window, with the stored `notes` (`None` while they are
    /// read) each with a button that removes it.
    pub fn show(&mut self, ctx: &egui::Context, notes: Option<&[TimeAnnotation]>) -> FormOutcome {
        let mut outcome = FormOutcome::Open;
        let mut open = true;
        egui::Window::new(TITLE)
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, Vec2::ZERO)
            .show(ctx, |ui| {
                ui.label("A deploy, a prompt change, an incident: every chart marks it.");
                egui::Grid::new("annotation_fields")
                    .num_columns(2)
                    .show(ui, |ui| {
                        for (name, text) in [("From", &mut self.from), ("To", &mut self.to)] {
                            let label = ui.label(name);
                            ui.add(egui::TextEdit::singleline(text).desired_width(180.0))
                                .labelled_by(label.id);
                            ui.end_row();
                        }
                        let label = ui.label("Note");
                        let note = ui
                            .add(
                                egui::TextEdit::singleline(&mut self.text)
                                    .hint_text("deploy v1.4")
                                    .char_limit(store::MAX_ANNOTATION_CHARS)
                                    .desired_width(320.0),
                            )
                            .labelled_by(label.id);
                        if !self.focused {
                            note.request_focus();
                            self.focused = true;
                        }
                        ui.end_row();
                    });
                let enter = ui.input(|i| i.key_pressed(Key::Enter));
                ui.horizontal(|ui| {
                    if ui.button("Add note").clicked() || enter {
                        match self.edit() {
                            Ok(edit) => {
                                self.say(true, "Saving…");
                                outcome = FormOutcome::Save(edit);
                            }
                            Err(e) => self.say(false, &e),
                        }
                    }
                    if ui.button("Close").clicked() {
                        outcome = FormOutcome::Closed;
                    }
                });
                if let Some((ok, s)) = self.status.lock().expect("status lock").as_ref() {
                    ui.colored_label(if *ok { palette::GOOD } else { palette::BAD }, s);
                }
                ui.separator();
                ui.label(RichText::new("Notes").strong());
                match notes {
                    None => {
                        ui.label("Reading…");
                    }
                    Some([]) => {
                        ui.label("None yet.");
                    }
                    Some(notes) => {
                        for n in notes.iter().rev().take(LISTED) {
                            ui.horizontal(|ui| {
                                if ui.small_button("Remove").clicked() {
                                    outcome = FormOutcome::Save(AnnotationEdit::Remove(n.id));
                                }
                                ui.label(format!("{}  {}", when(n), n.text));
                            });
                        }
                        if notes.len() > LISTED {
                            ui.label(format!("… and {} earlier", notes.len() - LISTED));
                        }
                    }
                }
            });
        if !open || ctx.input(|i| i.key_pressed(Key::Escape)) {
            outcome = FormOutcome::Closed;
        }
        outcome
    }

    /// The note the fields describe, or what is wrong with them.
    fn edit(&self) -> Result<AnnotationEdit, String> {
        let from = parse_local(&self.from).map_err(|e| format!("From: {e}"))?;
        let to = parse_local(&self.to).map_err(|e| format!("To: {e}"))?;
        AnnotationEdit::add(from, to, &self.text).map_err(|e| e.to_string())
    }

    fn say(&self, ok: bool, text: &str) {
        *self.status.lock().expect("status lock") = Some((ok, text.to_string()));
    }
}

/// A note's time as the list shows it: its moment, or its stretch.
fn when(n: &TimeAnnotation) -> String {
    if n.to_ns == n.from_ns {
        format::local_time(n.from_ns)
    } else {
        format!(
            "{} – {}",
            format::local_time(n.from_ns),
            format::local_time(n.to_ns)
        )
    }
}
