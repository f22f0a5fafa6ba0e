//! The top bar's first line: the File menu, the open database, the live indicator, the
//! theme; and under the filter bar, the error and notices.

use super::super::palette;
use super::super::session::file_name;
use super::ObservatoryApp;
use super::dialogs::DialogKind;
use super::help;
use crate::format;
use crate::gui::export::FileKind;
use egui::{Align, Button, Color32, Layout, RichText, Sense, Ui, Vec2};
use std::time::Instant;

impl ObservatoryApp {
    pub(super) fn menu(&mut self, ui: &mut Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                let keys = |s| ui.ctx().format_shortcut(s);
                let (open, import, quit) =
                    (keys(&help::OPEN), keys(&help::IMPORT), keys(&help::QUIT));
                let (report, snapshot) = (keys(&help::REPORT), keys(&help::SNAPSHOT));
                if ui
                    .add(Button::new("Open database…").shortcut_text(open))
                    .clicked()
                {
                    self.show_dialog(DialogKind::Open);
                }
                if ui
                    .add(Button::new("Import OTLP files…").shortcut_text(import))
                    .clicked()
                {
                    self.show_dialog(DialogKind::Import);
                }
                if ui
                    .add(Button::new("Export report…").shortcut_text(report))
                    .on_hover_text("The selection's KPIs, charts, models, errors, slowest traces and alerts as one HTML file")
                    .clicked()
                {
                    self.asked = Some(super::Asked::Report(FileKind::Html));
                }
                if ui
                    .button("Export report as PDF…")
                    .on_hover_text("The same report on A4 pages")
                    .clicked()
                {
                    self.asked = Some(super::Asked::Report(FileKind::Pdf));
                }
                if ui
                    .add(Button::new("Save snapshot…").shortcut_text(snapshot))
                    .on_hover_text("The selection's traces, alerts and notes as a small database that opens on this view and these filters, to share")
                    .clicked()
                {
                    self.asked = Some(super::Asked::Snapshot);
                }
                if ui.button("Connect to ClickHouse…").clicked() {
                    self.show_dialog(DialogKind::ClickHouse);
                }
                ui.menu_button("Recent", |ui| {
                    if self.prefs.recent.is_empty() {
                        ui.label("No recent databases");
                    }
                    for p in self.prefs.recent.clone() {
                        if ui.button(p.display().to_string()).clicked() {
                            self.open(p, false);
                        }
                    }
                });
                ui.separator();
                if ui.add(Button::new("Quit").shortcut_text(quit)).clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            self.help_menu(ui);
            ui.separator();
            match (&self.db.session, &self.db.opening) {
                (_, Some(o)) => {
                    ui.spinner();
                    match o.upgrading.lock().expect("upgrade step").as_deref() {
                        Some(step) => ui.label(format!("Opening {}: {step}…", file_name(&o.path))),
                        None => ui.label(format!("Opening {}…", file_name(&o.path))),
                    };
                }
                (Some(s), None) => {
                    ui.label(RichText::new(s.file_name()).strong())
                        .on_hover_text(s.path.display().to_string());
                    if let Some(why) = &s.read_only {
                        let what = if s.snapshot { "snapshot, read-only" } else { "read-only" };
                        ui.label(RichText::new(what).color(palette::WARN))
                            .on_hover_text(why);
                    }
                }
                (None, None) => {
                    ui.label("No database open");
                }
            }
            ui.separator();
            self.live_indicator(ui);
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                theme_picker(ui);
                if self.db.cache.as_ref().is_some_and(|c| c.busy()) {
                    // Words, not a spinner: a spinner repaints every frame while it
                    // shows, and a live view's queries run often.
                    ui.label(RichText::new("Updating").weak());
                }
            });
        });
    }

    fn live_indicator(&mut self, ui: &mut Ui) {
        let Some(session) = self.db.session.as_ref() else {
            return;
        };
        let Some(live) = session.live.as_ref() else {
            ui.label(RichText::new("Not receiving").weak())
                .on_hover_text("No OTLP receiver is running for this database");
            return;
        };
        let now = Instant::now();
        self.db.rate.sample(now, session.spans_arrived());
        let flowing = self.db.rate.flowing(now);
        let (rect, _) = ui.allocate_exact_size(Vec2::splat(12.0), Sense::hover());
        let color = if flowing {
            palette::GOOD
        } else {
            Color32::GRAY
        };
        ui.painter().circle_filled(rect.center(), 5.0, color);
        let mut addrs = Vec::new();
        if let Some(a) = live.grpc() {
            addrs.push(format!("gRPC {a}"));
        }
        if let Some(a) = live.http() {
            addrs.push(format!("HTTP {a}"));
        }
        let text = format!(
            "{} · {} spans/s",
            addrs.join(" · "),
            format::count(self.db.rate.rate())
        );
        ui.label(text)
            .on_hover_text("Listening for OTLP (traces, logs, metrics)");
    }

    pub(super) fn notices_bar(&mut self, ui: &mut Ui) {
        if let Some(e) = self.messages.error.clone() {
            ui.horizontal(|ui| {
                ui.colored_label(palette::BAD, &e);
                if ui.small_button("Dismiss").clicked() {
                    self.messages.error = None;
                }
            });
        }
        let mut dismissed = None;
        for (i, n) in self.messages.notices.iter().enumerate() {
            ui.horizontal(|ui| {
                ui.colored_label(palette::WARN, n);
                if ui.small_button("Dismiss").clicked() {
                    dismissed = Some(i);
                }
            });
        }
        if let Some(i) = dismissed {
            self.messages.notices.remove(i);
        }
    }
}

/// Dark, light, or as the system says; egui keeps the choice across restarts.
fn theme_picker(ui: &mut Ui) {
    use egui::ThemePreference;
    let mut pref = ui.options(|o| o.theme_preference);
    for (p, label) in [
        (ThemePreference::Light, "Light"),
        (ThemePreference::Dark, "Dark"),
        (ThemePreference::System, "System"),
    ] {
        ui.selectable_value(&mut pref, p, label)
            .on_hover_text(format!("{label} theme"));
    }
    ui.ctx().set_theme(pref);
}
