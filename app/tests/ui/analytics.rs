//! The analytics views (Latency, Models, Costs, Errors) and exports, driven through the
//! window against a database of known synthetic traffic: every figure checked against
//! the store's own query, a price edit reprices history, a heatmap cell lands on its
//! traces, exported files hold what was shown.

use super::*;
use llm_observatory::gui::export::chart_image;
use llm_observatory::gui::filter_state::bucket_ns;
use llm_observatory::gui::views::latency::{heat_chart, latency_band};
use llm_observatory::gui::widgets::heatmap::cell_center;
use store::{Bound, Cmp, Price, SessionSort, SortDir, TraceSort};

pub(super) const HOUR: i64 = 3_600_000_000_000;

/// Where the synthetic traffic starts: a fixed time, so that snapshots are the same on
/// every run (2026-03-02 08:00 UTC).
pub(super) const T0: i64 = 1_772_438_400_000_000_000;

/// A database of five hours of synthetic traffic, opened on "All".
fn synth_harness(
    dir: &Scratch,
    price_file: Option<PathBuf>,
) -> (PathBuf, Harness<'static, ObservatoryApp>) {
    let db = synth_database(dir);
    let h = synth_window(&db, price_file);
    (db, h)
}

/// The database of [`synth_harness`], not yet open in a window (a test reads it first:
/// DuckDB does not share a file between two databases of one process while one writes).
fn synth_database(dir: &Scratch) -> PathBuf {
    let db = dir.path("synth.duckdb");
    let store = Store::open(&db, OpenMode::ReadWrite).unwrap();
    let writer = store.writer().unwrap();
    synth_into(&writer, 1500, T0, T0 + 5 * HOUR, 7);
    writer.close().unwrap();
    db
}

/// The window on `db`, on "All" with every call counted.
pub(super) fn synth_window(
    db: &Path,
    price_file: Option<PathBuf>,
) -> Harness<'static, ObservatoryApp> {
    let db = db.to_path_buf();
    let calls = read(&db, |r| {
        r.call_summary(&Filter::default()).unwrap().llm_calls
    });
    let mut options = start(&db);
    options.price_file = price_file;
    let mut h = Harness::builder()
        .with_size([1440.0, 1000.0])
        .build_eframe(move |cc| ObservatoryApp::new(cc, options));
    click_range(&mut h, "All");
    wait_for_calls(&mut h, calls);
    h
}

/// Runs `f` on a reader of the database (bundled prices).
pub(super) fn read<T>(db: &Path, f: impl FnOnce(&mut store::Reader) -> T) -> T {
    let store = Store::open(db, OpenMode::ReadOnly).unwrap();
    f(&mut store.reader().unwrap())
}

/// [`read`] again until `settled` holds of the answer (at most ten seconds; the last
/// answer either way): a window just dropped closes its database in the background,
/// and a second instance may read the file before the last commit is in it.
pub(super) fn read_settled<T>(
    db: &Path,
    f: impl Fn(&mut store::Reader) -> T,
    settled: impl Fn(&T) -> bool,
) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let answer = read(db, &f);
        if settled(&answer) || std::time::Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn go(h: &mut Harness<'_, ObservatoryApp>, view: &str) {
    h.get_by_role_and_label(Role::Button, view).click();
    h.step();
}

/// Exports through the save dialog: clicks the export button, types `path`, saves, and
/// waits for the file to be reported.
fn export_via_dialog(h: &mut Harness<'_, ObservatoryApp>, button: &str, path: &Path) {
    ask_to_save(h, button, path);
    let saved = format!("Saved {}", path.display());
    wait_for(h, &saved.clone(), |h| h.query_by_label(&saved).is_some());
}

/// Clicks the export button, types `path` in the save dialog and clicks Save.
fn ask_to_save(h: &mut Harness<'_, ObservatoryApp>, button: &str, path: &Path) {
    h.get_by_label(button).click();
    save_in_dialog(h, path);
}

/// Waits for the save dialog, types `path` in it and clicks Save.
fn save_in_dialog(h: &mut Harness<'_, ObservatoryApp>, path: &Path) {
    wait_for(h, "the save dialog", |h| {
        h.query_by_label("Save to").is_some()
    });
    replace_text(h, "Save to", &path.display().to_string());
    h.get_by_role_and_label(Role::Button, "Save").click();
    h.step();
}

