//! Which view shows: the registry's views, the one shown, an open trace over it, and
//! where Back leads. The side panel and the views' shortcuts read the registry.

use super::super::views::inspector::INSPECTOR;
use super::super::views::trace::TraceView;
use super::super::views::{Entry, View, registry};
use egui::Ui;

/// Width of the navigation panel.
const PANEL_WIDTH: f32 = 130.0;

/// The views and the way between them.
pub(super) struct Navigation {
    /// Every view, in the registry's order; each keeps its own state.
    views: Vec<Entry>,
    /// The index of the view shown.
    current: usize,
    /// The open trace, shown over the current view.
    pub(super) trace: Option<TraceView>,
    /// Where Back goes: earlier views.
    history: Vec<usize>,
}

impl Navigation {
    /// The registry's views, showing the one labelled `remembered` (else the first).
    pub(super) fn new(remembered: &str) -> Navigation {
        let views = registry();
        let current = views
            .iter()
            .position(|v| v.label == remembered)
            .unwrap_or(0);
        Navigation {
            views,
            current,
            trace: None,
            history: Vec::new(),
        }
    }

    /// The label of the view shown (under any open trace).
    pub(super) fn current_label(&self) -> &'static str {
        self.views[self.current].label
    }

    /// The view shown (under any open trace).
    pub(super) fn current(&mut self) -> &mut dyn View {
        self.views[self.current].view.as_mut()
    }

    /// Shows the view at `index`, remembering where Back returns.
    pub(super) fn go(&mut self, index: usize) {
        if self.trace.is_none() && self.current == index {
            return;
        }
        self.history.push(self.current);
        self.trace = None;
        self.current = index;
    }

    /// Shows the view labelled `label`.
    pub(super) fn go_to(&mut self, label: &str) {
        if let Some(i) = self.views.iter().position(|v| v.label == label) {
            self.go(i);
        }
    }

    /// Shows the Inspector listing the calls that match `query`.
    pub(super) fn inspect(&mut self, query: &str) {
        self.go_to(INSPECTOR);
        if self.current_label() == INSPECTOR {
            self.current().show_query(query);
        }
    }

    /// Opens a trace over the current view.
    pub(super) fn open_trace(&mut self, trace: TraceView) {
        self.trace = Some(trace);
    }

    /// Back: closes an open trace, else returns to the previous view.
    pub(super) fn back(&mut self) {
        if self.trace.take().is_some() {
            return;
        }
        if let Some(v) = self.history.pop() {
            self.current = v;
        }
    }

    /// Each view's name and shortcut, in navigation order (for the shortcuts window).
    pub(super) fn shortcut_list(&self) -> Vec<(&'static str, egui::KeyboardShortcut)> {
        self.views.iter().map(|v| (v.label, v.shortcut)).collect()
    }

    /// Shows the view whose shortcut was pressed.
    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) {
        let pressed = self
            .views
            .iter()
            .position(|v| ctx.input_mut(|i| i.consume_shortcut(&v.shortcut)));
        if let Some(i) = pressed {
            self.go(i);
            self.views[i].view.on_shortcut();
        }
    }

    /// The panel listing the views.
    pub(super) fn side_panel(&mut self, ui: &mut Ui) {
        egui::Panel::left("navigation")
            .resizable(false)
            .exact_size(PANEL_WIDTH)
            .show(ui, |ui| {
                ui.add_space(8.0);
                let mut clicked = None;
                for (i, v) in self.views.iter().enumerate() {
                    let shortcut = ui.ctx().format_shortcut(&v.shortcut);
                    if ui
                        .selectable_label(self.trace.is_none() && self.current == i, v.label)
                        .on_hover_text(shortcut)
                        .clicked()
                    {
                        clicked = Some(i);
                    }
                }
                if let Some(i) = clicked {
                    self.go(i);
                }
            });
    }
}
