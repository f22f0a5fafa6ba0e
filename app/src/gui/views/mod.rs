//! The views of the window. Each is one file implementing [`View`]; the registry at
//! the bottom lists them, and the navigation, the keyboard shortcuts and the
//! dispatcher read it. Adding a view is one new file and one line of the registry.
//! A view reads typed queries through the cache in [`ViewCtx`] and hands back one
//! [`ViewAction`]: what the user asked for, for the window to carry out.

pub mod bands;
pub mod shared;
pub mod trace;

use crate::alerts::{AlertStatus, Rules};
use crate::gui::cache::QueryCache;
use crate::gui::export::{ExportItem, FileKind};
use crate::gui::filter_state::Resolved;
use egui::{KeyboardShortcut, Ui};
use std::path::Path;
use store::{Price, PriceTable};

/// What every view may read while it draws.
pub struct ViewCtx<'a> {
    /// The query cache of the open database.
    pub cache: &'a QueryCache,
    /// The filter bar's selection, resolved to times.
    pub resolved: &'a Resolved,
    /// Every stored model, busiest first (each model's colour is its place here).
    pub models: &'a [String],
    /// The prices in force.
    pub prices: &'a PriceTable,
    /// The alert rules in force.
    pub rules: &'a Rules,
    /// The evaluator's latest status; `None` when alerts are off.
    pub alert_status: Option<&'a AlertStatus>,
    /// Where edited rules are saved; `None` keeps them for this run.
    pub rules_file: Option<&'a Path>,
}

/// A view of the window: a page the navigation lists.
pub trait View {
    /// Called when its shortcut shows it (the Inspector puts the cursor in its search).
    fn on_shortcut(&mut self) {}
    /// Called when another view asks for its calls by a query (`pattern:12`): only the
    /// Inspector takes one.
    fn show_query(&mut self, _query: &str) {}
    /// Draws it and says what the user asked for.
    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> ViewAction;
}

/// A view as the navigation lists it.
pub struct Entry {
    /// Its name in the navigation (also what the window remembers across restarts).
    pub label: &'static str,
    /// The keys that show it: Ctrl (⌘ on macOS) and a key.
    pub shortcut: KeyboardShortcut,
    /// The view, with its own state.
    pub view: Box<dyn View>,
}

/// What a view hands back each frame.
#[derive(Debug, Default)]
pub struct ViewAction {
    /// Whether figures were on screen (for the start-up benchmark and screenshots).
    pub showed_data: bool,
    /// What the user asked for, in order.
    pub actions: Vec<Action>,
}

impl ViewAction {
    /// Records an export of `item` when `kind` was asked for.
    pub fn export_if(&mut self, kind: Option<FileKind>, item: impl FnOnce() -> ExportItem) {
        if let Some(k) = kind {
            self.actions.push(Action::Export(Box::new(item()), k));
        }
    }

    /// Records a note asked for on a chart's stretch (Unix seconds).
    pub fn annotate_if(&mut self, range: Option<(f64, f64)>) {
        if let Some((from, to)) = range {
            let ns = |s: f64| (s * 1e9).round() as i64;
            self.actions.push(Action::Annotate(ns(from), ns(to)));
        }
    }

    /// Records `action`.
    pub fn push(&mut self, action: Action) {
        self.actions.push(action);
    }
}

/// One thing a user asked for in a view.
#[derive(Debug)]
pub enum Action {
    /// Save a chart or table (opens the save dialog).
    Export(Box<ExportItem>, FileKind),
    /// Narrow the filter to these conditions and show the Traces view.
    Drill(Drill),
    /// Filter everything to this model.
    FilterModel(String),
    /// Filter everything to this end user.
    FilterUser(String),
    /// Switch the range to all time.
    ShowAllTime,
    /// List the calls matching this query in the Inspector.
    Inspect(String),
    /// Open a trace over the current view, with these words highlighted.
    OpenTrace {
        /// Its id (hex).
        trace_id: String,
        /// Words to highlight besides the filter's.
        highlights: Vec<String>,
    },
    /// Set a model's price for all history.
    SetPrice(String, Price),
    /// Put these alert rules in force.
    SetRules(Rules),
    /// Open the note form on this stretch (Unix ns, from ≤ to).
    Annotate(i64, i64),
    /// Store the user's feedback on a call, a trace or a session.
    GiveFeedback(crate::gui::feedback::FeedbackRequest),
}

/// Where a drill-down leads: the Traces view with these conditions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drill {
    /// The period, Unix ns (from, to).
    pub period: Option<(i64, i64)>,
    /// A latency band in ms: from (inclusive), to (exclusive; none for open-ended).
    pub latency_ms: Option<(f64, Option<f64>)>,
    /// Only this model.
    pub model: Option<String>,
    /// Only failed calls, and of this error type when given.
    pub errors: Option<Option<String>>,
}

impl Drill {
    /// The traces of the bucket of `bucket_ns` holding `x` (Unix seconds, as a chart
    /// reports a click).
    pub fn bucket_at(x: f64, bucket_ns: i64) -> Drill {
        let start = ((x * 1e9) as i64).div_euclid(bucket_ns) * bucket_ns;
        Drill {
            period: Some((start, start + bucket_ns)),
            ..Drill::default()
        }
    }
}

/// Declares the views' modules and lists them in navigation order, one line per view:
/// `module::Type => label, key;` (the key with Ctrl, ⌘ on macOS, shows it).
macro_rules! registry {
    ($($module:ident::$view:ident => $label:expr, $key:ident;)*) => {
        $(pub mod $module;)*

        /// Every view, in navigation order.
        pub fn registry() -> Vec<Entry> {
            vec![$(Entry {
                label: $label,
                shortcut: KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::$key),
                view: Box::new($module::$view::default()),
            }),*]
        }
    };
}

registry! {
    overview::OverviewView => "Overview", Num1;
    latency::LatencyView => "Latency", Num2;
    models::ModelsView => "Models", Num3;
    costs::CostsView => "Costs", Num4;
    prompts::PromptsView => "Prompts", P;
    errors::ErrorsView => "Errors", Num5;
    traces::TracesView => traces::TRACES, Num6;
    sessions::SessionsView => "Sessions", Num7;
    agents::AgentsView => "Agents", Num9;
    evaluations::EvaluationsView => "Evaluations", Num0;
    metrics::MetricsView => "Metrics", M;
    inspector::Inspector => inspector::INSPECTOR, F;
    alerts::AlertsView => "Alerts", Num8;
}
