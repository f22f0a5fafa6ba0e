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
    ok(&["import", "--db", &copy, &dump]);
    let after = stats(&copy);
    assert_eq!(before, after);
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
