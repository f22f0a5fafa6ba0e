//! Notes on stretches of time through the real writer: added in order with spans,
//! read back by window (a note touching the window counts), removed by id, kept across
//! a restart; a file from before notes reads as having none, and gets the table when
//! opened for writing.

use store::*;

mod common;
use common::{T0, span};

const MIN: i64 = 60_000_000_000;

fn add(from: i64, to: i64, text: &str) -> AnnotationEdit {
    AnnotationEdit::add(from, to, text).unwrap()
}

fn texts(notes: &[TimeAnnotation]) -> Vec<&str> {
    notes.iter().map(|n| n.text.as_str()).collect()
}

#[test]
fn notes_are_stored_read_by_window_removed_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.duckdb");
    {
        let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
        let writer = store.writer().unwrap();
        writer
            .write(Batch {
                spans: vec![span(1, 1, None, 0, 10)],
                annotations: vec![
                    add(T0 + 10 * MIN, T0 + 10 * MIN, "deploy v1.4"),
                    add(T0 + 40 * MIN, T0 + 20 * MIN, "prompt v2 rollout"),
                    add(T0 + 90 * MIN, T0 + 90 * MIN, "incident"),
                ],
                ..Batch::default()
            })
            .unwrap();
        let mut r = store.reader().unwrap();
        let all = r.time_annotations(None).unwrap();
        assert_eq!(
            texts(&all),
            ["deploy v1.4", "prompt v2 rollout", "incident"]
        );
        assert_eq!(
            (all[1].from_ns, all[1].to_ns),
            (T0 + 20 * MIN, T0 + 40 * MIN)
        );
        let ids: std::collections::HashSet<i64> = all.iter().map(|n| n.id).collect();
        assert_eq!(ids.len(), 3, "each note its own id");
        // A window from minute 30 to 60 holds the stretch that runs into it only.
        let window = r
            .time_annotations(Some((T0 + 30 * MIN, T0 + 60 * MIN)))
            .unwrap();
        assert_eq!(texts(&window), ["prompt v2 rollout"]);
        writer
            .write(Batch {
                annotations: vec![AnnotationEdit::Remove(all[0].id)],
                ..Batch::default()
            })
            .unwrap();
        writer.close().unwrap();
    }
    let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
    let writer = store.writer().unwrap();
    writer
        .write(Batch {
            annotations: vec![add(T0, T0, "after the restart")],
            ..Batch::default()
        })
        .unwrap();
    let notes = store.reader().unwrap().time_annotations(None).unwrap();
    assert_eq!(
        texts(&notes),
        ["after the restart", "prompt v2 rollout", "incident"]
    );
    assert!(
        notes[0].id > notes[2].id,
        "a removed note's id is not given again while later ones exist"
    );
}

#[test]
fn a_note_must_say_something_and_be_short() {
    let empty = AnnotationEdit::add(T0, T0, "   ").unwrap_err();
    assert!(empty.to_string().contains("empty"), "{empty}");
    let long = AnnotationEdit::add(T0, T0, &"x".repeat(MAX_ANNOTATION_CHARS + 1)).unwrap_err();
    assert!(long.to_string().contains("at most"), "{long}");
    assert!(AnnotationEdit::add(T0, T0, &"é".repeat(MAX_ANNOTATION_CHARS)).is_ok());
}

#[test]
fn a_file_from_before_notes_has_none_until_opened_for_writing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v13.duckdb");
    {
        let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
        let writer = store.writer().unwrap();
        writer
            .write(Batch {
                spans: vec![span(1, 1, None, 0, 10)],
                ..Batch::default()
            })
            .unwrap();
        writer.close().unwrap();
    }
    common::as_written_by_schema(&path, 13);
    let old = Store::open(&path, OpenMode::ReadOnly).unwrap();
    assert_eq!(old.reader().unwrap().time_annotations(None).unwrap(), []);
    drop(old);
    let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
    let writer = store.writer().unwrap();
    writer
        .write(Batch {
            annotations: vec![add(T0, T0, "first note")],
            ..Batch::default()
        })
        .unwrap();
    let notes = store.reader().unwrap().time_annotations(None).unwrap();
    assert_eq!(texts(&notes), ["first note"]);
}
