//! A full-text index of prompts and responses (tantivy), kept beside the database file
//! (`NAME.duckdb.search/`), so that searching a rare word among millions of calls does
//! not scan every prompt. It only narrows: every word of the search must appear inside
//! some indexed word (lowercase runs of letters and digits, found through the term
//! dictionary), which every call matching the SQL's case-insensitive substring test
//! satisfies; the SQL then checks the exact conditions. So results are the same with or
//! without the index, only faster.
//!
//! It is derived data. The writer adds each committed call; retention deletes by time;
//! on opening, an index whose count differs from the table's is rebuilt in the
//! background, and searches scan until it is ready.

use crate::error::StoreError;
use duckdb::Connection;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use tantivy::collector::DocSetCollector;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, RegexQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{LowerCaser, SimpleTokenizer, TextAnalyzer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};

/// The fast fields holding each call's ids (read straight from columns for hits).
const SPAN: &str = "span";
const TRACE_HI: &str = "trace_hi";
const TRACE_LO: &str = "trace_lo";

/// The analyzer indexed text and searched words go through.
const TOKENIZER: &str = "words";

/// Beyond this many hits the index does not narrow enough to help; the query scans.
const MAX_HITS: usize = 20_000;

/// How often added calls are committed to the index (a commit writes a segment and
/// syncs it; doing that per batch would slow live ingest several-fold). Calls added
/// since the last commit are searched from memory meanwhile.
const COMMIT_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// ... or sooner, once the calls searched from memory hold this much text: a bulk
/// import can add hundreds of megabytes of prompts in five seconds. (A bound, not a
/// measured saving: writing 2M demo spans peaked the same with and without it.)
const RECENT_TEXT_BYTES: usize = 32 << 20;

/// One call to index.
pub(crate) struct IndexedCall {
    pub trace_id: u128,
    pub span_id: u64,
    pub start_ns: i64,
    pub text: String,
}

/// Calls added to the index but not committed to its files yet, searched from memory.
#[derive(Default)]
struct Recent {
    /// (trace id, span id, lowercased text).
    calls: Vec<(u128, u64, String)>,
    /// The bytes of their text.
    bytes: usize,
}

/// The index of one database.
pub struct TextIndex {
    index: Index,
    reader: IndexReader,
    writer: Option<Mutex<IndexWriter>>,
    span: Field,
    trace_hi: Field,
    trace_lo: Field,
    start: Field,
    text: Field,
    ready: AtomicBool,
    dir: Option<PathBuf>,
    /// Calls added but not committed yet.
    recent: Mutex<Recent>,
    last_commit: Mutex<std::time::Instant>,
}

impl TextIndex {
    /// Opens (or creates) the index for the database at `db`; `None` path: in memory.
    /// Read-only databases get a read-only index, or none if there is none on disk.
    pub(crate) fn open(db: Option<&Path>, writable: bool) -> Result<Option<TextIndex>, StoreError> {
        let mut sb = Schema::builder();
        let span = sb.add_u64_field(SPAN, FAST);
        let trace_hi = sb.add_u64_field(TRACE_HI, FAST);
        let trace_lo = sb.add_u64_field(TRACE_LO, FAST);
        let start = sb.add_i64_field("start", INDEXED);
        // Every run of letters and digits, lowercased, however long (tantivy's default
        // drops long tokens, which a substring search must still find).
        let text = sb.add_text_field(
            "text",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(TOKENIZER)
                    .set_index_option(IndexRecordOption::Basic),
            ),
        );
        let schema = sb.build();
        let err = |e: tantivy::TantivyError| StoreError::Index(e.to_string());
        let dir = db.map(|p| {
            let mut name = p.as_os_str().to_owned();
            name.push(".search");
            PathBuf::from(name)
        });
        let index = match &dir {
            None => Index::create_in_ram(schema),
            Some(d) if writable => {
                std::fs::create_dir_all(d).map_err(|source| StoreError::Io {
                    path: d.clone(),
                    source,
                })?;
                let open = |schema: Schema| {
                    tantivy::directory::MmapDirectory::open(d)
                        .map_err(|e| StoreError::Index(e.to_string()))
                        .and_then(|mmap| Index::open_or_create(mmap, schema).map_err(err))
                };
                match open(schema.clone()) {
                    Ok(i) => i,
                    Err(e) => {
                        // Derived data: an index this build cannot use is made again.
                        tracing::warn!("{e}; rebuilding {}", d.display());
                        let _ = std::fs::remove_dir_all(d);
                        std::fs::create_dir_all(d).map_err(|source| StoreError::Io {
                            path: d.clone(),
                            source,
                        })?;
                        open(schema)?
                    }
                }
            }
            Some(d) if d.is_dir() => Index::open_in_dir(d).map_err(err)?,
            Some(_) => return Ok(None),
        };
        index.tokenizers().register(
            TOKENIZER,
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(LowerCaser)
                .build(),
        );
        let writer = if writable {
            // One indexing thread: the other core stays with DuckDB and the receivers.
            Some(Mutex::new(
                index.writer_with_num_threads(1, 48 << 20).map_err(err)?,
            ))
        } else {
            None
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(err)?;
        Ok(Some(TextIndex {
            index,
            reader,
            writer,
            span,
            trace_hi,
            trace_lo,
            start,
            text,
            ready: AtomicBool::new(false),
            dir,
            recent: Mutex::new(Recent::default()),
            last_commit: Mutex::new(std::time::Instant::now()),
        }))
    }