#[test]
fn the_models_view_shows_each_models_figures_and_exports_them() {
    let dir = Scratch::new("models-view");
    let (db, mut h) = synth_harness(&dir, None);
    let (summary, models, first_token) = read(&db, |r| {
        (
            r.call_summary(&Filter::default()).unwrap(),
            r.per_model(&Filter::default()).unwrap(),
            r.first_token(&Filter::default()).unwrap(),
        )
    });
    go(&mut h, "Models");
    wait_for(&mut h, "the model comparison", |h| {
        h.query_by_label("Model comparison").is_some()
    });
    let secs = (summary.last_end_ns.unwrap() - summary.first_start_ns.unwrap()) as f64 / 1e9;
    for m in &models {
        let rate = format::per_second(m.calls as f64 / secs);
        assert!(
            h.query_all_by_label(&rate).next().is_some(),
            "{}: {rate}",
            m.model
        );
        let cost = if m.unpriced_calls > 0 {
            format!("{} (unpriced)", format::usd(m.cost_usd))
        } else {
            format::usd(m.cost_usd)
        };
        assert!(
            h.query_all_by_label(&cost).next().is_some(),
            "{}: {cost}",
            m.model
        );
        // The token bar of each model that used tokens names its total.
        let tokens = (m.input_tokens + m.output_tokens) as f64;
        let bar = format!("{}: {} tok", m.model, format::count(tokens));
        let shown = h.query_by_label_contains(&bar).is_some();
        assert_eq!(shown, tokens > 0.0, "token bar of {}", m.model);
    }
    // Each streaming model's time to first token p95, as the store computes it.
    assert!(first_token.calls > 0);
    for m in &first_token.by_model {
        let p95 = format::percentile(m.ttft_ms[1], first_token.approximate);
        assert!(
            h.query_all_by_label(&p95).next().is_some(),
            "{}: TTFT p95 {p95}",
            m.model
        );
    }
    // CSV and JSON of the table hold every model, with the exact figures.
    let csv_path = dir.path("models.csv");
    export_via_dialog(&mut h, "Save Model comparison as CSV", &csv_path);
    let text = std::fs::read_to_string(&csv_path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    // With streamed calls, time to first token and output speed after the error rate.
    assert_eq!(header.len(), 14);
    assert_eq!((header[0], header[13]), ("model", "served"));
    assert_eq!((header[6], header[7]), ("ttft_p95_ms", "output_tps_p50"));
    assert_eq!(lines.count(), models.len());
    let json_path = dir.path("models.json");
    export_via_dialog(&mut h, "Save Model comparison as JSON", &json_path);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), models.len());
    for m in &models {
        let row = rows
            .iter()
            .find(|r| r["model"] == m.model.as_str())
            .unwrap();
        assert!((row["cost_usd"].as_f64().unwrap() - m.cost_usd).abs() < 1e-9);
        assert_eq!(row["input_tokens"].as_u64().unwrap(), m.input_tokens);
        // The snapshots that answered each model are a detail of its row.
        assert_eq!(row["served"], m.served.join(", ").as_str());
    }
    // The token chart as PNG: twice the on-screen size, decodable.
    let png = dir.path("tokens.png");
    export_via_dialog(&mut h, "Save Token usage by model as PNG", &png);
    let img = image::open(&png).unwrap();
    assert_eq!(
        (img.width(), img.height()),
        (
            chart_image::SIZE.0 * chart_image::SCALE,
            chart_image::SIZE.1 * chart_image::SCALE
        )
    );
    h.remove_cursor();
    h.run_steps(2);
    snapshot_masked(&mut h, "models_view");
    // Saving over a file asks first, and the open database is never written.
    std::fs::write(&csv_path, "my notes\n").unwrap();
    ask_to_save(&mut h, "Save Model comparison as CSV", &csv_path);
    let exists = format!("{} already exists.", csv_path.display());
    wait_for(&mut h, &exists.clone(), |h| {
        h.query_by_label(&exists).is_some()
    });
    assert_eq!(std::fs::read_to_string(&csv_path).unwrap(), "my notes\n");
    h.get_by_role_and_label(Role::Button, "Replace").click();
    wait_for(&mut h, "the replaced file", |_| {
        std::fs::read_to_string(&csv_path).is_ok_and(|t| t.starts_with("model,"))
    });
    let before = std::fs::read(&db).unwrap();
    ask_to_save(&mut h, "Save Model comparison as CSV", &db);
    wait_for(&mut h, "the question", |h| {
        h.query_by_role_and_label(Role::Button, "Replace").is_some()
    });
    h.get_by_role_and_label(Role::Button, "Replace").click();
    wait_for(&mut h, "the refusal", |h| {
        h.query_by_label_contains("refusing to write").is_some()
    });
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the database was written"
    );
}

#[test]
fn a_price_edit_changes_the_cost_of_past_calls_and_is_saved() {
    let dir = Scratch::new("price-edit");
    let price_file = dir.path("config/prices.toml");
    let (db, mut h) = synth_harness(&dir, Some(price_file.clone()));
    let before = read(&db, |r| r.call_summary(&Filter::default()).unwrap());
    assert!(
        before.unpriced_calls > 0,
        "the synthetic data has unpriced models"
    );
    let model = read(&db, |r| {
        r.per_model(&Filter::default())
            .unwrap()
            .into_iter()
            .find(|m| m.unpriced_calls > 0)
            .unwrap()
            .model
    });
    go(&mut h, "Costs");
    let shown = |h: &Harness<'_, ObservatoryApp>| card(h, "Cost in range");
    wait_for(&mut h, "the cost card", |h| shown(h).is_some());
    assert!(
        shown(&h)
            .unwrap()
            .starts_with(&format!("Cost in range: {}", format::usd(before.cost_usd))),
        "{:?}",
        shown(&h)
    );
    // Per hour and per day at the range's rate ("All": the data's extent).
    let secs = (before.last_end_ns.unwrap() - before.first_start_ns.unwrap()) as f64 / 1e9;
    let per_hour = before.cost_usd / secs * 3600.0;
    let hourly = card(&h, "Cost/hour").unwrap();
    assert!(
        hourly.starts_with(&format!("Cost/hour: {}/h", format::usd(per_hour))),
        "{hourly}"
    );
    let daily = card(&h, "Projected cost/day").unwrap();
    assert!(
        daily.starts_with(&format!(
            "Projected cost/day: {}/day",
            format::usd(per_hour * 24.0)
        )),
        "{daily}"
    );
    let unpriced = card(&h, "Unpriced calls").unwrap();
    assert!(
        unpriced.starts_with(&format!(
            "Unpriced calls: {}",
            format::integer(before.unpriced_calls)
        )),
        "{unpriced}"
    );
    h.get_by_label(&format!("Set a price for {model}")).click();
    wait_for(&mut h, "the price editor", |h| {
        h.query_by_role_and_label(Role::TextInput, "Input")
            .is_some()
    });
    for (field, value) in [("Input", "100"), ("Output", "200")] {
        h.get_by_role_and_label(Role::TextInput, field).focus();
        h.step();
        h.get_by_role_and_label(Role::TextInput, field)
            .type_text(value);
        h.step();
    }
    h.get_by_role_and_label(Role::Button, "Save price").click();
    h.step();
    let price = Price {
        input: 100.0,
        output: 200.0,
        cache_read: None,
        cache_write: None,
    };
    let (after, model_after) = {
        let store = Store::open(&db, OpenMode::ReadOnly).unwrap();
        let mut prices = PriceTable::bundled();
        prices.set(&model, price);
        store.set_prices(prices);
        let mut r = store.reader().unwrap();
        let cost = r
            .per_model(&Filter::default())
            .unwrap()
            .into_iter()
            .find(|m| m.model == model)
            .unwrap()
            .cost_usd;
        (r.call_summary(&Filter::default()).unwrap(), cost)
    };
    assert!(after.cost_usd > before.cost_usd + 0.01);
    let want = format!("Cost in range: {}", format::usd(after.cost_usd));
    wait_for(&mut h, &want.clone(), |h| {
        shown(h).is_some_and(|s| s.starts_with(&want))
    });
    let saved = PriceTable::load(&price_file).unwrap();
    assert_eq!(saved.lookup(&model), Some(price));
    // Every chart follows the new price, not just the card.
    let bar = format!("{model}: {}", format::usd(model_after));
    wait_for(&mut h, &bar.clone(), |h| {
        h.query_by_label_contains(&bar).is_some() && h.query_by_label("Updating").is_none()
    });
    h.remove_cursor();
    h.run_steps(2);
    snapshot_masked(&mut h, "costs_view");
}

