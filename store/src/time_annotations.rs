//! Notes people pin to a moment or a stretch of time (a deploy, a prompt change) so that
//! every chart shows them: the `time_annotations` table, the edits the writer applies
//! in order with the spans, and what the charts read.

use crate::error::StoreError;
use duckdb::{Connection, params};

/// The schema version that added time annotations.
pub(crate) const ANNOTATIONS_SCHEMA: i64 = 14;

/// The longest note kept, in characters: a label on a chart, not a document.
pub const MAX_TEXT_CHARS: usize = 200;

/// A note on a stretch of time, as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TimeAnnotation {
    /// Its id (to remove it).
    pub id: i64,
    /// Where it starts, Unix ns.
    pub from_ns: i64,
    /// Where it ends, Unix ns; `from_ns` for a moment.
    pub to_ns: i64,
    /// What happened.
    pub text: String,
    /// When it was written, Unix ns.
    pub created_ns: i64,
}

/// A change to the notes, applied by the writer in order with the batches around it.
/// Made through [`AnnotationEdit::add`], so that what reaches the writer is valid and
/// one person's typo cannot fail a group of other clients' spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnnotationEdit {
    /// A new note.
    Add {
        /// Where it starts, Unix ns.
        from_ns: i64,
        /// Where it ends, Unix ns (≥ `from_ns`).
        to_ns: i64,
        /// What happened, trimmed, 1 to [`MAX_TEXT_CHARS`] characters.
        text: String,
    },
    /// Removes the note with this id (nothing when there is none).
    Remove(i64),
}

impl AnnotationEdit {
    /// A new note on `from_ns..=to_ns` (given either way round); refused when the text
    /// is empty or too long.
    pub fn add(from_ns: i64, to_ns: i64, text: &str) -> Result<Self, StoreError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(StoreError::BadAnnotation(
                "the note is empty: say what happened (\"deploy v1.4\")".into(),
            ));
        }
        let chars = text.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(StoreError::BadAnnotation(format!(
                "the note has {chars} characters; a chart label holds at most {MAX_TEXT_CHARS}"
            )));
        }
        Ok(AnnotationEdit::Add {
            from_ns: from_ns.min(to_ns),
            to_ns: from_ns.max(to_ns),
            text: text.to_string(),
        })
    }
}

/// Migration 13 → 14: the table.
pub(crate) fn create_sql() -> &'static str {
    "CREATE TABLE time_annotations (
         id BIGINT NOT NULL,
         from_ns BIGINT NOT NULL,
         to_ns BIGINT NOT NULL,
         text VARCHAR NOT NULL,
         created_ns BIGINT NOT NULL
     );"
}

/// Applies `edits` in order inside the writer's transaction; new notes get the next ids.
pub(crate) fn apply<'a>(
    conn: &Connection,
    edits: impl Iterator<Item = &'a AnnotationEdit>,
    now_ns: i64,
) -> duckdb::Result<()> {
    let mut next: i64 = conn.query_row(
        "SELECT coalesce(max(id), 0) + 1 FROM time_annotations",
        [],
        |r| r.get(0),
    )?;
    let mut add = conn.prepare("INSERT INTO time_annotations VALUES (?, ?, ?, ?, ?)")?;
    let mut remove = conn.prepare("DELETE FROM time_annotations WHERE id = ?")?;
    for edit in edits {
        match edit {
            AnnotationEdit::Add {
                from_ns,
                to_ns,
                text,
            } => {
                add.execute(params![next, from_ns, to_ns, text, now_ns])?;
                next += 1;
            }
            AnnotationEdit::Remove(id) => {
                remove.execute(params![id])?;
            }
        }
    }
    Ok(())
}

/// The notes that touch `from_ns..to_ns` (all of them for `None`), earliest first.
pub(crate) fn overlapping(
    conn: &Connection,
    window: Option<(i64, i64)>,
) -> Result<Vec<TimeAnnotation>, StoreError> {
    let (from, to) = window.unwrap_or((i64::MIN, i64::MAX));
    let mut stmt = conn.prepare(
        "SELECT id, from_ns, to_ns, text, created_ns FROM time_annotations
         WHERE to_ns >= ? AND from_ns < ? ORDER BY from_ns, id",
    )?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(TimeAnnotation {
            id: r.get(0)?,
            from_ns: r.get(1)?,
            to_ns: r.get(2)?,
            text: r.get(3)?,
            created_ns: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
