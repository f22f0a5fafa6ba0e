//! Help > Keyboard shortcuts: every key the window answers, listed from the same
//! definitions the frame loop consumes (the window's own below, each view's from the
//! registry), in the platform's words (Ctrl on Linux and Windows, ⌘ on macOS).

use super::ObservatoryApp;
use egui::{Key, KeyboardShortcut, Modifiers, RichText};

/// Open a database.
pub(super) const OPEN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
/// Import OTLP files.
pub(super) const IMPORT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::I);
/// Export a report of the selection.
pub(super) const REPORT: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::E);
/// Save a snapshot of the selection to share.
pub(super) const SNAPSHOT: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::S);
/// Quit.
pub(super) const QUIT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Q);
/// Back to the previous view (Esc too, when no field has the cursor).
pub(super) const BACK: KeyboardShortcut = KeyboardShortcut::new(Modifiers::ALT, Key::ArrowLeft);
/// This list.
pub(super) const HELP: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F1);

/// The title of the shortcuts window (and its menu entry).
pub(super) const SHORTCUTS_TITLE: &str = "Keyboard shortcuts";

/// Keys that work inside views, with no shortcut object of their own.
const IN_VIEWS: [(&str, &str); 5] = [
    (
        "↑ / ↓",
        "Move through the rows of a table (Traces, Inspector, Sessions…)",
    ),
    (
        "Enter",
        "Open the selected row; in a filter field, apply it",
    ),
    ("Esc", "Back, or close the open dialog"),
    ("Drag across a chart", "Add a note to that stretch of time"),
    ("Click a chart", "The traces of that moment"),
];

impl ObservatoryApp {
    /// The Help menu.
    pub(super) fn help_menu(&mut self, ui: &mut egui::Ui) {
        ui.menu_button("Help", |ui| {
            let shortcut = ui.ctx().format_shortcut(&HELP);
            if ui
                .add(egui::Button::new(format!("{SHORTCUTS_TITLE}…")).shortcut_text(shortcut))
                .clicked()
            {
                self.showing_shortcuts = true;
            }
        });
    }

    /// The shortcuts window, while open.
    pub(super) fn shortcuts_window(&mut self, ctx: &egui::Context) {
        if ctx.input_mut(|i| i.consume_shortcut(&HELP)) {
            self.showing_shortcuts = !self.showing_shortcuts;
        }
        if !self.showing_shortcuts {
            return;
        }
        let mut open = true;
        let window = [
            ("Open database…", OPEN),
            ("Import OTLP files…", IMPORT),
            ("Export report…", REPORT),
            ("Save snapshot…", SNAPSHOT),
            ("Back", BACK),
            (SHORTCUTS_TITLE, HELP),
            ("Quit", QUIT),
        ];
        let views = self.nav.shortcut_list();
        egui::Window::new(SHORTCUTS_TITLE)
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ctx, |ui| {
                let group = |ui: &mut egui::Ui, id: &str, rows: &[(&str, String)]| {
                    egui::Grid::new(id)
                        .num_columns(2)
                        .spacing([24.0, 4.0])
                        .show(ui, |ui| {
                            for (what, keys) in rows {
                                ui.label(RichText::new(keys).monospace().strong());
                                ui.label(*what);
                                ui.end_row();
                            }
                        });
                };
                let named =
                    |list: &[(&'static str, KeyboardShortcut)]| -> Vec<(&'static str, String)> {
                        list.iter()
                            .map(|(what, s)| (*what, ctx.format_shortcut(s)))
                            .collect()
                    };
                ui.label(RichText::new("Window").strong());
                group(ui, "window_keys", &named(&window));
                ui.add_space(8.0);
                ui.label(RichText::new("Views").strong());
                group(ui, "view_keys", &named(&views));
                ui.add_space(8.0);
                ui.label(RichText::new("In a view").strong());
                let in_views: Vec<(&str, String)> = IN_VIEWS
                    .iter()
                    .map(|(k, what)| (*what, k.to_string()))
                    .collect();
                group(ui, "in_view_keys", &in_views);
            });
        if !open || ctx.input(|i| i.key_pressed(Key::Escape)) {
            self.showing_shortcuts = false;
        }
    }
}
