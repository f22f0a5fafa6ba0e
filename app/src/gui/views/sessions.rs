//! The Sessions view: the conversations of the selection — last activity, user, turns,
//! LLM calls, tokens, cost, failed turns and the message that opened each —, sortable
//! and searchable by session or user id; a Users table beside it (a click lists that
//! user's sessions). A click on a session opens its page: the conversation turn by
//! turn as a chat, each user message and the answer it got, with the agent, tool and
//! LLM steps of the turn folded beneath it and a link to the turn's trace.

use super::{Action, View, ViewAction, ViewCtx};
use crate::format;
use crate::gui::cache::{Answer, QueryCache};
use crate::gui::paged_rows::{
    ROW_H, Window, arrow_step, enter_pressed, placeholder_row, scroll_area, text_row, window_for,
};
use crate::gui::palette;
use crate::gui::feedback::{FeedbackEditor, Subject, evaluation_chips, evaluation_list};
use crate::gui::queries::{
    Page, SessionEvaluations, SessionTurns, SessionsPage, TurnSteps, UsersPage,
};
use egui::{RichText, Ui, vec2};
use store::{
    Filter, SessionRow, SessionSort, SessionTurn, SortDir, SpanClass, TraceTree, UserRow,
};

/// Which table the view shows.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Table {
    #[default]
    Sessions,
    Users,
}

/// The view's own state.
#[derive(Default)]
pub struct SessionsView {
    table: Table,
    search: String,
    sort: SessionSort,
    dir: SortDir,
    selected: Option<usize>,
    visible: std::ops::Range<usize>,
    /// The session whose page is open.
    open: Option<String>,
    /// The user's feedback on the open session.
    feedback: FeedbackEditor,
    /// The open session's turns whose steps were unfolded in the last frame: their
    /// spans are asked for.
    unfolded: Vec<u128>,
}

