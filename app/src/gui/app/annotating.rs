//! The note form: opened from a chart (a drag across it, or its *Note…* button), its
//! changes stored through the database's writer off the frame loop, its list read
//! through the cache like every query.

use super::super::annotation_form::{AnnotationForm, FormOutcome};
use super::super::queries::TimeAnnotations;
use super::ObservatoryApp;
use store::{AnnotationEdit, Batch};

impl ObservatoryApp {
    /// Opens the note form on `from_ns..=to_ns`.
    pub(super) fn annotate(&mut self, from_ns: i64, to_ns: i64) {
        self.annotating = Some(AnnotationForm::new(from_ns, to_ns));
    }

    /// Draws the note form, if open, and carries out what was asked of it.
    pub(super) fn annotation_window(&mut self, ctx: &egui::Context) {
        let Some(form) = &mut self.annotating else {
            return;
        };
        let notes = self
            .db
            .cache
            .as_ref()
            .and_then(|c| c.get::<TimeAnnotations>(()).value);
        match form.show(ctx, notes.as_deref().map(Vec::as_slice)) {
            FormOutcome::Open => {}
            FormOutcome::Closed => self.annotating = None,
            FormOutcome::Save(edit) => self.save_annotation(edit),
        }
    }

    /// Stores a note (or removes one) through the writer; the form hears how it went
    /// and the charts read it back at the next data version.
    fn save_annotation(&mut self, edit: AnnotationEdit) {
        let Some(form) = &mut self.annotating else {
            return;
        };
        let status = form.status();
        let Some(writer) = self.db.session.as_ref().and_then(|s| s.writer.clone()) else {
            *status.lock().expect("status lock") = Some((
                false,
                "Not saved: notes are kept in a local database opened for writing".into(),
            ));
            return;
        };
        let adding = matches!(edit, AnnotationEdit::Add { .. });
        if adding {
            form.added();
        }
        let ctx = self.ctx.clone();
        writer.submit(
            Batch {
                annotations: vec![edit],
                ..Batch::default()
            },
            move |outcome| {
                *status.lock().expect("status lock") = Some(match outcome {
                    Ok(_) if adding => (true, "Added: every chart marks it".into()),
                    Ok(_) => (true, "Removed".into()),
                    Err(e) => (false, format!("Not saved: {e}")),
                });
                ctx.request_repaint();
            },
        );
    }
}
