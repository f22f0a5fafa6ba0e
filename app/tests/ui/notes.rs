//! Bands and notes on the time charts: four days of synthetic traffic with a burst draw
//! each judged figure's expected band and ring the points the anomaly list names;
//! a note added from a chart's *Note…* button is stored in the database and marked on
//! every chart.

use super::analytics::{HOUR, T0, read, read_settled, synth_window};
use super::*;
use llm_observatory::gui::annotation_form::TITLE;
use llm_observatory::gui::filter_state::bucket_ns;
use store::anomaly::Metric;

/// The figures of a chart's accessible label: (bands, points outside, markers).
fn chart_figures(h: &Harness<'_, ObservatoryApp>, title: &str) -> Option<(usize, usize, usize)> {
    let label = h
        .query_all_by_label_contains(&format!("{title} chart:"))
        .next()?
        .accesskit_node()
        .label()?
        .to_string();
    let number = |after: &str| -> Option<usize> {
        let head = label.split(&format!(" {after}")).next()?;
        head.rsplit(' ').next()?.parse().ok()
    };
    Some((number("bands")?, number("outside")?, number("markers")?))
}

#[test]
fn the_charts_band_their_figures_ring_the_anomalies_and_mark_a_note() {
    let dir = Scratch::new("bands-notes");
    let db = dir.path("bands.duckdb");
    {
        let store = Store::open(&db, OpenMode::ReadWrite).unwrap();
        let writer = store.writer().unwrap();
        synth_into(&writer, 12_000, T0, T0 + 96 * HOUR, 3);
        // A burst: four times the traffic of an hour, on the fourth day.
        synth_into(&writer, 400, T0 + 80 * HOUR, T0 + 81 * HOUR, 4);
        writer.close().unwrap();
    }
    // What the store judges of the Overview's window, for the rings to match.
    let judged = read(&db, |r| {
        let s = r.call_summary(&Filter::default()).unwrap();
        let window = (s.first_start_ns.unwrap(), s.last_end_ns.unwrap());
        r.anomalies(
            &Filter::default(),
            window,
            bucket_ns(window.1 - window.0, 60),
        )
        .unwrap()
    });
    let count = |keep: &dyn Fn(&store::anomaly::Anomaly) -> bool| {
        judged.anomalies.iter().filter(|a| keep(a)).count()
    };
    let p95_outside = count(&|a| a.metric == Metric::P95Latency);
    // The chart draws the six busiest models by name (the rest summed as "other").
    let drawn: Vec<String> = read(&db, |r| r.per_model(&Filter::default()).unwrap())
        .into_iter()
        .take(6)
        .map(|m| m.model)
        .collect();
    let calls_outside = count(&|a| {
        a.metric == Metric::Calls && a.model.as_ref().is_some_and(|m| drawn.contains(m))
    });
    assert!(
        calls_outside > 0,
        "the burst is found: {:#?}",
        judged.anomalies
    );

    let mut h = synth_window(&db, None);
    wait_for(&mut h, "the bands", |h| {
        chart_figures(h, "Latency percentiles").is_some_and(|(bands, _, _)| bands == 1)
            && chart_figures(h, "Requests/s by model").is_some_and(|(bands, _, _)| bands > 0)
    });
    let (_, outside, _) = chart_figures(&h, "Latency percentiles").unwrap();
    assert_eq!(
        outside, p95_outside,
        "the rings are the list's p95 anomalies"
    );
    let (bands, outside, _) = chart_figures(&h, "Requests/s by model").unwrap();
    assert!(bands >= 2, "a band per model line: {bands}");
    assert_eq!(
        outside, calls_outside,
        "the rings are the list's per-model calls"
    );
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "overview_bands");

    // A note from the latency chart's button, at a time typed in.
    h.get_by_role_and_label(Role::Button, "Add a note to Latency percentiles")
        .click();
    wait_for(&mut h, "the note form", |h| {
        h.query_by_label(TITLE).is_some()
    });
    let at = T0 + 30 * HOUR;
    for (field, value) in [
        ("From", format::local_time(at)),
        ("To", format::local_time(at + 2 * HOUR)),
        ("Note", "deploy v1.4".to_string()),
    ] {
        h.get_by_role_and_label(Role::TextInput, field).focus();
        h.step();
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        h.step();
        h.get_by_role_and_label(Role::TextInput, field)
            .type_text(&value);
        h.step();
    }
    h.get_by_role_and_label(Role::Button, "Add note").click();
    wait_for(&mut h, "the note saved", |h| {
        h.query_by_label_contains("Added: every chart marks it")
            .is_some()
    });
    h.get_by_role_and_label(Role::Button, "Close").click();
    wait_for(&mut h, "the note on the charts", |h| {
        ["Latency percentiles", "Requests/s by model"]
            .iter()
            .all(|t| chart_figures(h, t).is_some_and(|(_, _, markers)| markers == 1))
    });
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "overview_note");
    drop(h);
    let notes = read_settled(
        &db,
        |r| r.time_annotations(None).unwrap(),
        |n| !n.is_empty(),
    );
    assert_eq!(notes.len(), 1);
    assert_eq!(
        (notes[0].text.as_str(), notes[0].from_ns, notes[0].to_ns),
        ("deploy v1.4", at, at + 2 * HOUR)
    );
}
