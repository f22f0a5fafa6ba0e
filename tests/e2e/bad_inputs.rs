//! Bad inputs at the command line: each gives its documented message and exit status,
//! never a panic, and nothing a user saved is overwritten.

use crate::collector::Collector;
use crate::util::{Scratch, fixture, run, stderr, stdout};

fn no_panic(o: &std::process::Output) {
    let e = stderr(o);
    assert!(!e.contains("panicked"), "panic: {e}");
}

#[test]
fn bad_dumps_are_reported_as_file_and_line_and_exit_1() {
    let dir = Scratch::new("bad-dumps");
    let good = std::fs::read_to_string(fixture("openllmetry-openai.jsonl")).unwrap();
    let first_line = good.lines().next().unwrap();
    let wrong_id = first_line.replacen("\"spanId\":\"", "\"spanId\":\"ab", 1);
    let mixed = format!(
        "{first_line}\n{{\"hello\": 1}}\n{wrong_id}\n{}",
        &first_line[..first_line.len() / 2]
    );
    std::fs::write(dir.0.join("mixed.jsonl"), mixed).unwrap();
    std::fs::write(dir.0.join("garbage.bin"), [0x13u8, 0x37, 0xff, 0x00, 0x42]).unwrap();
    std::fs::write(dir.0.join("empty.json"), "").unwrap();
    let db = dir.path("t.duckdb");
    let out = run(&[
        "import",
        "--db",
        &db,
        &dir.path("mixed.jsonl"),
        &dir.path("garbage.bin"),
        &dir.path("empty.json"),
    ]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("mixed.jsonl:2: not an OTLP request"), "{err}");
    assert!(
        err.contains(
            "mixed.jsonl:3: span 0 of scope 0 of resource 0: span id has 9 bytes, expected 8"
        ),
        "{err}"
    );
    assert!(err.contains("mixed.jsonl:4: truncated"), "{err}");
    assert!(err.contains("garbage.bin: not OTLP"), "{err}");
    assert!(err.contains("empty.json: the file is empty"), "{err}");
    // The good first line was imported all the same.
    let stats = run(&["stats", "--db", &db, "--json"]);
    let s: serde_json::Value = serde_json::from_str(&stdout(&stats)).unwrap();
    assert!(s["spans"].as_u64().unwrap() > 0);
    assert!(stdout(&out).contains("rejected"));
}

#[test]
fn a_directory_or_a_non_database_file_is_refused_and_left_alone() {
    let dir = Scratch::new("bad-db");
    let out = run(&["stats", "--db", &dir.path("")]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is a directory, not a database file"),
        "{}",
        stderr(&out)
    );

    let notes = dir.path("notes.txt");
    std::fs::write(&notes, "my precious notes").unwrap();
    let out = run(&["import", "--db", &notes, &fixture("legacy-genai.pb")]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not a DuckDB database file"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&notes).unwrap(),
        "my precious notes"
    );

    let out = run(&["stats", "--db", &dir.path("missing.duckdb")]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.duckdb"), "{}", stderr(&out));
}

#[test]
fn a_database_open_in_another_process_is_named_in_one_line() {
    let dir = Scratch::new("locked");
    let db = dir.path("t.duckdb");
    assert!(
        run(&["demo", "--db", &db, "--traces", "10"])
            .status
            .success()
    );
    // `serve` holds the database open from before it prints its addresses.
    let holder = Collector::start(&db, &[]);
    for args in [
        vec!["import", "--db", &db, &fixture("legacy-genai.pb")],
        vec!["stats", "--db", &db],
        vec!["demo", "--db", &db, "--traces", "1"],
    ] {
        let out = run(&args);
        no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("is already open in another process"), "{err}");
        assert!(err.contains("t.duckdb"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    assert!(holder.stop().success());
}

#[test]
fn every_command_explains_itself() {
    for cmd in ["import", "stats", "demo", "prune", "clear", "bench"] {
        let out = run(&[cmd, "--help"]);
        assert!(out.status.success(), "{cmd} --help");
        assert!(stdout(&out).contains("Usage:"), "{cmd}");
    }
    let out = run(&["stats", "--last", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not a duration"),
        "{}",
        stderr(&out)
    );
}

/// DuckDB's memory and thread settings come from the environment; a value DuckDB would
/// refuse is named, with what a good one looks like, and a good one is used.
#[test]
fn a_bad_memory_or_thread_setting_is_named() {
    let dir = Scratch::new("db-settings");
    let db = dir.path("s.duckdb");
    let imported = run(&["import", "--db", &db, &fixture("openllmetry-openai.jsonl")]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    for (variable, value, hint) in [
        ("LLM_OBSERVATORY_DB_MEMORY", "lots", "512MB"),
        ("LLM_OBSERVATORY_DB_THREADS", "0", "number of threads"),
        ("LLM_OBSERVATORY_DB_THREADS", "two", "number of threads"),
    ] {
        let out = crate::util::bin()
            .args(["stats", "--db", &db])
            .env(variable, value)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{variable}={value}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("{variable}=\"{value}\"")) && err.contains(hint),
            "{err}"
        );
    }
    let out = crate::util::bin()
        .args(["stats", "--db", &db])
        .env("LLM_OBSERVATORY_DB_MEMORY", "300MB")
        .env("LLM_OBSERVATORY_DB_THREADS", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}