#[test]
fn the_errors_view_lists_the_top_errors_and_leads_to_their_traces() {
    let dir = Scratch::new("errors-view");
    let (db, mut h) = synth_harness(&dir, None);
    let (summary, top) = read(&db, |r| {
        (
            r.call_summary(&Filter::default()).unwrap(),
            r.top_errors(&Filter::default(), 50).unwrap(),
        )
    });
    assert!(!top.is_empty(), "the synthetic data has errors");
    go(&mut h, "Errors");
    let rate = summary.errors as f64 / summary.llm_calls as f64;
    let gauge = format!("Error rate: {}", format::percent(rate));
    wait_for(&mut h, &gauge.clone(), |h| {
        h.query_by_label_contains(&gauge).is_some() && h.query_by_label("Top errors").is_some()
    });
    let csv_path = dir.path("errors.csv");
    export_via_dialog(&mut h, "Save Top errors as CSV", &csv_path);
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), top.len());
    for (row, e) in rows.iter().zip(&top) {
        assert_eq!(&row[0], e.error_type);
        assert_eq!(&row[1], e.model);
        assert_eq!(row[2].parse::<u64>().unwrap(), e.count);
    }
    h.remove_cursor();
    h.run_steps(2);
    snapshot_masked(&mut h, "errors_view");
    // The first error's count leads to the traces of those failures.
    let first = &top[0];
    h.query_all_by_label(&format::integer(first.count))
        .find(|n| n.accesskit_node().role() == Role::Link)
        .expect("the count of the first error is a link")
        .click();
    let expected = read(&db, |r| {
        let f = Filter {
            models: vec![first.model.clone()],
            status: store::StatusFilter::Error,
            errors: vec![first.error_type.clone()],
            ..Filter::default()
        };
        r.traces_page(&f, TraceSort::Start, SortDir::Desc, 0, 1)
            .unwrap()
            .1
    });
    let want = format!("{} traces", format::integer(expected));
    wait_for(&mut h, &want.clone(), |h| {
        h.query_by_value_contains_text(&want).is_some()
    });
}

#[test]
fn a_heatmap_cell_click_lands_on_the_traces_of_that_bucket_and_latency() {
    let dir = Scratch::new("heatmap");
    let (db, mut h) = synth_harness(&dir, None);
    let summary = read(&db, |r| r.call_summary(&Filter::default()).unwrap());
    let window = (
        summary.first_start_ns.unwrap(),
        summary.last_end_ns.unwrap(),
    );
    let bucket = bucket_ns(window.1 - window.0, 60);
    let heat = read(&db, |r| {
        r.latency_heatmap(&Filter::default(), bucket).unwrap()
    });
    go(&mut h, "Latency");
    let calls = format!("{} calls", format::integer(summary.llm_calls));
    wait_for(&mut h, "the heatmap", |h| {
        h.query_by_label_contains("Latency heatmap heatmap")
            .is_some_and(|n| n.accesskit_node().label().unwrap().ends_with(&calls))
    });
    // Each model's latency figures as the store computes them.
    for m in read(&db, |r| r.per_model(&Filter::default()).unwrap()) {
        let percentile = |v| format::percentile(v, m.latency_approximate);
        for shown in [
            format::millis(m.avg_ms),
            percentile(m.p50_ms),
            percentile(m.p95_ms),
            percentile(m.p99_ms),
        ] {
            assert!(
                h.query_all_by_label(&shown).next().is_some(),
                "{}: {shown} missing",
                m.model,
            );
        }
    }
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "latency_view");
    // The same view reads in the light theme.
    h.get_by_role_and_label(Role::Button, "Light").click();
    h.remove_cursor();
    h.run_steps(3);
    snapshot_settled(&mut h, "latency_view_light");
    h.get_by_role_and_label(Role::Button, "Dark").click();
    h.run_steps(2);
    // The busiest cell above the first latency row.
    let cell = heat
        .cells
        .iter()
        .filter(|c| c.latency_bucket > 0)
        .max_by_key(|c| c.count)
        .unwrap();
    let chart = heat_chart(&heat, window, bucket);
    let first = window.0.div_euclid(bucket) * bucket;
    let col = ((cell.bucket_start_ns - first) / bucket) as usize;
    let rect = h.get_by_label_contains("Latency heatmap heatmap").rect();
    let at = cell_center(rect, &chart, col, cell.latency_bucket).unwrap();
    h.hover_at(at);
    h.step();
    h.drag_at(at);
    h.step();
    h.drop_at(at);
    h.step();
    let (from_ms, to_ms) = latency_band(&heat.latency_edges_ms, cell.latency_bucket);
    let mut latency = vec![Bound {
        cmp: Cmp::Ge,
        value: from_ms,
    }];
    latency.extend(to_ms.map(|v| Bound {
        cmp: Cmp::Lt,
        value: v,
    }));
    let expected = read(&db, |r| {
        let f = Filter {
            from_ns: Some(cell.bucket_start_ns),
            to_ns: Some(cell.bucket_start_ns + bucket),
            latency_ms: latency,
            ..Filter::default()
        };
        r.traces_page(&f, TraceSort::Start, SortDir::Desc, 0, 1)
            .unwrap()
            .1
    });
    assert!(expected > 0);
    let want = format!("{} traces", format::integer(expected));
    wait_for(&mut h, &want.clone(), |h| {
        h.query_by_value_contains_text(&want).is_some()
            && h.query_by_label("Clear latency").is_some()
    });
}