/// A column: title, what it sorts by (none: not sortable), width.
type Column = (&'static str, Option<SessionSort>, f32);

const SESSION_COLUMNS: [Column; 10] = [
    ("Last activity", Some(SessionSort::LastActivity), 150.0),
    ("Started", Some(SessionSort::Start), 150.0),
    ("Session", None, 160.0),
    ("User", None, 100.0),
    ("Turns", Some(SessionSort::Turns), 55.0),
    ("LLM calls", Some(SessionSort::Calls), 75.0),
    ("Tokens", Some(SessionSort::Tokens), 70.0),
    ("Cost", Some(SessionSort::Cost), 70.0),
    ("Failed", Some(SessionSort::Errors), 55.0),
    ("Opening message", None, 320.0),
];

const USER_COLUMNS: [Column; 8] = [
    ("Last seen", Some(SessionSort::LastActivity), 150.0),
    ("User", None, 160.0),
    ("Sessions", None, 70.0),
    ("Turns", Some(SessionSort::Turns), 55.0),
    ("LLM calls", Some(SessionSort::Calls), 75.0),
    ("Tokens", Some(SessionSort::Tokens), 70.0),
    ("Cost", Some(SessionSort::Cost), 70.0),
    ("Failed", Some(SessionSort::Errors), 55.0),
];

impl View for SessionsView {
    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> ViewAction {
        let mut action = ViewAction {
            showed_data: true,
            ..ViewAction::default()
        };
        if let Some(id) = self.open.clone() {
            if ui.button("Back to all sessions").clicked() {
                self.open = None;
                self.unfolded.clear();
            } else {
                let page = SessionPage {
                    cache: ctx.cache,
                    id: &id,
                    feedback: &mut self.feedback,
                    unfolded: &mut self.unfolded,
                };
                page.ui(ui, &mut action);
            }
            return action;
        }
        ui.horizontal(|ui| {
            for (table, label) in [(Table::Sessions, "Sessions"), (Table::Users, "Users")] {
                if ui.selectable_label(self.table == table, label).clicked() && self.table != table
                {
                    self.table = table;
                    self.selected = None;
                }
            }
            ui.separator();
            ui.label("Find");
            let edit = ui.add(
                egui::TextEdit::singleline(&mut self.search)
                    .hint_text("session or user id")
                    .desired_width(220.0),
            );
            if edit.changed() {
                self.selected = None;
            }
        });
        let filter = &ctx.resolved.filter;
        match self.table {
            Table::Sessions => {
                if let Some(id) = self.sessions(ui, ctx.cache, filter) {
                    self.open = Some(id);
                }
            }
            Table::Users => {
                if let Some(user) = self.users(ui, ctx.cache, filter) {
                    // Everything narrows to the user (the filter bar says so and drops
                    // it); here, the user's sessions.
                    action.push(Action::FilterUser(user));
                    self.search.clear();
                    self.table = Table::Sessions;
                    self.selected = None;
                }
            }
        }
        action
    }
}

impl SessionsView {
    /// The sessions table; returns the session to open.
    fn sessions(&mut self, ui: &mut Ui, cache: &QueryCache, filter: &Filter) -> Option<String> {
        let answer = cache.get::<SessionsPage>(self.page_key(filter));
        let data = shown_page(ui, &answer, "sessions")?;
        let total = data.2 as usize;
        if total == 0 {
            ui.label(
                "No sessions in the selection: spans name their session with \
                 gen_ai.conversation.id, session.id or OpenLLMetry's session_id \
                 association property.",
            );
            return None;
        }
        let window = Window {
            offset: data.0,
            rows: &data.1,
        };
        self.header(ui, &SESSION_COLUMNS);
        let mut open = None;
        let step = arrow_step(ui, self.selected, total);
        if step.is_some() {
            self.selected = step;
        }
        if enter_pressed(ui)
            && let Some(r) = self.selected.and_then(|s| window.get(s))
        {
            open = Some(r.session_id.clone());
        }
        scroll_area(ui, step, &self.visible).show_rows(ui, ROW_H, total, |ui, range| {
            self.visible = range.clone();
            for i in range {
                match window.get(i) {
                    Some(s) => {
                        if cells(ui, &SESSION_COLUMNS, &session_cells(s), s.errors > 0, self.selected == Some(i), &format!("session {}", s.session_id)) {
                            self.selected = Some(i);
                            open = Some(s.session_id.clone());
                        }
                    }
                    None => placeholder_row(ui),
                }
            }
        });
        open
    }

    /// The users table; returns the user clicked.
    fn users(&mut self, ui: &mut Ui, cache: &QueryCache, filter: &Filter) -> Option<String> {
        let answer = cache.get::<UsersPage>(self.page_key(filter));
        let data = shown_page(ui, &answer, "users")?;
        let total = data.2 as usize;
        let window = Window {
            offset: data.0,
            rows: &data.1,
        };
        self.header(ui, &USER_COLUMNS);
        let mut clicked = None;
        scroll_area(ui, None, &self.visible).show_rows(ui, ROW_H, total, |ui, range| {
            self.visible = range.clone();
            for i in range {
                match window.get(i) {
                    Some(u) => {
                        if cells(ui, &USER_COLUMNS, &user_cells(u), u.errors > 0, false, &format!("user {}", u.user_id)) {
                            clicked = Some(u.user_id.clone());
                        }
                    }
                    None => placeholder_row(ui),
                }
            }
        });
        clicked
    }

    /// What the visible rows of either table are asked with: (filter, search, sort,
    /// direction, offset, limit).
    fn page_key(&self, filter: &Filter) -> (Filter, String, SessionSort, SortDir, u64, u64) {
        let (offset, limit) = window_for(&self.visible);
        (
            filter.clone(),
            self.search.trim().to_string(),
            self.sort,
            self.dir,
            offset,
            limit,
        )
    }

    /// The columns' titles; a click sorts by the column, again reverses.
    fn header(&mut self, ui: &mut Ui, columns: &[Column]) {
        ui.horizontal(|ui| {
            for (title, sort, width) in columns {
                let arrow = match (*sort == Some(self.sort), self.dir) {
                    (true, SortDir::Asc) => " ^",
                    (true, SortDir::Desc) => " v",
                    _ => "",
                };
                let text = RichText::new(format!("{title}{arrow}")).strong();
                let clicked = ui
                    .allocate_ui_with_layout(
                        vec2(*width, 20.0),
                        egui::Layout::left_to_right(egui::Align::Center),
                        |ui| {
                            ui.set_min_width(*width);
                            if sort.is_some() {
                                ui.add(egui::Button::new(text).frame(false))
                                    .on_hover_text(format!("Sort by {}", title.to_lowercase()))
                                    .clicked()
                            } else {
                                ui.label(text);
                                false
                            }
                        },
                    )
                    .inner;
                if let Some(sort) = sort.filter(|_| clicked) {
                    if self.sort == sort {
                        self.dir = match self.dir {
                            SortDir::Asc => SortDir::Desc,
                            SortDir::Desc => SortDir::Asc,
                        };
                    } else {
                        self.sort = sort;
                        self.dir = SortDir::Desc;
                    }
                    self.selected = None;
                }
            }
        });
    }
}

/// A page once it has come, with how many rows there are in all (`noun`: what they
/// are); meanwhile a spinner, and the error of a failed query.
fn shown_page<'a, T>(ui: &mut Ui, answer: &'a Answer<Page<T>>, noun: &str) -> Option<&'a Page<T>> {
    if let Some(e) = &answer.error {
        ui.colored_label(palette::BAD, format!("Query failed: {e}"));
    }
    let Some(data) = answer.value.as_deref() else {
        ui.spinner();
        return None;
    };
    ui.label(format!("{} {noun}", format::integer(data.2)));
    Some(data)
}

