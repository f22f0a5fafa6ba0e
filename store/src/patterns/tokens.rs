//! A prompt as the pattern miner reads it: the system (and developer) messages and the
//! latest user message — what a template fixes and what it fills — cut into words and
//! line breaks, with the values that are variable on their face (numbers, ids, dates,
//! emails, URLs, quoted values) already masked as typed slots. Each piece is a `u64`
//! key so that the miner compares prompts without allocating.

use crate::conversation::ROLES;
use rustc_hash::FxHasher;
use std::hash::Hasher;

/// A piece of a prompt or template, as a key: a word's hash, a slot, a line break, or
/// [`STAR`] (in templates only: any run of words, learned from calls that differ there).
pub(crate) type Key = u64;

/// A template's learned variable part: absorbs any number of a call's pieces.
pub(crate) const STAR: Key = 0;

/// The kinds of value masked before mining (a word never hashes to one of these keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Number = 1,
    Id = 2,
    Date = 3,
    Email = 4,
    Url = 5,
    Quoted = 6,
}

impl Slot {
    const ALL: [Slot; 6] = [
        Slot::Number,
        Slot::Id,
        Slot::Date,
        Slot::Email,
        Slot::Url,
        Slot::Quoted,
    ];

    /// How a template writes the slot (and reads it back).
    pub(crate) const fn marker(self) -> &'static str {
        match self {
            Slot::Number => "‹number›",
            Slot::Id => "‹id›",
            Slot::Date => "‹date›",
            Slot::Email => "‹email›",
            Slot::Url => "‹url›",
            Slot::Quoted => "‹quoted›",
        }
    }

    pub(crate) fn key(self) -> Key {
        self as Key
    }

    fn from_marker(word: &str) -> Option<Slot> {
        Slot::ALL.into_iter().find(|s| s.marker() == word)
    }

    pub(crate) fn from_key(key: Key) -> Option<Slot> {
        Slot::ALL.into_iter().find(|s| s.key() == key)
    }
}

/// How a template writes [`STAR`].
pub(crate) const STAR_MARKER: &str = "‹*›";

/// Every marker a template may hold: the slots' and [`STAR_MARKER`].
pub(crate) const MARKERS: [&str; 7] = [
    Slot::Number.marker(),
    Slot::Id.marker(),
    Slot::Date.marker(),
    Slot::Email.marker(),
    Slot::Url.marker(),
    Slot::Quoted.marker(),
    STAR_MARKER,
];

/// The key of a line break (kept so that templates read with their lines).
pub(crate) const LINE_BREAK: Key = 7;

/// Words hash above every reserved key.
const FIRST_WORD_KEY: Key = 16;

/// Past this many bytes a message is read as its head and tail with a [`STAR`] between
/// (long retrieved documents): the cost of a call stays bounded, and every call of a
/// template is cut the same way.
const HEAD_BYTES: usize = 6 * 1024;
const TAIL_BYTES: usize = 2 * 1024;

/// One piece of a prompt: its key, and the text it was read from (a slot's value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece<'a> {
    pub key: Key,
    pub text: &'a str,
}

/// The pieces the miner reads from a stored prompt (see `crate::conversation`): the
/// system and developer messages, then the latest user message, each led by its role.
/// A prompt without roles is read whole.
pub(crate) fn prompt_pieces(prompt: &str) -> Vec<Piece<'_>> {
    let mut system: Vec<&str> = Vec::new();
    let mut user: Vec<&str> = Vec::new();
    let mut role: Option<&str> = None;
    let mut any_role = false;
    for paragraph in prompt.split("\n\n") {
        let starts = paragraph
            .split_once(": ")
            .map(|(r, _)| r)
            .filter(|r| ROLES.contains(r));
        let text = match starts {
            Some(r) => {
                any_role = true;
                role = Some(r);
                if r == "user" {
                    user.clear();
                }
                &paragraph[r.len() + 2..]
            }
            None => paragraph,
        };
        match role {
            Some("system" | "developer") => system.push(text),
            Some("user") | None => user.push(text),
            Some(_) => {}
        }
    }
    let mut out = Vec::new();
    if !any_role {
        for (i, p) in user.iter().enumerate() {
            if i > 0 {
                out.push(line_break());
            }
            message_pieces(p, &mut out);
        }
        return out;
    }
    for (label, paragraphs) in [("system:", &system), ("user:", &user)] {
        if paragraphs.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(line_break());
        }
        out.push(word(label));
        for (i, p) in paragraphs.iter().enumerate() {
            if i > 0 {
                out.push(line_break());
            }
            message_pieces(p, &mut out);
        }
    }
    out
}

