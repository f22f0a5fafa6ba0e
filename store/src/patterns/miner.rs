//! The prompt-pattern miner: learns templates from the calls themselves, one call at a
//! time, as a Drain-style log-template miner does — a call either fits a template (its
//! fixed words in order, any text where the template varies), or is aligned with the
//! most similar template or unmatched prompt and, when they share enough, both become
//! one template whose differing parts are a variable slot. A prompt nothing resembles
//! yet waits, unassigned, until a second one like it arrives (then both get the new
//! pattern's id): one-off prompts never fill the pattern table.
//!
//! Ids are the database's: the miner is rebuilt from the stored templates at every
//! start, so a pattern keeps its id across restarts and calls keep theirs for good.

use super::tokens::{self, Key, LINE_BREAK, STAR, STAR_MARKER, Slot};
use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use similar::{Algorithm, DiffOp};
use std::collections::VecDeque;
use std::hash::Hasher;

/// Two prompts sharing this many pieces (in runs, in order) are one template however
/// long their variable parts are (a retrieved document, a user's question).
const ANCHOR_PIECES: usize = 10;

/// Or sharing this share of the longer one's fixed pieces (short prompts).
const SHARE: f64 = 0.6;

/// Unmatched prompts kept to compare later calls with; the oldest is forgotten first.
const WAITING: usize = 2048;

/// Unmatched prompts kept under one anchor (prompts opening with the same words).
const WAITING_PER_ANCHOR: usize = 16;

/// Candidates aligned in full when a call fits no template.
const ALIGNED: usize = 4;

/// A call the miner saw, by the ids the database keeps it under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallRef {
    /// The call's trace id.
    pub trace_id: u128,
    /// The call's span id.
    pub span_id: u64,
    /// Its start, which finds its row quickly.
    pub start_ns: i64,
}

/// A template the instrumentation declared (OpenInference `llm.prompt_template.*`,
/// Traceloop `traceloop.prompt.*`, `gen_ai.prompt.name`…): taken as given, not mined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredPrompt {
    /// What tells it apart: its name or template text, and version.
    pub key: String,
    /// Its text as shown (the template with its `{variables}`, else its name).
    pub template: String,
    /// Its name, when it has one.
    pub name: Option<String>,
}

/// A pattern as the database keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternRecord {
    /// Its id, never reused.
    pub id: i32,
    /// The template: fixed words, `‹number›`-style slots for masked values, `‹*›` for
    /// parts learned to vary; or a declared template as given.
    pub template: String,
    /// The declared key, when the instrumentation named the template.
    pub declared: Option<String>,
    /// The declared name, when one was given.
    pub name: Option<String>,
}

/// What the miner learned since it was last asked: patterns to store (new, or their
/// template widened) and calls stored earlier that now have a pattern.
#[derive(Debug, Default)]
pub struct Learned {
    /// Patterns to insert or replace.
    pub patterns: Vec<PatternRecord>,
    /// Calls (stored without a pattern while they waited) and the pattern they now have.
    pub assigned_later: Vec<(CallRef, i32)>,
}

struct Pattern {
    keys: Vec<Key>,
    texts: Vec<Box<str>>,
    declared: Option<String>,
    name: Option<String>,
}

struct Waiting {
    keys: Vec<Key>,
    call: CallRef,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Candidate {
    Pattern(i32),
    Waiting(u32),
}

/// The miner; see the module's documentation.
#[derive(Default)]
pub struct PatternMiner {
    patterns: FxHashMap<i32, Pattern>,
    declared: FxHashMap<String, i32>,
    waiting: FxHashMap<u32, Waiting>,
    waiting_order: VecDeque<u32>,
    next_waiting: u32,
    anchors: FxHashMap<u64, Vec<Candidate>>,
    next_id: i32,
    changed: FxHashSet<i32>,
    assigned_later: Vec<(CallRef, i32)>,
}

impl PatternMiner {
    /// A miner knowing the stored patterns.
    pub fn new(stored: impl IntoIterator<Item = PatternRecord>) -> PatternMiner {
        let mut m = PatternMiner {
            next_id: 1,
            ..PatternMiner::default()
        };
        for p in stored {
            m.next_id = m.next_id.max(p.id + 1);
            match p.declared {
                Some(key) => {
                    m.declared.insert(key, p.id);
                }
                None => {
                    let (keys, texts): (Vec<Key>, Vec<Box<str>>) =
                        tokens::template_keys(&p.template)
                            .into_iter()
                            .map(|(k, t)| (k, t.into_boxed_str()))
                            .unzip();
                    m.index(Candidate::Pattern(p.id), &keys);
                    m.patterns.insert(
                        p.id,
                        Pattern {
                            keys,
                            texts,
                            declared: None,
                            name: p.name,
                        },
                    );
                }
            }
        }
        m
    }