fn session_cells(s: &SessionRow) -> Vec<String> {
    vec![
        format::local_time(s.last_end_ns),
        format::local_time(s.first_start_ns),
        s.session_id.clone(),
        s.user_id.clone().unwrap_or_default(),
        format::integer(s.turns),
        format::integer(s.llm_calls),
        format::count(s.tokens as f64),
        format::usd(s.cost_usd),
        format::integer(s.errors),
        s.first_message.clone().unwrap_or_default().replace('\n', " "),
    ]
}

fn user_cells(u: &UserRow) -> Vec<String> {
    vec![
        format::local_time(u.last_end_ns),
        u.user_id.clone(),
        format::integer(u.sessions),
        format::integer(u.turns),
        format::integer(u.llm_calls),
        format::count(u.tokens as f64),
        format::usd(u.cost_usd),
        format::integer(u.errors),
    ]
}

/// One row of a table; true when clicked. The failed count is coloured when some failed.
fn cells(
    ui: &mut Ui,
    columns: &[Column],
    texts: &[String],
    failed: bool,
    selected: bool,
    label: &str,
) -> bool {
    let widths: Vec<f32> = columns.iter().map(|c| c.2).collect();
    let alert = columns
        .iter()
        .position(|c| c.0 == "Failed")
        .filter(|_| failed);
    text_row(ui, &widths, texts, alert, selected, label)
}

/// The open session: each turn as the user's message and the answer, its steps folded
/// beneath (asked for when unfolded).
struct SessionPage<'a> {
    cache: &'a QueryCache,
    id: &'a str,
    feedback: &'a mut FeedbackEditor,
    unfolded: &'a mut Vec<u128>,
}

impl SessionPage<'_> {
    fn ui(self, ui: &mut Ui, action: &mut ViewAction) {
        let SessionPage {
            cache,
            id,
            feedback,
            unfolded,
        } = self;
        ui.heading(format!("Session {id}"));
        let said = cache.get::<SessionEvaluations>(id.to_string());
        let said = said.value.as_deref().map(Vec::as_slice);
        let answer = cache.get::<SessionTurns>(id.to_string());
        if let Some(e) = &answer.error {
            ui.colored_label(palette::BAD, format!("Query failed: {e}"));
        }
        let Some(turns) = answer.value.as_deref() else {
            ui.spinner();
            return;
        };
        let steps_answer = (!unfolded.is_empty()).then(|| cache.get::<TurnSteps>(unfolded.clone()));
        let steps_of = |trace_id: &str| {
            steps_answer
                .as_ref()
                .and_then(|a| a.value.as_deref())
                .and_then(|trees| trees.iter().find(|t| t.trace_id == trace_id))
        };
        ui.label(format!(
            "{} turns · {} LLM calls · {} tokens · {}",
            turns.len(),
            turns.iter().map(|t| t.calls.len()).sum::<usize>(),
            format::count(turns.iter().map(|t| t.tokens).sum::<u64>() as f64),
            format::usd(turns.iter().map(|t| t.cost_usd).sum::<f64>()),
        ));
        let mut now_unfolded = Vec::new();
        egui::ScrollArea::vertical()
            .auto_shrink(false)
            .show(ui, |ui| {
                let session = Subject {
                    target: store::EvalTarget::Session,
                    trace_id: None,
                    span_id: None,
                    session_id: Some(id.to_string()),
                };
                egui::CollapsingHeader::new("Evaluations and your feedback on this session")
                    .id_salt(("session feedback", id))
                    .show(ui, |ui| {
                        let about: Vec<_> = said
                            .unwrap_or_default()
                            .iter()
                            .filter(|e| session.is_about(e))
                            .collect();
                        evaluation_list(ui, &about);
                        if let Some(request) = feedback.ui(ui, session.clone(), said) {
                            action.push(Action::GiveFeedback(request));
                        }
                    });
                for (n, turn) in turns.iter().enumerate() {
                    ui.separator();
                    turn_header(ui, n, turn, action);
                    bubble(ui, "User", turn.asked.as_deref(), false);
                    bubble(ui, "Assistant", turn.answered.as_deref(), true);
                    let of_turn: Vec<(String, &store::Evaluation)> = said
                        .unwrap_or_default()
                        .iter()
                        .filter(|e| e.trace_id.as_deref() == Some(turn.trace_id.as_str()))
                        .map(|e| (judged(turn, e), e))
                        .collect();
                    evaluation_chips(ui, &of_turn);
                    egui::CollapsingHeader::new(format!("{} steps", turn.spans))
                        .id_salt(("turn steps", &turn.trace_id))
                        .show(ui, |ui| {
                            now_unfolded.extend(store::hex_to_trace_id(&turn.trace_id));
                            match steps_of(&turn.trace_id) {
                                Some(tree) => steps(ui, tree),
                                None => {
                                    ui.spinner();
                                }
                            }
                        });
                }
            });
        *unfolded = now_unfolded;
    }
}

