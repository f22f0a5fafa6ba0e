//! What a careless or hostile user found (issue 13), each reproduced against the binary:
//! exports that destroyed the database or truncated files, an empty token that let
//! anyone in, and the rest of the numbered findings.

use crate::util::{Scratch, fixture, run, stderr, stdout};

/// A database with the fixtures imported, and its `stats --json`.
fn database(dir: &Scratch) -> (String, String) {
    let db = dir.path("t.duckdb");
    let out = run(&["import", "--db", &db, &fixture("openllmetry-openai.jsonl")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stats = run(&["stats", "--db", &db, "--json"]);
    assert!(stats.status.success(), "{}", stderr(&stats));
    (db, stdout(&stats))
}

#[test]
fn export_never_writes_over_the_database_however_its_path_is_spelled() {
    let dir = Scratch::new("hostile-export-db");
    let (db, before) = database(&dir);
    std::fs::create_dir_all(dir.0.join("sub")).unwrap();
    std::fs::hard_link(&db, dir.0.join("link.duckdb")).unwrap();
    let spellings = [
        db.clone(),
        dir.path("sub/../t.duckdb"),
        dir.path("./t.duckdb"),
        dir.path("link.duckdb"),
        dir.path("t.duckdb.wal"),
        dir.path("t.duckdb.search/out.csv"),
    ];
    for out_path in &spellings {
        for format in ["csv", "json", "parquet", "otlp-json"] {
            let out = run(&[
                "export", "--db", &db, "--what", "spans", "--format", format, "--out", out_path,
                "--force",
            ]);
            assert_eq!(out.status.code(), Some(2), "{out_path} {format}");
            let err = stderr(&out);
            assert!(
                err.contains("refusing to write") && err.contains("open database"),
                "{out_path} {format}: {err}"
            );
            assert!(!stdout(&out).contains("exported"), "{}", stdout(&out));
        }
    }
    let after = run(&["stats", "--db", &db, "--json"]);
    assert!(after.status.success(), "{}", stderr(&after));
    assert_eq!(stdout(&after), before, "the database changed");
}

#[test]
fn export_replaces_a_file_only_with_force_and_a_failed_export_leaves_it_whole() {
    let dir = Scratch::new("hostile-export-file");
    let (db, _) = database(&dir);
    let kept = dir.path("report.csv");
    std::fs::write(&kept, "my notes\n").unwrap();
    let export = |extra: &[&str]| {
        let mut args = vec![
            "export", "--db", &db, "--what", "calls", "--format", "csv", "--out", &kept,
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    // Without --force: refused, named, untouched.
    let out = export(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("already exists") && stderr(&out).contains("--force"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "my notes\n");
    // A failing export (a query the store rejects) with --force: the file is as it was.
    let out = export(&["--force", "--model", "["]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "my notes\n");
    // With --force it is replaced, and no temporary file is left beside it.
    let out = export(&["--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(&kept)
            .unwrap()
            .starts_with("trace_id,")
    );
    let names: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(names.is_empty(), "temporaries left: {names:?}");
}

#[test]
fn a_truncated_database_is_named_as_damaged_and_never_read_or_written() {
    let dir = Scratch::new("hostile-truncated");
    let (db, _) = database(&dir);
    let len = std::fs::metadata(&db).unwrap().len();
    assert!(
        len > 3 * 4096 + 262_144,
        "the database has data blocks ({len} bytes)"
    );
    let cut = len - 262_144;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(cut)
        .unwrap();
    let fixture_file = fixture("openllmetry-openai.jsonl");
    for args in [
        vec!["stats", "--db", &db],
        vec!["calls", "--db", &db],
        vec![
            "export",
            "--db",
            &db,
            "--what",
            "calls",
            "--format",
            "csv",
            "--out",
            "/dev/null",
        ],
        vec!["import", "--db", &db, &fixture_file],
        vec![
            "serve",
            "--db",
            &db,
            "--grpc",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
        ],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains("is a damaged DuckDB database") && err.contains("cut short"),
            "{args:?}: {err}"
        );
        assert!(!stdout(&out).contains("listening"), "{}", stdout(&out));
        assert_eq!(std::fs::metadata(&db).unwrap().len(), cut, "{args:?} wrote");
    }
}

#[test]
fn command_line_values_out_of_range_get_a_plain_error() {
    let dir = Scratch::new("hostile-cli");
    let (db, _) = database(&dir);
    let out = run(&["calls", "--db", &db, "--limit", "9223372036854775808"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("--limit") && err.contains("9223372036854775808"),
        "{err}"
    );
    assert!(!err.to_lowercase().contains("conversion"), "{err}");
    let out = run(&["calls", "--db", &db, "--limit", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // A query starting with '-' (exclude a word) is the query, not a flag.
    let all = run(&["calls", "--db", &db, "--json", "--limit", "1000"]);
    let without = run(&[
        "calls", "--db", &db, "--json", "--limit", "1000", "--query", "-refund",
    ]);
    assert!(without.status.success(), "{}", stderr(&without));
    assert!(stdout(&without).lines().count() <= stdout(&all).lines().count());
    for flag in ["--max-message-size", "--body-memory"] {
        let out = run(&["serve", "--db", &dir.path("x.duckdb"), flag, "0"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(&format!("{flag} 0 would refuse every request")));
    }
    let out = run(&[
        "serve",
        "--db",
        &dir.path("x.duckdb"),
        "--max-connections",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// Runs `serve` as an unprivileged user when the tests run as root (whom folder
/// permissions do not stop), from a copy of the binary that user can run, as the user
/// otherwise.
fn serve_unprivileged(db: &str, scratch: &Scratch) -> std::process::Output {
    let mut cmd = if is_root() {
        let copy = scratch.0.join("llm-observatory");
        std::fs::copy(env!("CARGO_BIN_EXE_llm-observatory"), &copy).unwrap();
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(copy);
        c
    } else {
        std::process::Command::new(env!("CARGO_BIN_EXE_llm-observatory"))
    };
    cmd.args([
        "serve",
        "--db",
        db,
        "--grpc",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
    ])
    .env("XDG_CONFIG_HOME", "/nonexistent")
    .env("XDG_DATA_HOME", "/nonexistent")
    .env("HOME", "/nonexistent")
    .output()
    .unwrap()
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn serve_says_it_cannot_write_its_log_before_saying_it_listens() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Scratch::new("hostile-readonly");
    let (db, before) = database(&dir);
    let folder = dir.0.join("ro");
    std::fs::create_dir_all(&folder).unwrap();
    let inside = folder.join("t.duckdb");
    std::fs::rename(&db, &inside).unwrap();
    std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = serve_unprivileged(&inside.display().to_string(), &dir);
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("cannot write in") && err.contains("t.duckdb.wal"),
        "{err}"
    );
    assert!(!stdout(&out).contains("listening"), "{}", stdout(&out));
    let inside = inside.display().to_string();
    let spans =
        |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap()["spans"].clone();
    let after = run(&["stats", "--db", &inside, "--json"]);
    assert_eq!(spans(&stdout(&after)), spans(&before));
}

#[test]
fn spans_with_a_zero_start_or_an_end_before_the_start_are_stored_with_a_warning() {
    let dir = Scratch::new("hostile-times");
    let good = std::fs::read_to_string(fixture("openllmetry-openai.jsonl")).unwrap();
    let line = good.lines().next().unwrap();
    let mut request: serde_json::Value = serde_json::from_str(line).unwrap();
    let n: usize = request["resourceSpans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["scopeSpans"].as_array().unwrap())
        .map(|s| s["spans"].as_array().unwrap().len())
        .sum();
    let spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array_mut()
        .unwrap();
    assert!(spans.len() >= 2);
    spans[0]["startTimeUnixNano"] = "0".into();
    let end = spans[1]["endTimeUnixNano"].clone();
    spans[1]["endTimeUnixNano"] = spans[1]["startTimeUnixNano"].clone();
    spans[1]["startTimeUnixNano"] = end;
    let file = dir.0.join("times.json");
    std::fs::write(&file, request.to_string()).unwrap();
    let db = dir.path("t.duckdb");
    let out = run(&["import", "--db", &db, &file.display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning:") && err.contains("start time is 0"),
        "{err}"
    );
    assert!(err.contains("before its start"), "{err}");
    let s: serde_json::Value =
        serde_json::from_str(&stdout(&run(&["stats", "--db", &db, "--json"]))).unwrap();
    assert_eq!(s["spans"].as_u64().unwrap(), n as u64, "every span stored");
}
