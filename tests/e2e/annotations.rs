//! `annotate` as a deploy script uses it: notes on a moment and on a stretch are stored
//! in the database, listed with their ids (also as JSON), removed by id, and bad input
//! (an empty note, an unknown id, a time that is no time) is refused with a reason and
//! changes nothing.

use crate::util::{Scratch, run, stderr, stdout};
use serde_json::Value;

fn notes(db: &str) -> Vec<Value> {
    let out = run(&["annotate", "--db", db, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn notes_are_added_listed_and_removed_and_bad_ones_refused() {
    let dir = Scratch::new("annotate");
    let db = dir.path("notes.duckdb");
    let out = run(&[
        "demo",
        "--db",
        &db,
        "--traces",
        "200",
        "--end",
        "2026-12-01T00:00:00Z",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["annotate", "--db", &db]);
    assert!(stdout(&out).contains("no notes"), "{}", stdout(&out));

    let out = run(&[
        "annotate",
        "--db",
        &db,
        "deploy v1.4",
        "--from",
        "2026-11-30T10:00:00Z",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("noted at 2026-11-30T10:00:00"),
        "{}",
        stdout(&out)
    );
    let out = run(&[
        "annotate",
        "--db",
        &db,
        "  prompt v2 rollout ",
        "--from",
        "2026-11-30T14:00:00Z",
        "--to",
        "2026-11-30T12:00:00Z",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    let listed = notes(&db);
    assert_eq!(listed.len(), 2, "{listed:#?}");
    assert_eq!(listed[0]["text"], "deploy v1.4");
    assert_eq!(listed[0]["from_ns"], listed[0]["to_ns"], "a moment");
    assert_eq!(listed[1]["text"], "prompt v2 rollout", "trimmed");
    assert!(
        listed[1]["from"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-30T12:00:00")
    );
    assert!(
        listed[1]["to"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-30T14:00:00")
    );

    // Bad input: refused, said why, nothing changed.
    for (args, why) in [
        (vec!["   "], "empty"),
        (vec!["deploy", "--from", "yesterday-ish"], "is not a time"),
        (vec!["--remove", "99"], "no note has id 99"),
    ] {
        let mut all = vec!["annotate", "--db", &db];
        all.extend(args.iter().copied());
        let out = run(&all);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(stderr(&out).contains(why), "{args:?}: {}", stderr(&out));
    }
    let long = "x".repeat(store::MAX_ANNOTATION_CHARS + 1);
    let out = run(&["annotate", "--db", &db, &long]);
    assert!(
        !out.status.success() && stderr(&out).contains("at most"),
        "{}",
        stderr(&out)
    );
    assert_eq!(notes(&db).len(), 2);

    let id = listed[0]["id"].as_i64().unwrap().to_string();
    let out = run(&["annotate", "--db", &db, "--remove", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let left = notes(&db);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["text"], "prompt v2 rollout");
}