/// A turn's number, time, duration, tokens, cost and failure, and a link to its trace.
fn turn_header(ui: &mut Ui, n: usize, turn: &SessionTurn, action: &mut ViewAction) {
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!(
                "Turn {} · {} · {} · {} tokens · {}",
                n + 1,
                format::local_time(turn.start_ns),
                format::millis(turn.duration_ns as f64 / 1e6),
                format::count(turn.tokens as f64),
                format::usd(turn.cost_usd)
            ))
            .strong(),
        );
        if turn.failed {
            ui.colored_label(palette::BAD, "failed");
        }
        if ui.link("Open trace").clicked() {
            action.push(Action::OpenTrace {
                trace_id: turn.trace_id.clone(),
                highlights: Vec::new(),
            });
        }
    });
}

/// What an evaluation of a turn judges, in words: the model of the call it is about,
/// else "call" for a call without one, else the turn.
fn judged(turn: &SessionTurn, e: &store::Evaluation) -> String {
    let Some(span) = e.span_id.as_deref() else {
        return "turn".into();
    };
    match turn.calls.iter().find(|(id, _)| id == span) {
        Some((_, Some(model))) => model.clone(),
        Some((_, None)) => "call".into(),
        None => "step".into(),
    }
}

/// A message of the chat, or a note that the turn has none.
fn bubble(ui: &mut Ui, who: &str, text: Option<&str>, answer: bool) {
    let fill = if answer {
        ui.visuals().faint_bg_color
    } else {
        ui.visuals().extreme_bg_color
    };
    egui::Frame::new()
        .fill(fill)
        .corner_radius(6.0)
        .inner_margin(8.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width().min(900.0));
            ui.label(RichText::new(who).small().weak());
            match text {
                Some(t) => ui.label(t),
                None => ui.label(RichText::new("(none recorded)").weak().italics()),
            };
        });
}

/// The turn's spans, indented by depth: class, name, latency, tokens, cost.
fn steps(ui: &mut Ui, tree: &TraceTree) {
    for s in &tree.spans {
        ui.horizontal(|ui| {
            ui.add_space(s.depth as f32 * 16.0);
            let class = if s.class == SpanClass::Other {
                String::new()
            } else {
                format!("[{}] ", s.class.label())
            };
            ui.label(RichText::new(format!("{class}{}", s.name)).monospace());
            let mut detail = format::millis(s.duration_ns as f64 / 1e6);
            if let Some(model) = &s.model {
                let tokens = s.input_tokens.unwrap_or(0) + s.output_tokens.unwrap_or(0);
                detail.push_str(&format!(" · {model} · {} tokens", format::count(tokens as f64)));
            }
            if let Some(cost) = s.cost_usd {
                detail.push_str(&format!(" · {}", format::usd(cost)));
            }
            ui.label(RichText::new(detail).weak());
            if s.status == store::StatusCode::Error {
                ui.colored_label(palette::BAD, "error");
            }
        });
    }
}
