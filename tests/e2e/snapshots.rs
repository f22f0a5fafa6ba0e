//! `snapshot`: a selection saved as a small database to share. It holds exactly the
//! selection's traces (whole) and the notes on its range, figures its costs with the
//! prices in force where it was saved, reads the same figures as the source for the
//! same filter, and refuses to overwrite a file or the source itself.

use crate::query_api::{assert_same, cli};
use crate::util::{Scratch, run, stderr, stdout};
use serde_json::Value;
use std::collections::BTreeSet;

fn ids(page: &Value) -> BTreeSet<String> {
    page["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_snapshot_holds_the_selection_alone_with_its_figures() {
    let dir = Scratch::new("snapshot");
    let db = dir.path("demo.duckdb");
    let made = run(&[
        "demo",
        "--db",
        &db,
        "--traces",
        "600",
        "--end",
        "2026-12-01",
    ]);
    assert!(made.status.success(), "{}", stderr(&made));
    for (text, at) in [
        ("inside", "2026-11-28T12:00:00Z"),
        ("outside", "2026-11-25T12:00:00Z"),
    ] {
        let out = run(&["annotate", "--db", &db, text, "--from", at]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    // A price of the source's own, which the snapshot must carry.
    let prices = dir.path("prices.toml");
    std::fs::write(
        &prices,
        "[models.\"gpt-4o-mini\"]\ninput = 7.0\noutput = 21.0\n",
    )
    .unwrap();
    let selection = [
        "--from",
        "2026-11-27",
        "--to",
        "2026-11-29",
        "--model",
        "gpt-4o*",
    ];
    let source = |args: &[&str]| {
        cli(&[
            args,
            &selection,
            &["--db", &db, "--prices", &prices, "--json"],
        ]
        .concat())
    };
    let truth = source(&["stats"]);
    let traces = source(&["traces", "--limit", "1000"]);
    assert!(truth["llm_calls"].as_u64().unwrap() > 0);
    let everything = cli(&["stats", "--db", &db, "--json"]);
    assert!(everything["traces"].as_u64() > truth["traces"].as_u64());

    let snap = dir.path("share.duckdb");
    let mut args = vec![
        "snapshot", "--db", &db, "--prices", &prices, "--out", &snap, "--view", "models",
    ];
    args.extend(selection);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("opening on Models"),
        "{}",
        stdout(&out)
    );
    let bytes = std::fs::metadata(&snap).unwrap().len();
    assert!(
        bytes < std::fs::metadata(&db).unwrap().len(),
        "a snapshot is smaller than its source"
    );
    // Nothing beside it but the file itself (no partial file, no stray index).
    let beside: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        !beside
            .iter()
            .any(|n| n.to_string_lossy().contains("partial")),
        "{beside:?}"
    );

    // Exactly the selection's traces, every span of them.
    let mine = cli(&["traces", "--db", &snap, "--limit", "1000", "--json"]);
    assert_eq!(ids(&mine), ids(&traces));
    let spans: u64 = traces["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["spans"].as_u64().unwrap())
        .sum();
    let whole = cli(&["stats", "--db", &snap, "--json"]);
    assert_eq!(whole["spans"], spans);
    // The same figures for the same filter, priced as saved (no --prices here).
    let again = cli(&[&["stats"][..], &selection, &["--db", &snap, "--json"]].concat());
    assert_same("stats", &again, &truth);
    let bundled = cli(&[&["stats"][..], &selection, &["--db", &db, "--json"]].concat());
    assert!(
        again["cost_usd"].as_f64() != bundled["cost_usd"].as_f64(),
        "the saved prices differ from the bundled ones"
    );
    // The note inside the range came along, the one outside did not.
    let notes = stdout(&run(&["annotate", "--db", &snap, "--json"]));
    assert!(
        notes.contains("inside") && !notes.contains("outside"),
        "{notes}"
    );

    // Refusals: an existing file, the source itself, a view there is none of.
    let again = run(&["snapshot", "--db", &db, "--out", &snap, "--last", "1h"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("exists; choose another name, or replace it (--force)"),
        "{}",
        stderr(&again)
    );
    let onto = run(&["snapshot", "--db", &db, "--out", &db, "--force"]);
    assert!(!onto.status.success());
    assert!(stderr(&onto).contains("open database"), "{}", stderr(&onto));
    let view = run(&[
        "snapshot",
        "--db",
        &db,
        "--out",
        &dir.path("x.duckdb"),
        "--view",
        "charts",
    ]);
    assert!(
        stderr(&view).contains("--view \"charts\": use one of Overview"),
        "{}",
        stderr(&view)
    );
    let forced = run(&[
        "snapshot",
        "--db",
        &db,
        "--out",
        &snap,
        "--force",
        "--query",
        "status:error",
    ]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(
        stdout(&forced).contains("opening on Inspector"),
        "{}",
        stdout(&forced)
    );
}