/// The Sessions view lists the conversations with the store's figures, sorts by a
/// column, opens a session as a chat of its turns (each user message, the answer, the
/// steps folded beneath, a link to the trace), and the Users table leads to a user's
/// sessions.
#[test]
fn the_sessions_view_lists_conversations_and_opens_one_as_a_chat() {
    let dir = Scratch::new("sessions");
    let (db, mut h) = synth_harness(&dir, None);
    let (busiest, total, users) = read(&db, |r| {
        let (page, total) = r
            .sessions_page(
                &Filter::default(),
                "",
                SessionSort::Turns,
                SortDir::Desc,
                0,
                1,
            )
            .unwrap();
        let users = r
            .users_page(
                &Filter::default(),
                "",
                SessionSort::Turns,
                SortDir::Desc,
                0,
                1,
            )
            .unwrap();
        (page[0].clone(), total, users)
    });
    assert!(busiest.turns > 1, "{busiest:?}");
    go(&mut h, "Sessions");
    let count = format!("{} sessions", format::integer(total));
    wait_for(&mut h, &count.clone(), |h| {
        h.query_by_label(&count).is_some()
    });
    h.get_by_label("Turns").click();
    let row = format!("session {}", busiest.session_id);
    wait_for(&mut h, "the busiest session first", |h| {
        h.query_all_by_role(Role::Row)
            .next()
            .and_then(|r| r.accesskit_node().label())
            .is_some_and(|l| l == row)
    });
    let first = h.get_by_label(&row);
    let shown = first.accesskit_node().value().unwrap_or_default();
    for figure in [
        format::integer(busiest.turns),
        format::integer(busiest.llm_calls),
        format::usd(busiest.cost_usd),
    ] {
        assert!(shown.contains(&figure), "{figure} not in {shown}");
    }
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "sessions_table");

    h.get_by_label(&row).click();
    let heading = format!("Session {}", busiest.session_id);
    wait_for(&mut h, "the session page", |h| {
        h.query_by_label(&heading).is_some()
            && h.query_by_label_contains(&format!("Turn {}", busiest.turns))
                .is_some()
    });
    let turns = read(&db, |r| {
        let ids = r.session_traces(&busiest.session_id).unwrap();
        r.traces(&ids).unwrap()
    });
    // The page reads its turns without their spans: they are what the spans say.
    let page_turns = read(&db, |r| r.session_turns(&busiest.session_id).unwrap());
    let from_spans: Vec<store::SessionTurn> =
        turns.iter().map(store::SessionTurn::of_trace).collect();
    // Cost sums may differ in the last bit (summed in another order).
    let costs = |t: &[store::SessionTurn]| -> Vec<(store::SessionTurn, f64)> {
        t.iter()
            .map(|t| {
                (
                    store::SessionTurn {
                        cost_usd: 0.0,
                        ..t.clone()
                    },
                    t.cost_usd,
                )
            })
            .collect()
    };
    for ((page, page_cost), (spans, spans_cost)) in
        costs(&page_turns).into_iter().zip(costs(&from_spans))
    {
        assert_eq!(page, spans);
        assert!((page_cost - spans_cost).abs() <= 1e-12 * spans_cost.abs().max(1.0));
    }
    assert_eq!(page_turns.len(), from_spans.len());
    assert!(
        page_turns.iter().any(|t| t.calls.len() > 1),
        "a turn with several calls, whose first and last differ"
    );
    for turn in &turns {
        let call = turn.spans.iter().find(|s| s.model.is_some()).unwrap();
        let asked = asked(call);
        assert!(
            h.query_all_by_label_contains(&asked).next().is_some(),
            "the user's message {asked:?} is not shown"
        );
    }
    assert_eq!(h.query_all_by_label("Open trace").count(), turns.len());
    // Each turn's evaluations beside it, as the store has them.
    let said = read(&db, |r| {
        let ids = r.session_traces(&busiest.session_id).unwrap();
        r.trace_evaluations(&ids).unwrap()
    });
    assert!(said.iter().any(|e| e.score.is_some()), "{said:?}");
    wait_for(&mut h, "the session's evaluations", |h| {
        said.iter().all(|e| {
            let chip = format!(": {} {:.2}", e.name, e.score.unwrap_or_default());
            e.score.is_none() || h.query_all_by_label_contains(&chip).next().is_some()
        })
    });
    // The first turn's steps unfold, read when asked for: each span with its class
    // and latency.
    h.query_all_by_label(&format!("{} steps", turns[0].spans.len()))
        .next()
        .unwrap()
        .click();
    wait_for(&mut h, "the first turn's steps", |h| {
        turns[0]
            .spans
            .iter()
            .all(|span| h.query_all_by_label_contains(&span.name).next().is_some())
    });
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "session_page");
    h.query_all_by_label("Open trace").next().unwrap().click();
    wait_for(&mut h, "the first turn's trace", |h| {
        h.query_by_role_and_label(Role::Button, "Flamegraph")
            .is_some()
    });
    h.key_press(egui::Key::Escape);
    h.run_steps(2);

    // Users: a click narrows everything to that user (the filter bar says so) and
    // lists the user's sessions.
    wait_for(&mut h, "the session page again", |h| {
        h.query_by_label("Back to all sessions").is_some()
    });
    h.get_by_label("Back to all sessions").click();
    h.run_steps(2);
    h.get_by_label("Users").click();
    let count = format!("{} users", format::integer(users.1));
    wait_for(&mut h, &count.clone(), |h| {
        h.query_by_label(&count).is_some()
    });
    let user = users.0[0].clone();
    h.get_by_label(&format!("user {}", user.user_id)).click();
    let (sessions, calls) = read(&db, |r| {
        let only = Filter {
            users: vec![user.user_id.clone()],
            ..Filter::default()
        };
        (
            r.sessions_page(&only, "", SessionSort::Start, SortDir::Desc, 0, 1)
                .unwrap()
                .1,
            r.call_summary(&only).unwrap().llm_calls,
        )
    });
    assert_eq!(sessions, user.sessions, "{user:?}");
    let count = format!("{} sessions", format::integer(sessions));
    wait_for(&mut h, "the user's sessions", |h| {
        h.query_by_label(&count).is_some()
            && h.query_by_label(&format!("user: {}", user.user_id))
                .is_some()
    });
    assert_eq!(calls, user.llm_calls, "{user:?}");
    // Every view follows: the Overview counts the user's calls.
    go(&mut h, "Overview");
    wait_for_calls(&mut h, calls);
    h.get_by_label("Clear user").click();
    wait_for_calls(
        &mut h,
        read(&db, |r| {
            r.call_summary(&Filter::default()).unwrap().llm_calls
        }),
    );
}