    /// How many templates it knows (mined and declared).
    pub fn len(&self) -> usize {
        self.patterns.len() + self.declared.len()
    }

    /// Whether it knows none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pattern of a call with `prompt` (as stored), or `None` while nothing like it
    /// has been seen (it may be assigned later: see [`PatternMiner::learned`]).
    pub fn assign(
        &mut self,
        prompt: &str,
        declared: Option<&DeclaredPrompt>,
        call: CallRef,
    ) -> Option<i32> {
        if let Some(d) = declared {
            return Some(self.declared_id(d));
        }
        let pieces = tokens::prompt_pieces(prompt);
        if pieces.is_empty() {
            return None;
        }
        // A cut-out middle is its own kind of piece, never equal to a template's.
        let keys: Vec<Key> = pieces
            .iter()
            .map(|p| if p.key == STAR { CUT } else { p.key })
            .collect();
        if let Some(id) = self.fitting(&keys) {
            return Some(id);
        }
        let texts: Vec<&str> = pieces.iter().map(|p| p.text).collect();
        match self.closest(&keys, call) {
            Some((Candidate::Pattern(id), merged)) => {
                let p = self
                    .patterns
                    .get_mut(&id)
                    .expect("candidate pattern exists");
                let (keys, texts) = merged.build(&p.keys, Some(&p.texts), &texts);
                p.keys = keys.clone();
                p.texts = texts;
                self.index(Candidate::Pattern(id), &keys);
                self.changed.insert(id);
                Some(id)
            }
            Some((Candidate::Waiting(w), merged)) => {
                let waiting = self.waiting.remove(&w).expect("candidate waits");
                let (keys, texts) = merged.build(&waiting.keys, None, &texts);
                let id = self.next_id;
                self.next_id += 1;
                self.index(Candidate::Pattern(id), &keys);
                self.patterns.insert(
                    id,
                    Pattern {
                        keys,
                        texts,
                        declared: None,
                        name: None,
                    },
                );
                self.changed.insert(id);
                self.assigned_later.push((waiting.call, id));
                Some(id)
            }
            None => {
                self.wait(keys, call);
                None
            }
        }
    }

    /// Takes what was learned since the last call, for the database.
    pub fn learned(&mut self) -> Learned {
        let mut ids: Vec<i32> = self.changed.drain().collect();
        ids.sort_unstable();
        let patterns = ids.into_iter().filter_map(|id| self.record(id)).collect();
        Learned {
            patterns,
            assigned_later: std::mem::take(&mut self.assigned_later),
        }
    }

    fn record(&self, id: i32) -> Option<PatternRecord> {
        if let Some(p) = self.patterns.get(&id) {
            return Some(PatternRecord {
                id,
                template: render(&p.keys, &p.texts),
                declared: p.declared.clone(),
                name: p.name.clone(),
            });
        }
        None
    }