fn line_break() -> Piece<'static> {
    Piece {
        key: LINE_BREAK,
        text: "\n",
    }
}

fn word(text: &str) -> Piece<'_> {
    Piece {
        key: word_key(text),
        text,
    }
}

/// The key of a literal word.
pub(crate) fn word_key(text: &str) -> Key {
    let mut h = FxHasher::default();
    h.write(text.as_bytes());
    h.finish().max(FIRST_WORD_KEY)
}

/// A message's pieces (its head and tail when long).
fn message_pieces<'a>(text: &'a str, out: &mut Vec<Piece<'a>>) {
    if text.len() <= HEAD_BYTES + TAIL_BYTES {
        pieces(text, out);
        return;
    }
    let head_end = boundary(text, HEAD_BYTES, false);
    let tail_start = boundary(text, text.len() - TAIL_BYTES, true);
    pieces(&text[..head_end], out);
    out.push(Piece {
        key: STAR,
        text: &text[head_end..tail_start],
    });
    pieces(&text[tail_start..], out);
}

/// The whitespace nearest `at` (searching back for a head's end, forward for a tail's
/// start), so that no word is cut.
fn boundary(text: &str, at: usize, forward: bool) -> usize {
    let bytes = text.as_bytes();
    let mut i = at;
    if forward {
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
    } else {
        while i > 0 && !bytes[i].is_ascii_whitespace() {
            i -= 1;
        }
    }
    i
}

/// Words and line breaks of `text`, values masked; a quoted value of a few words is one
/// slot.
fn pieces<'a>(text: &'a str, out: &mut Vec<Piece<'a>>) {
    let words: Vec<(usize, &str)> = split_words(text);
    let mut i = 0;
    while i < words.len() {
        let (_, w) = words[i];
        if w == "\n" {
            if out.last().is_some_and(|p| p.key != LINE_BREAK) {
                out.push(line_break());
            }
            i += 1;
            continue;
        }
        if let Some(end) = quoted_run(&words, i) {
            let (start, _) = words[i];
            let (last_at, last) = words[end];
            out.push(Piece {
                key: Slot::Quoted.key(),
                text: &text[start..last_at + last.len()],
            });
            i = end + 1;
            continue;
        }
        out.push(Piece {
            key: classify(w).map_or_else(|| word_key(w), Slot::key),
            text: w,
        });
        i += 1;
    }
}