/// The Agents view shows each agent's and tool's figures as the store computes them; a
/// click on an agent lists its runs with the most steps, and a run opens its trace.
#[test]
fn the_agents_view_shows_agents_tools_and_an_agents_runs() {
    let dir = Scratch::new("agents");
    let (db, mut h) = synth_harness(&dir, None);
    let (agents, tools) = read(&db, |r| {
        (
            r.agents(&Filter::default()).unwrap(),
            r.tools(&Filter::default()).unwrap(),
        )
    });
    assert!(agents.len() > 1 && tools.len() > 1, "{agents:?} {tools:?}");
    go(&mut h, "Agents");
    let first = format!("agent {}", agents[0].agent);
    wait_for(&mut h, "the agents table", |h| {
        h.query_by_label(&first).is_some()
    });
    for a in &agents {
        let shown = h
            .get_by_label(&format!("agent {}", a.agent))
            .accesskit_node()
            .value()
            .unwrap_or_default();
        assert!(
            shown.starts_with(&format!("{}, {}, ", a.agent, format::integer(a.runs))),
            "{shown}"
        );
        assert!(shown.contains(&format::usd(a.cost_per_run)), "{shown}");
    }
    for t in &tools {
        let shown = h
            .get_by_label(&format!("tool {}", t.tool))
            .accesskit_node()
            .value()
            .unwrap_or_default();
        assert!(shown.ends_with(&t.agents.join(", ")), "{shown} vs {t:?}");
        assert!(shown.contains(&format::integer(t.calls)), "{shown}");
    }
    h.get_by_label(&first).click();
    let runs = read(&db, |r| {
        r.agent_runs(&Filter::default(), &agents[0].agent, 15)
            .unwrap()
    });
    let top = format!("run {} {}", runs[0].trace_id, runs[0].span_id);
    wait_for(&mut h, "the agent's runs", |h| {
        h.query_by_label(&top).is_some()
    });
    assert_eq!(
        h.query_all_by_role(Role::Row)
            .filter(|n| n
                .accesskit_node()
                .label()
                .is_some_and(|l| l.starts_with("run ")))
            .count(),
        runs.len()
    );
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "agents_view");
    h.get_by_label(&top).click();
    wait_for(&mut h, "the run's trace", |h| {
        h.query_by_role_and_label(Role::Button, "Flamegraph")
            .is_some()
    });
}

#[test]
fn the_evaluations_view_shows_the_scores_and_feedback_on_a_call_survives_a_restart() {
    let dir = Scratch::new("evaluations");
    let db = synth_database(&dir);
    let all = Filter::default();
    let (evaluators, by_model, worst) = read(&db, |r| {
        (
            r.evaluators(&all).unwrap(),
            r.evaluations_by_model(&all).unwrap(),
            r.worst_judged(&all, "relevance", 20).unwrap(),
        )
    });
    let names: Vec<&str> = evaluators.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["relevance", "hallucination"]);
    let relevance = &evaluators[0];
    assert!(relevance.evaluations > 50, "{relevance:?}");
    // The worst-judged call whose trace opens on it (its trace's first call).
    let (judged, first_call) = worst
        .iter()
        .find_map(|w| {
            let id = store::hex_to_trace_id(&w.trace_id).unwrap();
            let tree = read(&db, |r| r.trace(id).unwrap());
            let first = tree
                .spans
                .iter()
                .find(|s| s.model.is_some())?
                .span_id
                .clone();
            (first == w.span_id).then(|| (w.clone(), first))
        })
        .expect("a judged call that is its trace's first");
    // Read before the window opens it (see `synth_database`).
    let mut h = synth_window(&db, None);
    go(&mut h, "Evaluations");
    wait_for(&mut h, "the evaluators table", |h| {
        h.query_by_label("relevance: score distribution").is_some()
    });
    for figure in [
        format::integer(relevance.evaluations),
        format!("{:.2}", relevance.mean_score.unwrap()),
        format!("{:.2}", relevance.min_score.unwrap()),
    ] {
        assert!(shown(&h, &figure), "{figure} not shown");
    }
    // Each model's mean score, beside its results.
    wait_for(&mut h, "the table by model", |h| {
        h.query_by_label("relevance by model").is_some()
    });
    for m in by_model.iter().filter(|m| m.name == "relevance") {
        for figure in [
            format::integer(m.evaluations),
            format!("{:.2}", m.mean_score.unwrap()),
        ] {
            assert!(shown(&h, &figure), "{figure} of {} not shown", m.model);
        }
    }
    let short: String = judged.trace_id.chars().take(8).collect();
    wait_for(&mut h, "the worst-judged calls", |h| {
        h.query_all_by_role_and_label(Role::Link, &short)
            .next()
            .is_some()
    });
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "evaluations_view");

    // (A trace with two judged calls is listed twice.)
    // The table is below the fold: by keyboard, as for the editor below.
    h.query_all_by_role_and_label(Role::Link, &short)
        .next()
        .unwrap()
        .focus();
    h.step();
    h.key_press(egui::Key::Enter);
    wait_for(&mut h, "the trace's evaluations", |h| {
        h.query_by_label("Evaluations of this call").is_some()
            && shown(h, &format!("{:.2}", judged.score.unwrap()))
            && shown(h, &format!("Trace {}", judged.trace_id))
            && shown(h, &format!("span {first_call}"))
    });
    h.get_by_label("Bad").click();
    h.step();
    wait_for(&mut h, "Bad chosen", |h| {
        h.get_by_label("Bad").accesskit_node().toggled() == Some(egui::accesskit::Toggled::True)
    });
    h.get_by_role_and_label(Role::TextInput, "Label").focus();
    h.step();
    h.get_by_role_and_label(Role::TextInput, "Label")
        .type_text("off topic");
    h.step();
    // Below the fold (under the call's timing and phases): by keyboard.
    h.get_by_label("Save feedback").focus();
    h.step();
    h.key_press(egui::Key::Enter);
    wait_for(&mut h, "the feedback saved and read back", |h| {
        h.query_by_label("Saved").is_some()
            && h.query_by_label("(given here)").is_some()
            && h.query_by_label("off topic").is_some()
    });
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "trace_feedback");
    drop(h);

    // Stored as a person's annotation on that call: the inspector's condition finds it.
    let mut down = Filter::default();
    store::Query::parse("feedback:down")
        .unwrap()
        .apply(&mut down);
    let (rows, total) = read_settled(
        &db,
        |r| {
            r.calls_page(&down, store::CallSort::Start, SortDir::Asc, 0, 10)
                .unwrap()
        },
        |(_, total)| *total == 1,
    );
    assert_eq!(total, 1);
    assert_eq!(rows[0].span_id, first_call);
    let mut labelled = Filter::default();
    store::Query::parse("feedback:\"off topic\"")
        .unwrap()
        .apply(&mut labelled);
    assert_eq!(
        read(&db, |r| r
            .calls_page(&labelled, store::CallSort::Start, SortDir::Asc, 0, 10)
            .unwrap()
            .1),
        1
    );

    // After a restart, the view counts it and the trace shows it, editable.
    let mut h = harness(&db);
    click_range(&mut h, "All");
    go(&mut h, "Evaluations");
    wait_for(&mut h, "the feedback evaluator", |h| {
        h.query_by_label("feedback").is_some()
    });
    h.get_by_label("feedback").click();
    wait_for(&mut h, "the call given feedback", |h| {
        h.query_by_label("Calls feedback judged worst").is_some()
            && h.query_all_by_role_and_label(Role::Link, &short).count() == 1
    });
    // The link is below the fold: focus and Enter open it, again if a repaint of the
    // table (its data arriving) took the focus before the key.
    for attempt in 0.. {
        h.get_by_role_and_label(Role::Link, &short).focus();
        h.step();
        h.key_press(egui::Key::Enter);
        h.run_steps(5);
        // Gone from the screen: the trace view took its place.
        if h.query_all_by_role_and_label(Role::Link, &short)
            .next()
            .is_none()
        {
            break;
        }
        assert!(attempt < 20, "the call's trace did not open");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    wait_for(&mut h, "the feedback loaded", |h| {
        h.query_by_label("(given here)").is_some()
            && h.query_by_label("off topic").is_some()
            && h.query_by_role_and_label(Role::TextInput, "Label")
                .and_then(|n| n.value())
                .is_some_and(|v| v == "off topic")
    });
}