    fn declared_id(&mut self, d: &DeclaredPrompt) -> i32 {
        if let Some(id) = self.declared.get(&d.key) {
            return *id;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.declared.insert(d.key.clone(), id);
        // Declared templates are stored as given and never mined: kept apart from the
        // mined ones, with no pieces to match.
        self.patterns.insert(
            id,
            Pattern {
                keys: Vec::new(),
                texts: vec![d.template.clone().into_boxed_str()],
                declared: Some(d.key.clone()),
                name: d.name.clone(),
            },
        );
        self.changed.insert(id);
        id
    }

    /// The stored pattern whose template the call fits, found by its opening and
    /// closing pieces.
    fn fitting(&self, keys: &[Key]) -> Option<i32> {
        let n = keys.len();
        let mut tried = FxHashSet::default();
        for len in 1..=3.min(n) {
            for gram in [&keys[..len], &keys[n - len..]] {
                for c in self.anchors.get(&hash(gram)).into_iter().flatten() {
                    if let Candidate::Pattern(id) = c
                        && tried.insert(*id)
                        && let Some(p) = self.patterns.get(id)
                        && fits(&p.keys, keys)
                    {
                        return Some(*id);
                    }
                }
            }
        }
        None
    }

    /// The template or waiting prompt sharing most with the call, when it shares
    /// enough, and how the two align. A waiting prompt of the same call (a span sent
    /// again, which the writer drops as a copy) is not a second call like it.
    fn closest(&mut self, keys: &[Key], call: CallRef) -> Option<(Candidate, Alignment)> {
        let mut shared: FxHashMap<Candidate, usize> = FxHashMap::default();
        let n = keys.len();
        let mut grams: Vec<u64> = Vec::with_capacity(n + 4);
        for len in 1..=2.min(n) {
            grams.push(hash(&keys[..len]));
            grams.push(hash(&keys[n - len..]));
        }
        grams.extend(keys.windows(3).map(hash));
        for g in grams {
            if let Some(list) = self.anchors.get_mut(&g) {
                list.retain(|c| match c {
                    Candidate::Waiting(w) => self.waiting.contains_key(w),
                    Candidate::Pattern(_) => true,
                });
                for c in list.iter() {
                    *shared.entry(*c).or_default() += 1;
                }
            }
        }
        let mut ranked: Vec<(Candidate, usize)> = shared.into_iter().collect();
        ranked.sort_by_key(|(c, count)| {
            (
                std::cmp::Reverse(*count),
                matches!(c, Candidate::Waiting(_)),
            )
        });
        let mut best: Option<(Candidate, Alignment)> = None;
        ranked.retain(|(c, _)| match c {
            Candidate::Waiting(w) => self.waiting[w].call != call,
            Candidate::Pattern(_) => true,
        });
        for (c, _) in ranked.into_iter().take(ALIGNED) {
            let template = match c {
                Candidate::Pattern(id) => &self.patterns[&id].keys,
                Candidate::Waiting(w) => &self.waiting[&w].keys,
            };
            if let Candidate::Pattern(id) = c
                && fits(template, keys)
            {
                return Some((Candidate::Pattern(id), Alignment::fitting(template)));
            }
            let a = Alignment::of(template, keys);
            if a.close_enough(template, keys)
                && best.as_ref().is_none_or(|(_, b)| a.matched > b.matched)
            {
                best = Some((c, a));
            }
        }
        best
    }

    fn wait(&mut self, keys: Vec<Key>, call: CallRef) {
        let w = self.next_waiting;
        self.next_waiting = self.next_waiting.wrapping_add(1);
        let n = keys.len();
        for len in 1..=3.min(n) {
            for gram in [&keys[..len], &keys[n - len..]] {
                let list = self.anchors.entry(hash(gram)).or_default();
                if list.last() != Some(&Candidate::Waiting(w)) {
                    list.push(Candidate::Waiting(w));
                }
                let waiting = list
                    .iter()
                    .filter(|c| matches!(c, Candidate::Waiting(_)))
                    .count();
                if waiting > WAITING_PER_ANCHOR
                    && let Some(oldest) =
                        list.iter().position(|c| matches!(c, Candidate::Waiting(_)))
                {
                    list.remove(oldest);
                }
            }
        }
        self.waiting.insert(w, Waiting { keys, call });
        self.waiting_order.push_back(w);
        while self.waiting_order.len() > WAITING {
            if let Some(old) = self.waiting_order.pop_front() {
                self.waiting.remove(&old);
            }
        }
    }

    /// Files a template under the opening and closing pieces of each of its fixed runs.
    fn index(&mut self, c: Candidate, keys: &[Key]) {
        for run in keys.split(|k| *k == STAR).filter(|r| !r.is_empty()) {
            let n = run.len();
            for gram in [&run[..3.min(n)], &run[n - 3.min(n)..]] {
                let list = self.anchors.entry(hash(gram)).or_default();
                if !list.contains(&c) {
                    list.push(c);
                }
            }
        }
    }
}

/// A call's cut-out middle (see `tokens`), never equal to any template piece.
const CUT: Key = 9;

/// A template's [`STAR`] as the aligner sees it: equal to nothing a call holds.
const STAR_IN_ALIGNMENT: Key = 8;

fn hash(keys: &[Key]) -> u64 {
    let mut h = FxHasher::default();
    for k in keys {
        h.write_u64(*k);
    }
    h.finish()
}

/// Whether the call's pieces fit the template: its fixed runs in order, the first at
/// the start and the last at the end unless a [`STAR`] frees them.
fn fits(template: &[Key], call: &[Key]) -> bool {
    if template.is_empty() {
        return false;
    }
    let runs: Vec<&[Key]> = template.split(|k| *k == STAR).collect();
    if runs.len() == 1 {
        return template == call;
    }
    let (first, last) = (runs[0], runs[runs.len() - 1]);
    if call.len() < first.len() + last.len() || !call.starts_with(first) || !call.ends_with(last) {
        return false;
    }
    let mut at = first.len();
    let end = call.len() - last.len();
    for run in &runs[1..runs.len() - 1] {
        if run.is_empty() {
            continue;
        }
        match call[at..end].windows(run.len()).position(|w| w == *run) {
            Some(p) => at += p + run.len(),
            None => return false,
        }
    }
    true
}

/// How a template (or waiting prompt) and a call align: the runs of pieces they share,
/// in order. Runs of one piece inside variable text (a shared "the") are not kept.
struct Alignment {
    /// (template index, call index, length) of each kept run.
    runs: Vec<(usize, usize, usize)>,
    matched: usize,
}

impl Alignment {
    fn of(template: &[Key], call: &[Key]) -> Alignment {
        let old: Vec<Key> = template
            .iter()
            .map(|k| if *k == STAR { STAR_IN_ALIGNMENT } else { *k })
            .collect();
        let ops = similar::capture_diff_slices(Algorithm::Patience, &old, call);
        let (tn, cn) = (template.len(), call.len());
        let runs: Vec<(usize, usize, usize)> = ops
            .iter()
            .filter_map(|op| match *op {
                DiffOp::Equal {
                    old_index,
                    new_index,
                    len,
                } => Some((old_index, new_index, len)),
                _ => None,
            })
            .filter(|&(o, c, len)| {
                len >= 2 || (o == 0 && c == 0) || (o + len == tn && c + len == cn)
            })
            .collect();
        let matched = runs
            .iter()
            .map(|&(o, _, len)| {
                template[o..o + len]
                    .iter()
                    .filter(|k| **k != LINE_BREAK)
                    .count()
            })
            .sum();
        Alignment { runs, matched }
    }