/// The words of `text` with their byte offsets; each run of whitespace holding a line
/// break is one `"\n"`.
fn split_words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut newline = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                out.push((s, &text[s..i]));
            }
            if c == '\n' && !newline {
                out.push((i, "\n"));
                newline = true;
            }
        } else {
            newline = false;
            if start.is_none() {
                start = Some(i);
            }
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

const QUOTES: [(char, char); 3] = [('"', '"'), ('“', '”'), ('«', '»')];

/// Most words one quoted value may hold: a longer "quote" is more likely prose.
const QUOTED_WORDS: usize = 12;

/// When `words[i]` opens a quote that a later word (within [`QUOTED_WORDS`], on the same
/// line) closes, the index of the closing word.
fn quoted_run(words: &[(usize, &str)], i: usize) -> Option<usize> {
    let first = words[i].1;
    let (open, close) = QUOTES
        .into_iter()
        .find(|(open, _)| first.starts_with(*open))?;
    let closes = |w: &str, skip: usize| {
        let core = w.trim_end_matches(|c: char| ".,;:!?)]".contains(c));
        core.len() > skip && core.ends_with(close)
    };
    if closes(first, open.len_utf8()) {
        return Some(i);
    }
    for (j, (_, w)) in words.iter().enumerate().skip(i + 1).take(QUOTED_WORDS) {
        if *w == "\n" {
            return None;
        }
        if closes(w, 0) {
            return Some(j);
        }
    }
    None
}

/// The slot a word is a value of, if it is one on its face: a word holding a digit is
/// a number, a date or an id; an email; a URL. A template's own markers read back as
/// their slots.
pub(crate) fn classify(word: &str) -> Option<Slot> {
    if let Some(slot) = Slot::from_marker(word) {
        return Some(slot);
    }
    let core = word
        .trim_start_matches(|c: char| "([{<'\"".contains(c))
        .trim_end_matches(|c: char| ".,;:!?)]}>'\"".contains(c));
    if core.is_empty() {
        return None;
    }
    let lower = core.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("www.") {
        return Some(Slot::Url);
    }
    if let Some((name, domain)) = core.split_once('@')
        && !name.is_empty()
        && domain.contains('.')
        && !domain.ends_with('.')
    {
        return Some(Slot::Email);
    }
    if !core.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let numeric = core
        .trim_start_matches(['$', '€', '£', '-', '+', '#'])
        .trim_end_matches('%');
    if !numeric.is_empty()
        && numeric
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
    {
        return Some(Slot::Number);
    }
    let date_like = core
        .bytes()
        .all(|b| b.is_ascii_digit() || b"-/:.TZ+".contains(&b));
    if date_like && core.bytes().filter(|b| b"-/:".contains(b)).count() >= 2 {
        return Some(Slot::Date);
    }
    Some(Slot::Id)
}

/// A template's text read back into keys (see `Miner::render`): markers are slots and
/// [`STAR`], words are words.
pub(crate) fn template_keys(template: &str) -> Vec<(Key, String)> {
    let mut out = Vec::new();
    for (_, w) in split_words(template) {
        let key = if w == "\n" {
            LINE_BREAK
        } else if w == STAR_MARKER {
            STAR
        } else {
            Slot::from_marker(w).map_or_else(|| word_key(w), Slot::key)
        };
        out.push((key, w.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<String> {
        prompt_pieces(text)
            .iter()
            .map(|p| match Slot::from_key(p.key) {
                Some(s) => s.marker().to_string(),
                None if p.key == STAR => STAR_MARKER.into(),
                None => p.text.to_string(),
            })
            .collect()
    }

    #[test]
    fn values_on_their_face_are_masked() {
        assert_eq!(
            keys(
                "Order ORD-1234 for jane@example.com on 2024-05-01, total $12.50 (see https://x.io/a) \"red shoes\" size 42."
            ),
            [
                "Order",
                "‹id›",
                "for",
                "‹email›",
                "on",
                "‹date›",
                "total",
                "‹number›",
                "(see",
                "‹url›",
                "‹quoted›",
                "size",
                "‹number›"
            ]
        );
    }

    #[test]
    fn the_system_and_latest_user_message_are_read_with_their_roles() {
        let prompt = "system: Be brief.\n\nuser: first question\n\nassistant: an answer\n\nuser: second\n\nquestion";
        assert_eq!(
            keys(prompt),
            [
                "system:", "Be", "brief.", "\n", "user:", "second", "\n", "question"
            ]
        );
        assert_eq!(
            keys("just text\non two lines"),
            ["just", "text", "\n", "on", "two", "lines"]
        );
    }

    #[test]
    fn a_long_message_is_its_head_and_tail() {
        let long = format!("start {} end", "word ".repeat(5000));
        let pieces = prompt_pieces(&long);
        assert_eq!(pieces[0].text, "start");
        assert_eq!(pieces.last().unwrap().text, "end");
        assert_eq!(pieces.iter().filter(|p| p.key == STAR).count(), 1);
        assert!(pieces.len() < 2000, "{}", pieces.len());
    }

    #[test]
    fn a_template_reads_back_into_the_same_keys() {
        let text = "system: Be ‹*› brief\n\nuser: ‹number› items";
        let read: Vec<Key> = template_keys("system: Be ‹*› brief\nuser: ‹number› items")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let expected: Vec<Key> = prompt_pieces(text)
            .iter()
            .map(|p| if p.text == STAR_MARKER { STAR } else { p.key })
            .collect();
        assert_eq!(read, expected);
    }
}