/// Whether some widget is labelled `text` (several may be).
fn shown(h: &Harness<'_, ObservatoryApp>, text: &str) -> bool {
    h.query_all_by_label(text).next().is_some()
}

/// A run of a real agent framework's agent (the OpenAI Agents SDK fixture) opens on its
/// first LLM call, which shows beside its answer the tool it called with the tool's
/// arguments and result.
#[test]
fn an_agents_llm_call_shows_the_tool_it_called_with_arguments_and_result() {
    let dir = Scratch::new("agent-tools");
    let (db, mut h) = fixture_harness(&dir, "openai-agents");
    let runs = read(&db, |r| {
        r.agent_runs(&Filter::default(), "support", 15).unwrap()
    });
    let run = &runs[0];
    let tree = read(&db, |r| {
        r.trace(store::hex_to_trace_id(&run.trace_id).unwrap())
            .unwrap()
    });
    let first_call = tree.spans.iter().find(|s| s.model.is_some()).unwrap();
    let tool = tree
        .spans
        .iter()
        .find(|s| s.class == store::SpanClass::Tool && s.start_ns >= first_call.start_ns)
        .unwrap();
    let name = tool.entity.clone().unwrap();
    let attributes: serde_json::Value = serde_json::from_str(&tool.attributes_json).unwrap();
    let result = attributes["output.value"].as_str().unwrap().to_string();
    go(&mut h, "Agents");
    wait_for(&mut h, "the agents table", |h| {
        h.query_by_label("agent support").is_some()
    });
    h.get_by_label("agent support").click();
    let row = format!("run {} {}", run.trace_id, run.span_id);
    wait_for(&mut h, "the agent's runs", |h| {
        h.query_by_label(&row).is_some()
    });
    h.get_by_label(&row).click();
    wait_for(&mut h, "the tool beside the call", |h| {
        h.query_by_label("Tools it called").is_some()
            && h.query_by_label("Evaluations of this call").is_some()
            && h.query_by_label("Updating").is_none()
            && h.query_all_by_label(&name).next().is_some()
            && h.query_by_label(&result).is_some()
            && h.query_all_by_label_contains("\"order_id\"").count() >= 2
    });
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "agent_tool_call");
}

#[test]
fn streamed_calls_show_their_time_to_first_token_and_phases() {
    let dir = Scratch::new("first-token");
    let db = synth_database(&dir);
    let mut streamed = Filter::default();
    store::Query::parse("stream:true")
        .unwrap()
        .apply(&mut streamed);
    let (first_token, span) = read(&db, |r| {
        let summary = r.first_token(&Filter::default()).unwrap();
        // The Inspector lists the latest first.
        let (rows, _) = r
            .calls_page(&streamed, store::CallSort::Start, SortDir::Desc, 0, 1)
            .unwrap();
        let trace = r
            .trace(store::hex_to_trace_id(&rows[0].trace_id).unwrap())
            .unwrap();
        let span = trace
            .spans
            .into_iter()
            .find(|s| s.span_id == rows[0].span_id)
            .unwrap();
        (summary, span)
    });
    assert!(first_token.calls > 0);
    let mut h = synth_window(&db, None);
    // The Latency view: the percentiles over time, and each model's as the store has
    // them.
    go(&mut h, "Latency");
    wait_for(&mut h, "the time-to-first-token table", |h| {
        h.query_by_label("Time to first token by model").is_some()
    });
    let title = format!(
        "Time to first token ({} streamed calls)",
        format::integer(first_token.calls)
    );
    assert!(h.query_by_label(&title).is_some(), "{title}");
    for m in &first_token.by_model {
        for v in m.ttft_ms {
            let shown_ms = format::percentile(v, first_token.approximate);
            assert!(shown(&h, &shown_ms), "{}: {shown_ms}", m.model);
        }
    }
    // The Inspector's `stream:true`, the latest call's details: its first token and
    // its phases.
    h.get_by_role_and_label(Role::Button, "Inspector").click();
    wait_for(&mut h, "the inspector", |h| {
        h.query_by_role_and_label(Role::TextInput, "Query")
            .is_some()
    });
    h.get_by_role_and_label(Role::TextInput, "Query").focus();
    h.step();
    h.get_by_role_and_label(Role::TextInput, "Query")
        .type_text("stream:true");
    let count = read(&db, |r| {
        r.calls_page(&streamed, store::CallSort::Start, SortDir::Desc, 0, 1)
            .unwrap()
            .1
    });
    let matching = format!("{} matching calls", format::integer(count));
    wait_for(&mut h, &matching.clone(), |h| {
        h.query_by_value_contains_text(&matching).is_some()
    });
    h.query_all_by_role(Role::Row).next().unwrap().click();
    let ttft = format::millis(span.timing.ttft_ns.unwrap() as f64 / 1e6);
    let phases = format!(
        "Phases: {}",
        llm_observatory::gui::widgets::phase_bar::describe(&span.phases().unwrap(), false)
    );
    wait_for(&mut h, "the call's time to first token and phases", |h| {
        h.query_by_label("Time to first token").is_some()
            && shown(h, &ttft)
            && h.query_by_label(&phases).is_some()
    });
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "call_phases");
}

