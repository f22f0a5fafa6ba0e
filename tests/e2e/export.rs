//! `export` as a user runs it: every table in every format, read back by other tools
//! (DuckDB's Python package for Parquet and CSV), and OTLP JSON that imports into an
//! empty database with identical figures.

use crate::util::{Scratch, fixture, run, stderr, stdout};
use serde_json::Value;

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

fn stats(db: &str) -> Value {
    serde_json::from_str(&ok(&["stats", "--db", db, "--json"])).unwrap()
}

/// A database with the spans of the real-instrumentation fixtures and some demo traffic.
fn database(dir: &Scratch) -> String {
    let db = dir.path("src.duckdb");
    ok(&["demo", "--db", &db, "--traces", "300"]);
    ok(&[
        "import",
        "--db",
        &db,
        &fixture("openinference-openai.jsonl"),
        &fixture("openllmetry-openai.jsonl"),
        &fixture("legacy-genai.pb"),
    ]);
    db
}

/// Rows of a file as DuckDB's Python package reads it.
fn duckdb_count(reader: &str, path: &str) -> u64 {
    let out = std::process::Command::new(crate::live_clients::python())
        .args([
            "-c",
            &format!(
                "import duckdb, sys; print(duckdb.sql(\"SELECT count(*) FROM {reader}('{path}')\").fetchall()[0][0])"
            ),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "python: {}", stderr(&out));
    stdout(&out).trim().parse().unwrap()
}

#[test]
fn every_table_exports_in_every_format_and_other_tools_read_it() {
    let dir = Scratch::new("export-formats");
    let db = database(&dir);
    let s = stats(&db);
    let expected = [
        ("spans", s["spans"].as_u64().unwrap()),
        ("calls", s["llm_calls"].as_u64().unwrap()),
        ("traces", s["traces"].as_u64().unwrap()),
    ];
    for (what, rows) in expected {
        for format in ["csv", "json", "parquet"] {
            let out = dir.path(&format!("{what}.{format}"));
            let said = ok(&[
                "export", "--db", &db, "--what", what, "--format", format, "--out", &out,
            ]);
            assert!(said.contains(&format!("exported {rows} {what}")), "{said}");
            let read_back = match format {
                "parquet" => duckdb_count("read_parquet", &out),
                "csv" => duckdb_count("read_csv", &out),
                _ => {
                    let v: Value =
                        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
                    v.as_array().unwrap().len() as u64
                }
            };
            assert_eq!(read_back, rows, "{what} as {format}");
        }
    }
    // A filter narrows the export exactly as it narrows stats.
    let errors = s["errors"].as_u64().unwrap();
    assert!(errors > 0);
    let out = dir.path("errors.parquet");
    ok(&[
        "export", "--db", &db, "--what", "calls", "--format", "parquet", "--out", &out, "--status",
        "error",
    ]);
    assert_eq!(duckdb_count("read_parquet", &out), errors);
}

#[test]
fn otlp_json_export_reimports_into_identical_figures() {
    let dir = Scratch::new("export-otlp");
    let db = database(&dir);
    let dump = dir.path("all.jsonl");
    let said = ok(&[
        "export",
        "--db",
        &db,
        "--what",
        "spans",
        "--format",
        "otlp-json",
        "--out",
        &dump,
    ]);
    let before = stats(&db);
    assert!(
        said.contains(&format!("exported {} spans", before["spans"])),
        "{said}"
    );
    let copy = dir.path("copy.duckdb");
    let imported = ok(&["import", "--db", &copy, &dump]);
    let after = stats(&copy);
    assert_eq!(before, after);
    // The spans' evaluation results come back with them, the same.
    let evaluations = |db: &str, name: &str| {
        let file = dir.path(&format!("{name}.evaluations.json"));
        ok(&[
            "export",
            "--db",
            db,
            "--what",
            "evaluations",
            "--format",
            "json",
            "--out",
            &file,
            "--force",
        ]);
        let rows: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        rows.into_iter()
            .map(|mut r| {
                r.as_object_mut().unwrap().remove("source");
                r
            })
            .collect::<Vec<_>>()
    };
    let judged = evaluations(&db, "source");
    assert!(!judged.is_empty(), "the demo traffic is judged");
    assert!(
        imported.contains(&format!("and {} evaluation results stored", judged.len())),
        "{imported}"
    );
    assert_eq!(evaluations(&copy, "copy"), judged);
    // Asking for calls as OTLP says why not.
    let out = run(&[
        "export",
        "--db",
        &db,
        "--what",
        "calls",
        "--format",
        "otlp-json",
        "--out",
        &dump,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("use --what spans"),
        "{}",
        stderr(&out)
    );
}

/// The sessions, agents, tools and evaluations tables export as the store lists them
/// (the window's tables), CSV and JSON alike; Parquet is refused for the three summary
/// tables with what to use instead.
#[test]
fn sessions_agents_tools_and_evaluations_export_as_the_store_lists_them() {
    let dir = Scratch::new("export-summaries");
    let db = database(&dir);
    let store = store::Store::open(std::path::Path::new(&db), store::OpenMode::ReadOnly).unwrap();
    let mut r = store.reader().unwrap();
    let all = store::Filter::default();
    let (sessions, _) = r
        .sessions_page(
            &all,
            "",
            store::SessionSort::Start,
            store::SortDir::Asc,
            0,
            i64::MAX as u64,
        )
        .unwrap();
    let listed = [
        ("sessions", serde_json::to_value(&sessions).unwrap()),
        (
            "agents",
            serde_json::to_value(r.agents(&all).unwrap()).unwrap(),
        ),
        (
            "tools",
            serde_json::to_value(r.tools(&all).unwrap()).unwrap(),
        ),
    ];
    let evaluations = r.evaluators(&all).unwrap();
    drop(r);
    drop(store);
    for (what, rows) in listed {
        let n = rows.as_array().unwrap().len();
        assert!(n > 1, "{what}: the demo traffic has several");
        let json = dir.path(&format!("{what}.json"));
        let said = ok(&[
            "export", "--db", &db, "--what", what, "--format", "json", "--out", &json,
        ]);
        assert!(said.contains(&format!("exported {n} {what}")), "{said}");
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        for (w, r) in written
            .as_array()
            .unwrap()
            .iter()
            .zip(rows.as_array().unwrap())
        {
            assert!(same(w, r), "{what}: {w} vs {r}");
        }
        assert_eq!(written.as_array().unwrap().len(), n, "{what}");
        let csv = dir.path(&format!("{what}.csv"));
        ok(&[
            "export", "--db", &db, "--what", what, "--format", "csv", "--out", &csv,
        ]);
        assert_eq!(
            duckdb_count("read_csv_auto", &csv),
            n as u64,
            "{what} as CSV"
        );
        let out = run(&[
            "export",
            "--db",
            &db,
            "--what",
            what,
            "--format",
            "parquet",
            "--out",
            &dir.path(&format!("{what}.parquet")),
        ]);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("written as csv or json"),
            "{}",
            stderr(&out)
        );
    }
    let results: u64 = evaluations.iter().map(|e| e.evaluations).sum();
    assert!(results > 0, "the demo traffic is judged");
    let parquet = dir.path("evaluations.parquet");
    ok(&[
        "export",
        "--db",
        &db,
        "--what",
        "evaluations",
        "--format",
        "parquet",
        "--out",
        &parquet,
    ]);
    assert_eq!(duckdb_count("read_parquet", &parquet), results);
}

/// Equal JSON, floats within a relative 1e-9 (DuckDB sums in no fixed order).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if x.fract() != 0.0 || y.fract() != 0.0 => {
                (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
            }
            _ => x == y,
        },
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
        }
        _ => a == b,
    }
}
