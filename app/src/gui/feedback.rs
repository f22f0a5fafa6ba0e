//! What is said about a call, a trace or a session — evaluators' scores, labels and
//! explanations, annotations, people's feedback — and the editor in which the user
//! gives (or changes, or removes) their own feedback there: thumbs up or down, a label
//! and a note, kept in the database as a human annotation.

use crate::gui::palette;
use egui::{RichText, Ui};
use std::sync::{Arc, Mutex};
use store::{EvalTarget, Evaluation, FEEDBACK, Feedback};

/// Feedback given in the editor, for the window to store; `status` hears how it went.
#[derive(Debug, Clone)]
pub struct FeedbackRequest {
    /// What to store.
    pub feedback: Feedback,
    /// Where the editor shows "saved" or why not.
    pub status: Arc<Mutex<Option<String>>>,
}

/// What feedback is about: the target and its ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// A call (span), a trace or a session.
    pub target: EvalTarget,
    /// The trace, 32 hex digits (span and trace targets).
    pub trace_id: Option<String>,
    /// The span, 16 hex digits (span targets).
    pub span_id: Option<String>,
    /// The session (session targets).
    pub session_id: Option<String>,
}

impl Subject {
    /// Whether `e` is said about this subject.
    pub fn is_about(&self, e: &Evaluation) -> bool {
        e.target == self.target
            && match self.target {
                EvalTarget::Span => e.trace_id == self.trace_id && e.span_id == self.span_id,
                EvalTarget::Trace => e.trace_id == self.trace_id,
                EvalTarget::Session => e.session_id == self.session_id,
            }
    }
}

/// The user's own feedback on one subject, being edited.
#[derive(Default)]
pub struct FeedbackEditor {
    /// The subject the fields were loaded for (reloaded when another is shown).
    loaded: Option<Subject>,
    thumbs_up: Option<bool>,
    label: String,
    note: String,
    status: Arc<Mutex<Option<String>>>,
}

impl FeedbackEditor {
    /// Draws the editor of the user's feedback on `subject`, loaded from what `said`
    /// (`None` while it is read) holds of theirs; returns feedback saved or removed.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        subject: Subject,
        said: Option<&[Evaluation]>,
    ) -> Option<FeedbackRequest> {
        let Some(said) = said else {
            ui.spinner();
            return None;
        };
        let about: Vec<&Evaluation> = said.iter().filter(|e| subject.is_about(e)).collect();
        if self.loaded.as_ref() != Some(&subject) {
            self.load(&about);
            self.loaded = Some(subject.clone());
        }
        let id = format!(
            "{}-{}",
            subject.target.as_str(),
            subject
                .span_id
                .as_deref()
                .or(subject.trace_id.as_deref())
                .or(subject.session_id.as_deref())
                .unwrap_or_default()
        );
        let mut asked = None;
        ui.horizontal(|ui| {
            for (up, word) in [(true, "Good"), (false, "Bad")] {
                let on = self.thumbs_up == Some(up);
                if ui.selectable_label(on, word).clicked() {
                    self.thumbs_up = if on { None } else { Some(up) };
                }
            }
        });
        ui.horizontal(|ui| {
            let name = ui.label("Label");
            ui.add(
                egui::TextEdit::singleline(&mut self.label)
                    .id_salt(("feedback_label", &id))
                    .hint_text("e.g. hallucination")
                    .desired_width(180.0),
            )
            .labelled_by(name.id);
        });
        let name = ui.label("Note");
        ui.add(
            egui::TextEdit::multiline(&mut self.note)
                .id_salt(("feedback_note", &id))
                .desired_rows(2)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(name.id);
        ui.horizontal(|ui| {
            let empty = self.thumbs_up.is_none()
                && self.label.trim().is_empty()
                && self.note.trim().is_empty();
            if ui
                .add_enabled(!empty, egui::Button::new("Save feedback"))
                .clicked()
            {
                asked = Some(self.request(&subject, false));
            }
            let given = about.iter().any(|e| e.given_here && e.name == FEEDBACK);
            if ui
                .add_enabled(given, egui::Button::new("Remove feedback"))
                .clicked()
            {
                (self.thumbs_up, self.label, self.note) = (None, String::new(), String::new());
                asked = Some(self.request(&subject, true));
            }
            if let Some(status) = self.status.lock().expect("status lock").as_ref() {
                ui.label(RichText::new(status).weak());
            }
        });
        asked
    }

    /// The fields from the feedback given here before, if any.
    fn load(&mut self, about: &[&Evaluation]) {
        let mine = about.iter().find(|e| e.given_here && e.name == FEEDBACK);
        self.thumbs_up = mine.and_then(|e| e.score).map(|s| s >= 0.5);
        self.label = mine.and_then(|e| e.label.clone()).unwrap_or_default();
        self.note = mine.and_then(|e| e.explanation.clone()).unwrap_or_default();
        *self.status.lock().expect("status lock") = None;
    }

    fn request(&self, subject: &Subject, remove: bool) -> FeedbackRequest {
        let text = |s: &str| Some(s.trim().to_string()).filter(|t| !t.is_empty() && !remove);
        *self.status.lock().expect("status lock") = Some("Saving…".into());
        FeedbackRequest {
            feedback: Feedback {
                time_ns: crate::timearg::now_ns(),
                target: subject.target,
                trace_id: subject
                    .trace_id
                    .as_deref()
                    .and_then(store::hex_to_trace_id)
                    .map(u128::to_be_bytes),
                span_id: subject
                    .span_id
                    .as_deref()
                    .and_then(|s| u64::from_str_radix(s, 16).ok())
                    .map(u64::to_be_bytes),
                session_id: subject.session_id.clone(),
                thumbs_up: self.thumbs_up.filter(|_| !remove),
                label: text(&self.label),
                note: text(&self.note),
            },
            status: self.status.clone(),
        }
    }
}

/// Each evaluation as a line: name, score, label, who, and the explanation beneath.
pub fn evaluation_list(ui: &mut Ui, said: &[&Evaluation]) {
    if said.is_empty() {
        ui.label(RichText::new("No evaluations").weak());
        return;
    }
    for e in said {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(&e.name).strong());
            if let Some(s) = e.score {
                let color = if s < 0.5 { palette::BAD } else { palette::GOOD };
                ui.label(RichText::new(format!("{s:.2}")).color(color));
            }
            if let Some(l) = &e.label {
                ui.label(l);
            }
            let who = match (e.given_here, e.annotator.as_deref()) {
                (true, _) => "given here".to_string(),
                (false, Some(a)) => a.to_lowercase(),
                (false, None) => "sent".to_string(),
            };
            ui.label(RichText::new(format!("({who})")).weak());
        });
        if let Some(x) = &e.explanation {
            ui.label(RichText::new(x).weak().italics());
        }
    }
}

/// Evaluations on one line, shorter than [`evaluation_list`]: `what: name score
/// label` each, `what` naming what it judges (a call's model, the turn), for a turn of
/// a session.
pub fn evaluation_chips(ui: &mut Ui, said: &[(String, &Evaluation)]) {
    if said.is_empty() {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Evaluations:").small().weak());
        for (what, e) in said {
            let mut text = format!("{what}: {}", e.name);
            if let Some(s) = e.score {
                text.push_str(&format!(" {s:.2}"));
            }
            if let Some(l) = &e.label {
                text.push_str(&format!(" {l}"));
            }
            let bad = e.score.is_some_and(|s| s < 0.5);
            let chip = RichText::new(text).small();
            ui.label(if bad { chip.color(palette::BAD) } else { chip });
        }
    });
}