/// Five hours of GenAI client metrics as an SDK exports them every five minutes
/// (running totals, no spans): the operation duration of three models, one of them
/// slowing down in the fourth hour, and token usage by type.
fn metrics_only_database(dir: &Scratch) -> PathBuf {
    use store::{MetricPoint, Temporality};
    let db = dir.path("metrics.duckdb");
    let store = Store::open(&db, OpenMode::ReadWrite).unwrap();
    let writer = store.writer().unwrap();
    let bounds = llm_observatory::scrape::DURATION_BOUNDS_S;
    let models = [
        ("gpt-4o", 9, 0.9),
        ("gpt-4o-mini", 14, 0.35),
        ("claude-3-5-haiku", 6, 0.5),
    ];
    let mut points = Vec::new();
    // Running totals per (model, metric): bucket counts, count, sum.
    let mut totals: std::collections::HashMap<(usize, usize), (Vec<u64>, u64, f64)> =
        std::collections::HashMap::new();
    for k in 0..60i64 {
        let t = T0 + k * 300_000_000_000;
        for (m, (model, per_export, seconds)) in models.iter().enumerate() {
            let slow = if m == 0 && (36..48).contains(&k) {
                2.5
            } else {
                1.0
            };
            let attributes = |kind: Option<&str>| {
                let mut a = serde_json::json!({
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": model,
                });
                if let Some(kind) = kind {
                    a["gen_ai.token.type"] = kind.into();
                }
                a.to_string()
            };
            for (metric, kind, scale, metric_bounds) in [
                (
                    "gen_ai.client.operation.duration",
                    None,
                    1.0,
                    bounds.to_vec(),
                ),
                (
                    "gen_ai.client.token.usage",
                    Some("input"),
                    900.0,
                    (0..14).map(|i| 4f64.powi(i)).collect(),
                ),
                (
                    "gen_ai.client.token.usage",
                    Some("output"),
                    150.0,
                    (0..14).map(|i| 4f64.powi(i)).collect(),
                ),
            ] {
                let slot = (m, metric_bounds.len() + scale as usize);
                let (counts, count, sum) = totals
                    .entry(slot)
                    .or_insert_with(|| (vec![0; metric_bounds.len() + 1], 0, 0.0));
                for i in 0..*per_export {
                    let v = if kind.is_some() {
                        scale * (0.5 + (i as f64 * 0.37 + k as f64 * 0.11).fract())
                    } else {
                        seconds * slow * (0.6 + (i as f64 * 0.29 + k as f64 * 0.07).fract())
                    };
                    counts[metric_bounds.partition_point(|b| *b < v)] += 1;
                    *count += 1;
                    *sum += v;
                }
                points.push(MetricPoint {
                    time_ns: t,
                    start_time_ns: T0 - 1,
                    name: metric.into(),
                    kind: "histogram".into(),
                    unit: if kind.is_some() { "{token}" } else { "s" }.into(),
                    service: "metrics-only-app".into(),
                    attributes_json: attributes(kind),
                    count: Some(*count),
                    sum: Some(*sum),
                    bucket_bounds_json: Some(serde_json::to_string(&metric_bounds).unwrap()),
                    bucket_counts_json: Some(serde_json::to_string(counts).unwrap()),
                    temporality: Some(Temporality::Cumulative),
                    ..MetricPoint::default()
                });
            }
        }
    }
    writer
        .write(store::Batch {
            metrics: points,
            ..Default::default()
        })
        .unwrap();
    writer.close().unwrap();
    db
}

/// A database with only OTLP metrics (an SDK that sends no spans) shows them in the
/// Metrics view: each group's count, mean and percentiles as the store computes them,
/// charted over time; another metric is one click away.
#[test]
fn the_metrics_view_charts_what_a_metrics_only_app_sent() {
    let dir = Scratch::new("metrics-view");
    let db = metrics_only_database(&dir);
    let duration = read(&db, |r| {
        r.metric_view(
            &Filter::default(),
            "gen_ai.client.operation.duration",
            300_000_000_000,
        )
        .unwrap()
    });
    assert_eq!(duration.groups.len(), 3);
    assert_eq!(duration.groups[0].label, "gpt-4o-mini · chat");
    assert_eq!(duration.groups[0].count, 14 * 60);
    let mut h = harness(&db);
    click_range(&mut h, "All");
    go(&mut h, "Metrics");
    wait_for(&mut h, "the duration groups", |h| {
        shown(h, "gpt-4o-mini · chat") && shown(h, "claude-3-5-haiku · chat")
    });
    let fmt = |s: f64| format::millis(s * 1e3);
    for g in &duration.groups {
        let [p50, p95, _] = g.quantiles.unwrap();
        for figure in [format::integer(g.count), fmt(g.mean()), fmt(p50), fmt(p95)] {
            assert!(shown(&h, &figure), "{figure} of {} not shown", g.label);
        }
    }
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "metrics_view");

    h.get_by_label_contains("gen_ai.client.token.usage").click();
    h.step();
    wait_for(&mut h, "the token groups", |h| {
        shown(h, "gpt-4o · chat · input") && shown(h, "gpt-4o-mini · chat · output")
    });
}