    /// The alignment of a call that fits `template` as it is.
    fn fitting(template: &[Key]) -> Alignment {
        Alignment {
            runs: vec![(0, 0, template.len())],
            matched: template.len(),
        }
    }

    /// Whether the two share enough to be one template.
    fn close_enough(&self, template: &[Key], call: &[Key]) -> bool {
        let fixed = |keys: &[Key]| {
            keys.iter()
                .filter(|k| !matches!(**k, STAR | CUT | LINE_BREAK))
                .count()
        };
        let longer = fixed(template).max(fixed(call));
        self.matched >= ANCHOR_PIECES.min(longer) && self.matched > 0
            || self.matched as f64 >= SHARE * longer as f64
    }

    /// The widened template: the shared runs, a [`STAR`] wherever either side has
    /// anything else. Words' texts come from the template when it has them, else from
    /// the call.
    fn build(
        &self,
        template: &[Key],
        template_texts: Option<&[Box<str>]>,
        call_texts: &[&str],
    ) -> (Vec<Key>, Vec<Box<str>>) {
        if self.runs.len() == 1 && self.runs[0] == (0, 0, template.len()) {
            let texts = match template_texts {
                Some(t) => t.to_vec(),
                None => template
                    .iter()
                    .zip(call_texts)
                    .map(|(k, t)| piece_text(*k, t).into())
                    .collect(),
            };
            return (template.to_vec(), texts);
        }
        let mut keys = Vec::new();
        let mut texts: Vec<Box<str>> = Vec::new();
        let (mut t_at, mut c_at) = (0, 0);
        let star = |keys: &mut Vec<Key>, texts: &mut Vec<Box<str>>| {
            if keys.last() != Some(&STAR) {
                keys.push(STAR);
                texts.push(STAR_MARKER.into());
            }
        };
        for &(o, c, len) in &self.runs {
            if o > t_at || c > c_at {
                star(&mut keys, &mut texts);
            }
            for i in 0..len {
                let key = template[o + i];
                keys.push(key);
                texts.push(match template_texts {
                    Some(t) => t[o + i].clone(),
                    None => piece_text(key, call_texts[c + i]).into(),
                });
            }
            t_at = o + len;
            c_at = c + len;
        }
        if t_at < template.len() || c_at < call_texts.len() {
            star(&mut keys, &mut texts);
        }
        (keys, texts)
    }
}

/// How a template writes a piece read from a call: a slot as its marker, a word as is.
fn piece_text(key: Key, text: &str) -> &str {
    match Slot::from_key(key) {
        Some(s) => s.marker(),
        None if key == LINE_BREAK => "\n",
        None => text,
    }
}

/// A template's text: words with single spaces, line breaks kept.
fn render(keys: &[Key], texts: &[Box<str>]) -> String {
    if keys.is_empty() {
        return texts.first().map(|t| t.to_string()).unwrap_or_default();
    }
    let mut out = String::new();
    for (k, t) in keys.iter().zip(texts) {
        if *k == LINE_BREAK {
            out.push('\n');
            continue;
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push(' ');
        }
        out.push_str(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(n: u64) -> CallRef {
        CallRef {
            trace_id: n as u128,
            span_id: n,
            start_ns: n as i64,
        }
    }

    #[test]
    fn a_second_call_like_the_first_makes_a_pattern_for_both() {
        let mut m = PatternMiner::new([]);
        let first = "system: You classify support tickets as billing, shipping or technical.\n\nuser: Ticket from Alice: my order never arrived";
        let second = "system: You classify support tickets as billing, shipping or technical.\n\nuser: Ticket from Bob: the app crashes at login";
        assert_eq!(m.assign(first, None, call(1)), None);
        let id = m.assign(second, None, call(2)).expect("a pattern");
        let learned = m.learned();
        assert_eq!(learned.assigned_later, [(call(1), id)]);
        assert_eq!(
            learned.patterns[0].template,
            "system: You classify support tickets as billing, shipping or technical.\nuser: Ticket from ‹*›"
        );
        let third = "system: You classify support tickets as billing, shipping or technical.\n\nuser: Ticket from Carol Jones: refund please";
        assert_eq!(m.assign(third, None, call(3)), Some(id));
        assert!(m.learned().patterns.is_empty(), "the template already fits");
    }

    #[test]
    fn a_call_sent_again_is_not_a_second_call_like_it() {
        let mut m = PatternMiner::new([]);
        let prompt = "Write a haiku about the sea at dawn for my grandmother's birthday card";
        assert_eq!(m.assign(prompt, None, call(1)), None);
        assert_eq!(m.assign(prompt, None, call(1)), None, "the same span again");
        assert!(m.learned().patterns.is_empty());
        assert!(
            m.assign(prompt, None, call(2)).is_some(),
            "another call with it"
        );
    }

    #[test]
    fn unrelated_prompts_stay_apart() {
        let mut m = PatternMiner::new([]);
        assert_eq!(
            m.assign("What is the capital of France?", None, call(1)),
            None
        );
        assert_eq!(
            m.assign("What is the meaning of life?", None, call(2)),
            None
        );
        assert_eq!(m.assign("Translate to French: cat", None, call(3)), None);
        let id = m.assign("Translate to French: dog", None, call(4));
        assert!(id.is_some());
        assert_eq!(m.learned().patterns.len(), 1);
    }

    #[test]
    fn stored_patterns_keep_their_ids_after_a_restart() {
        let mut m = PatternMiner::new([]);
        m.assign(
            "Summarize order 1234 for the customer now please",
            None,
            call(1),
        );
        let id = m
            .assign(
                "Summarize order 98 for the customer now please",
                None,
                call(2),
            )
            .unwrap();
        let stored = m.learned().patterns;
        assert_eq!(
            stored[0].template,
            "Summarize order ‹number› for the customer now please"
        );
        let mut again = PatternMiner::new(stored);
        assert_eq!(
            again.assign(
                "Summarize order 77 for the customer now please",
                None,
                call(3)
            ),
            Some(id)
        );
        assert_eq!(again.assign("Another prompt entirely", None, call(4)), None);
        again.assign("Another prompt entirely!", None, call(5));
        assert!(again.learned().patterns.iter().all(|p| p.id > id));
    }

    #[test]
    fn declared_templates_are_taken_as_given() {
        let mut m = PatternMiner::new([]);
        let d = DeclaredPrompt {
            key: "joke@v2".into(),
            template: "Tell me a joke about {topic}".into(),
            name: Some("joke".into()),
        };
        let id = m
            .assign("Tell me a joke about cats", Some(&d), call(1))
            .unwrap();
        assert_eq!(m.assign("anything", Some(&d), call(2)), Some(id));
        let stored = m.learned().patterns;
        assert_eq!(stored[0].declared.as_deref(), Some("joke@v2"));
        let mut again = PatternMiner::new(stored);
        assert_eq!(again.assign("x", Some(&d), call(3)), Some(id));
    }

    #[test]
    fn a_long_document_between_fixed_text_is_one_slot() {
        let mut m = PatternMiner::new([]);
        let doc = |seed: usize| {
            (0..400)
                .map(|i| format!("w{}", (i * 7 + seed * 13) % 97))
                .collect::<Vec<_>>()
                .join(" ")
                .replace(char::is_numeric, "x")
        };
        let prompt = |seed| {
            format!(
                "Summarize the document below in three bullet points.\n{}\nKeep it short.",
                doc(seed)
            )
        };
        m.assign(&prompt(1), None, call(1));
        let id = m.assign(&prompt(2), None, call(2)).unwrap();
        assert_eq!(m.assign(&prompt(3), None, call(3)), Some(id));
    }
}