    /// Whether searches may use the index (it holds every call).
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Stops searches from using an index that missed some calls.
    pub(crate) fn mark_stale(&self) {
        self.ready.store(false, Ordering::Release);
    }

    /// Where the index lives, if on disk.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Checks the index against the table; rebuilds it from the table when calls are
    /// missing from it.
    /// Runs on its own connection (a background thread at open).
    pub(crate) fn sync_with(&self, conn: &Connection) -> Result<(), StoreError> {
        let stored: u64 = conn.query_row(
            "SELECT count(*) FROM llm_calls WHERE prompt IS NOT NULL OR response IS NOT NULL",
            [],
            |r| r.get(0),
        )?;
        // More documents than calls is fine (calls indexed twice); fewer means calls
        // are missing, and the index could hide them.
        if self.reader.searcher().num_docs() >= stored {
            self.ready.store(true, Ordering::Release);
            return Ok(());
        }
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        tracing::info!("rebuilding the text index of {stored} calls");
        {
            let mut w = writer.lock().expect("index writer");
            w.delete_all_documents()
                .map_err(|e| StoreError::Index(e.to_string()))?;
            let mut stmt = conn.prepare(
                "SELECT trace_id, span_id, start_ns, coalesce(prompt, '') || chr(10) || coalesce(response, '')
                 FROM llm_calls WHERE prompt IS NOT NULL OR response IS NOT NULL",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let call = IndexedCall {
                    trace_id: r.get(0)?,
                    span_id: r.get(1)?,
                    start_ns: r.get(2)?,
                    text: r.get(3)?,
                };
                w.add_document(self.document(&call))
                    .map_err(|e| StoreError::Index(e.to_string()))?;
            }
            w.commit().map_err(|e| StoreError::Index(e.to_string()))?;
        }
        self.reader
            .reload()
            .map_err(|e| StoreError::Index(e.to_string()))?;
        self.ready.store(true, Ordering::Release);
        Ok(())
    }

    fn document(&self, c: &IndexedCall) -> TantivyDocument {
        doc!(
            self.span => c.span_id,
            self.trace_hi => (c.trace_id >> 64) as u64,
            self.trace_lo => c.trace_id as u64,
            self.start => c.start_ns,
            self.text => c.text.clone(),
        )
    }

    /// Adds calls after their commit. They are searchable at once; they
    /// reach the index files at the next periodic commit (or [`TextIndex::flush`]).
    pub(crate) fn add(&self, calls: &[IndexedCall]) -> Result<(), StoreError> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        if calls.is_empty() {
            return Ok(());
        }
        {
            let w = writer.lock().expect("index writer");
            // No delete-before-add: deletes by term cost a lookup per call at commit,
            // which halved ingest. A call indexed twice (a retried batch, text that came
            // later with GenAI events) only makes an extra candidate, which the SQL
            // drops.
            for c in calls {
                w.add_document(self.document(c))
                    .map_err(|e| StoreError::Index(e.to_string()))?;
            }
        }
        let held = {
            let mut recent = self.recent.lock().expect("recent calls");
            for c in calls {
                recent.bytes += c.text.len();
                recent
                    .calls
                    .push((c.trace_id, c.span_id, c.text.to_lowercase()));
            }
            recent.bytes
        };
        if held >= RECENT_TEXT_BYTES
            || self.last_commit.lock().expect("commit time").elapsed() >= COMMIT_EVERY
        {
            self.flush()?;
        }
        Ok(())
    }

    /// Commits what was added, so that it is in the index files.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        writer
            .lock()
            .expect("index writer")
            .commit()
            .map_err(|e| StoreError::Index(e.to_string()))?;
        self.reader
            .reload()
            .map_err(|e| StoreError::Index(e.to_string()))?;
        *self.recent.lock().expect("recent calls") = Recent::default();
        *self.last_commit.lock().expect("commit time") = std::time::Instant::now();
        Ok(())
    }

    /// Removes calls that started before `cutoff_ns` (retention).
    pub(crate) fn delete_before(&self, cutoff_ns: i64) -> Result<(), StoreError> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        let mut w = writer.lock().expect("index writer");
        let range = RangeQuery::new(
            Bound::Unbounded,
            Bound::Excluded(Term::from_field_i64(self.start, cutoff_ns)),
        );
        w.delete_query(Box::new(range))
            .map_err(|e| StoreError::Index(e.to_string()))?;
        w.commit().map_err(|e| StoreError::Index(e.to_string()))?;
        drop(w);
        self.reader
            .reload()
            .map_err(|e| StoreError::Index(e.to_string()))
    }

    /// Removes everything (clear).
    pub(crate) fn clear(&self) -> Result<(), StoreError> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        let mut w = writer.lock().expect("index writer");
        w.delete_all_documents()
            .map_err(|e| StoreError::Index(e.to_string()))?;
        w.commit().map_err(|e| StoreError::Index(e.to_string()))?;
        drop(w);
        self.reader
            .reload()
            .map_err(|e| StoreError::Index(e.to_string()))
    }

    /// The (trace, span) ids of the calls that may hold every term; `None`
    /// when the index cannot answer (not ready, a term it cannot tokenize the way the
    /// scan matches, too many hits).
    pub(crate) fn search(&self, terms: &[String]) -> Option<Vec<(u128, u64)>> {
        if !self.ready() || terms.is_empty() {
            return None;
        }
        let mut analyzer = self.index.tokenizer_for_field(self.text).ok()?;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for t in terms {
            // Scripts written without spaces (CJK) are one token per run: a word inside
            // a run would be missed, so such terms scan.
            if t.chars().any(is_unspaced_script) {
                return None;
            }
            let mut stream = analyzer.token_stream(t);
            let mut any = false;
            while let Some(tok) = stream.next() {
                // Tokens are letters and digits only: nothing to escape in the pattern.
                let pattern = format!(".*{}.*", tok.text);
                let query = RegexQuery::from_pattern(&pattern, self.text).ok()?;
                clauses.push((Occur::Must, Box::new(query)));
                any = true;
            }
            if !any {
                return None;
            }
        }
        let searcher = self.reader.searcher();
        let hits = searcher
            .search(&BooleanQuery::new(clauses), &DocSetCollector)
            .ok()?;
        if hits.len() > MAX_HITS {
            return None;
        }
        let mut out = Vec::with_capacity(hits.len());
        let mut columns = std::collections::HashMap::new();
        for addr in hits {
            let (span, hi, lo) = match columns.entry(addr.segment_ord) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let fast = searcher.segment_reader(addr.segment_ord).fast_fields();
                    e.insert((
                        fast.u64(SPAN).ok()?,
                        fast.u64(TRACE_HI).ok()?,
                        fast.u64(TRACE_LO).ok()?,
                    ))
                }
            };
            let trace = ((hi.first(addr.doc_id)? as u128) << 64) | lo.first(addr.doc_id)? as u128;
            out.push((trace, span.first(addr.doc_id)?));
        }
        // Calls not committed yet: a lowercase substring test (the SQL confirms).
        let lowered: Vec<String> = terms.iter().map(|t| t.to_lowercase()).collect();
        for (trace, span, text) in &self.recent.lock().expect("recent calls").calls {
            if lowered.iter().all(|w| text.contains(w.as_str())) {
                out.push((*trace, *span));
            }
        }
        Some(out)
    }
}

/// Han, kana, Hangul, Thai…: scripts whose words are not separated by spaces.
fn is_unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF | 0x1100..=0x11FF | 0x3040..=0x30FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}