/// Four days of synthetic traffic with its incident (OpenAI's calls slow and failing
/// for half an hour): the Overview lists the anomalies the store finds, and a click on
/// one shows the traces of its bucket.
#[test]
fn an_anomaly_in_the_overview_leads_to_the_traces_of_its_hour() {
    let dir = Scratch::new("anomaly-list");
    let db = dir.path("anomalies.duckdb");
    {
        let store = Store::open(&db, OpenMode::ReadWrite).unwrap();
        let writer = store.writer().unwrap();
        synth_into(&writer, 12_000, T0, T0 + 96 * HOUR, 3);
        writer.close().unwrap();
    }
    let found = read(&db, |r| {
        let s = r.call_summary(&Filter::default()).unwrap();
        let window = (s.first_start_ns.unwrap(), s.last_end_ns.unwrap());
        let bucket = bucket_ns(window.1 - window.0, 60);
        (
            r.anomalies(&Filter::default(), window, bucket)
                .unwrap()
                .anomalies,
            bucket,
        )
    });
    let (found, bucket) = found;
    assert!(!found.is_empty(), "the incident is found");
    let mut h = synth_window(&db, None);
    let title = if found.len() > 8 {
        format!("Anomalies (the worst 8 of {})", found.len())
    } else {
        format!("Anomalies ({})", found.len())
    };
    wait_for(&mut h, &title.clone(), |h| shown(h, &title));
    let worst = &found[0];
    let when = format::local_time(worst.bucket_start_ns);
    h.query_all_by_label(&when)
        .next()
        .expect("the worst anomaly's row")
        .click();
    wait_for(&mut h, "the traces of the bucket", |h| {
        h.query_by_role_and_label(Role::TextInput, "from").is_some()
    });
    assert_eq!(
        custom_range(&h),
        (worst.bucket_start_ns, worst.bucket_start_ns + bucket),
        "the anomaly's bucket"
    );
}

/// File > Export report… (Ctrl+Shift+E too) saves the selection's report as one HTML
/// page, with the figures the store computes for it.
#[test]
fn the_window_exports_a_report_of_its_selection() {
    let dir = Scratch::new("report-window");
    let db = synth_database(&dir);
    let truth = read(&db, |r| r.summary(&Filter::default()).unwrap());
    let mut h = synth_window(&db, None);
    h.get_by_label("File").click();
    h.run_steps(2);
    let path = dir.path("week.html");
    h.get_by_label_contains("Export report…").click();
    save_in_dialog(&mut h, &path);
    let saved = format!("Saved {}", path.display());
    wait_for(&mut h, &saved.clone(), |h| {
        h.query_by_label(&saved).is_some()
    });
    let html = std::fs::read_to_string(&path).unwrap();
    let start = "<script type=\"application/json\" id=\"figures\">";
    let json = &html[html.find(start).unwrap() + start.len()..];
    let json = json[..json.find("</script>").unwrap()].replace("<\\/", "</");
    let figures: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(figures["llm_calls"], truth.llm_calls);
    assert_eq!(figures["errors"], truth.errors);
    assert_eq!(
        html.matches("data:image/svg+xml;base64,").count(),
        4,
        "four charts"
    );
    // The same report as PDF pages.
    h.get_by_label("File").click();
    h.run_steps(2);
    let pdf = dir.path("week.pdf");
    h.get_by_label_contains("Export report as PDF…").click();
    save_in_dialog(&mut h, &pdf);
    let saved = format!("Saved {}", pdf.display());
    wait_for(&mut h, &saved.clone(), |h| {
        h.query_by_label(&saved).is_some()
    });
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(
        bytes.starts_with(b"%PDF-") && bytes.len() > 10_000,
        "{} bytes",
        bytes.len()
    );
    // The shortcut asks again.
    h.key_press_modifiers(
        egui::Modifiers::COMMAND.plus(egui::Modifiers::SHIFT),
        egui::Key::E,
    );
    wait_for(&mut h, "the save dialog again", |h| {
        h.query_by_label("Save as HTML").is_some() || h.query_by_label("Save to").is_some()
    });
}

#[test]
fn a_snapshot_of_a_filtered_selection_opens_on_its_view_with_its_figures() {
    let dir = Scratch::new("snapshot-window");
    let db = synth_database(&dir);
    let mini = Filter {
        models: vec!["gpt-4o-mini".into()],
        ..Filter::default()
    };
    let (mini_calls, mini_traces, all_traces, mini_cost) = read(&db, |r| {
        (
            r.summary(&mini).unwrap().llm_calls,
            r.trace_ids(&mini).unwrap(),
            r.trace_ids(&Filter::default()).unwrap().len(),
            r.per_model(&mini).unwrap()[0].cost_usd,
        )
    });
    let cost = format::usd(mini_cost);
    assert!(mini_traces.len() < all_traces && mini_calls > 0);
    let mut h = synth_window(&db, None);
    h.get_by_label("Models: all").click();
    h.run_steps(2);
    h.query_all_by_role_and_label(Role::CheckBox, "gpt-4o-mini")
        .next()
        .expect("gpt-4o-mini in the models menu")
        .click();
    h.run_steps(2);
    wait_for_calls(&mut h, mini_calls);
    go(&mut h, "Models");
    wait_for(&mut h, "the model comparison", |h| {
        h.query_by_label("Model comparison").is_some()
    });
    settle(&mut h);
    let token_bar = |h: &Harness<'_, ObservatoryApp>| {
        h.query_by_label_contains("gpt-4o-mini: ")
            .and_then(|n| n.accesskit_node().label())
    };
    let tokens_before = token_bar(&h).expect("the token bar of gpt-4o-mini");
    assert!(h.query_all_by_label(&cost).next().is_some(), "{cost}");
    h.get_by_label("File").click();
    h.run_steps(2);
    let path = dir.path("mini.duckdb");
    h.get_by_label_contains("Save snapshot…").click();
    save_in_dialog(&mut h, &path);
    let saved = format!("Saved {}", path.display());
    wait_for(&mut h, &saved.clone(), |h| {
        h.query_by_label(&saved).is_some()
    });
    drop(h);

    // The snapshot holds the selection's traces and nothing else.
    let (ids, models) = read(&path, |r| {
        (
            r.trace_ids(&Filter::default()).unwrap(),
            r.per_model(&mini).unwrap(),
        )
    });
    let sorted = |mut v: Vec<u128>| {
        v.sort_unstable();
        v
    };
    assert_eq!(sorted(ids), sorted(mini_traces));
    assert_eq!(models.len(), 1);
    assert_eq!(models[0].calls, mini_calls);
    assert_eq!(format::usd(models[0].cost_usd), cost);

    // A new window on it: read-only, on the Models view, filtered as it was saved.
    let mut h = harness(&path);
    wait_for(&mut h, "the snapshot's view", |h| {
        h.query_by_label("Model comparison").is_some()
            && h.query_by_label("Model: gpt-4o-mini").is_some()
    });
    assert!(h.query_by_label("snapshot, read-only").is_some());
    wait_for(&mut h, "the same figures", |h| {
        token_bar(h).as_deref() == Some(tokens_before.as_str())
    });
    settle(&mut h);
    assert_eq!(token_bar(&h), Some(tokens_before));
    assert!(h.query_all_by_label(&cost).next().is_some(), "{cost}");
}
