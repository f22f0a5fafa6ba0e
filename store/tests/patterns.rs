//! Prompt patterns through the real writer: a generated corpus of known templates (many
//! fillings each: numbers, ids, emails, dates, URLs, quoted values, free text, long
//! documents, chat histories) and unique one-off prompts is grouped with at least 95 %
//! purity and completeness; ids survive a restart; the Prompts ranking equals a
//! group-by over the truth; `pattern:` selects a pattern's calls; declared templates
//! are taken as given; a file from before patterns gets them when opened for writing.

use std::collections::HashMap;
use store::*;

mod common;
use common::Rng;
use store::patterns::DeclaredPrompt;

const WORDS: &[&str] = &[
    "account",
    "after",
    "again",
    "almost",
    "always",
    "answer",
    "anyone",
    "around",
    "asked",
    "because",
    "before",
    "better",
    "broken",
    "button",
    "cannot",
    "change",
    "charged",
    "check",
    "clear",
    "coffee",
    "could",
    "customer",
    "daily",
    "delivery",
    "different",
    "doesn't",
    "early",
    "email",
    "error",
    "every",
    "family",
    "finally",
    "first",
    "friend",
    "garden",
    "getting",
    "happy",
    "having",
    "help",
    "holiday",
    "honestly",
    "house",
    "issue",
    "keeps",
    "kitchen",
    "later",
    "login",
    "looking",
    "money",
    "morning",
    "never",
    "night",
    "number",
    "office",
    "order",
    "other",
    "package",
    "paid",
    "phone",
    "please",
    "price",
    "problem",
    "quickly",
    "really",
    "refund",
    "remember",
    "screen",
    "second",
    "should",
    "since",
    "something",
    "still",
    "support",
    "sure",
    "team",
    "thanks",
    "there",
    "thing",
    "think",
    "though",
    "today",
    "tried",
    "trying",
    "under",
    "update",
    "using",
    "waiting",
    "week",
    "weird",
    "where",
    "while",
    "window",
    "without",
    "working",
    "would",
    "wrong",
    "yesterday",
    "blue",
    "river",
    "mountain",
    "violin",
    "tomato",
    "rocket",
    "pencil",
    "carpet",
    "jungle",
    "marble",
    "saddle",
    "glacier",
    "lantern",
    "meadow",
    "orchid",
    "pepper",
    "quartz",
    "falcon",
];

/// Free text: `n` words from the vocabulary, a sentence.
fn words(rng: &mut Rng, n: usize) -> String {
    let w: Vec<&str> = (0..n).map(|_| *rng.pick(WORDS)).collect();
    format!("{}.", w.join(" "))
}

fn id(rng: &mut Rng) -> String {
    format!("{:08x}-{:04x}", rng.next_u64() as u32, rng.below(65536))
}

fn date(rng: &mut Rng) -> String {
    format!("2026-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28))
}

fn email(rng: &mut Rng) -> String {
    format!("{}{}@example.com", rng.pick(WORDS), rng.below(1000))
}

/// A prompt as the store keeps it: `role: content` paragraphs.
fn chat(messages: &[(&str, String)]) -> String {
    messages
        .iter()
        .map(|(role, text)| format!("{role}: {text}"))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The corpus's templates: each fills its prompt from `rng`.
type Template = fn(&mut Rng) -> String;

const TEMPLATES: [(&str, Template); 8] = [
    ("triage", |r| {
        chat(&[
            ("system", "You are the support triage assistant of Acme. Classify the ticket as billing, shipping, account or technical, and rate its urgency from 1 to 5. Reply with JSON only.".into()),
            ("user", format!("Ticket #{} from {} on {}: {}", r.below(100_000), email(r), date(r), { let n = 5 + r.below(30) as usize; words(r, n) })),
        ])
    }),
    ("summarize", |r| {
        let n = 200 + r.below(1500) as usize;
        chat(&[
            ("system", "You summarize documents for busy executives. Use at most three bullet points and never invent facts that the document does not state.".into()),
            ("user", format!("Summarize the following document:\n{}\nFocus on {}.", words(r, n), r.pick(WORDS))),
        ])
    }),
    ("translate", |r| {
        let lang = *r.pick(&[
            "French",
            "German",
            "Spanish",
            "Japanese",
            "Brazilian Portuguese",
        ]);
        chat(&[
            (
                "system",
                format!(
                    "You are a professional translator. Translate the user's text into {lang}, keeping its tone, its formatting and any names unchanged."
                ),
            ),
            ("user", {
                let n = 3 + r.below(40) as usize;
                words(r, n)
            }),
        ])
    }),
    ("sql", |r| {
        chat(&[
            ("system", "You write SQL for a PostgreSQL database with the tables orders(id, customer_id, total, created_at) and customers(id, name, email). Answer with a single query and nothing else.".into()),
            ("user", format!("Question: {}", { let n = 4 + r.below(20) as usize; words(r, n) })),
        ])
    }),
    ("chatbot", |r| {
        let mut m = vec![("system", "You are Ava, the friendly assistant of Contoso Bank. Be concise and polite, and never give investment advice to anyone.".to_string())];
        for _ in 0..r.below(3) {
            let (q, a) = (3 + r.below(15) as usize, 5 + r.below(30) as usize);
            m.push(("user", words(r, q)));
            m.push(("assistant", words(r, a)));
        }
        let n = 2 + r.below(25) as usize;
        m.push(("user", words(r, n)));
        chat(&m)
    }),
    ("product", |r| {
        chat(&[(
            "user",
            format!(
                "Write a product description of about fifty words for \"{} {}\" priced at ${}.{:02}, aimed at the {} category, in a warm and confident tone.",
                r.pick(WORDS),
                r.pick(WORDS),
                r.below(500),
                r.below(100),
                r.pick(WORDS)
            ),
        )])
    }),
    ("order", |r| {
        chat(&[(
            "user",
            format!(
                "Look up order {} placed by customer {} and tell me its status, the expected delivery date and any refund issued. The tracking page is https://track.example.com/{}?ref={}.",
                id(r),
                r.below(1_000_000),
                id(r),
                r.below(100)
            ),
        )])
    }),
    ("invoice", |r| {
        chat(&[
            ("system", "Extract the invoice number, the vendor name, the total amount and the due date from the invoice text. Reply with JSON only, with null for anything missing.".into()),
            ("user", format!(
                "INVOICE {}\nVendor: {} {} Ltd\nDate: {}\nTotal due: {}.{:02} EUR\nDue by {}\n{}",
                r.below(99_999), r.pick(WORDS), r.pick(WORDS), date(r), r.below(10_000), r.below(100), date(r),
                { let n = r.below(20) as usize; words(r, n) }
            )),
        ])
    }),
];

/// One call of the corpus: its prompt, the template it came from (`None`: a unique
/// one-off), its model and cost.
struct Call {
    prompt: String,
    truth: Option<usize>,
    model: &'static str,
    cost: f64,
}

/// `n` calls: the templates at different rates (so that their costs rank apart), one
/// call in twenty a one-off prompt nothing else resembles.
fn corpus(rng: &mut Rng, n: usize) -> Vec<Call> {
    let weights = [30, 12, 18, 10, 25, 8, 15, 6];
    let total: u64 = weights.iter().sum();
    (0..n)
        .map(|i| {
            if rng.chance(5) {
                let len = 4 + rng.below(30) as usize;
                return Call {
                    prompt: format!("{} {}", i, words(rng, len)),
                    truth: None,
                    model: "gpt-4o-mini",
                    cost: 0.0001,
                };
            }
            let mut pick = rng.below(total);
            let t = weights
                .iter()
                .position(|w| {
                    if pick < *w {
                        true
                    } else {
                        pick -= w;
                        false
                    }
                })
                .unwrap();
            let model = *rng.pick(&["gpt-4o", "gpt-4o-mini", "claude-3-5-haiku"]);
            // Each template costs its own amount a call, times a model's rate.
            let rate = match model {
                "gpt-4o" => 10.0,
                "gpt-4o-mini" => 1.0,
                _ => 3.0,
            };
            Call {
                prompt: (TEMPLATES[t].1)(rng),
                truth: Some(t),
                model,
                cost: 0.001 * (t as f64 + 1.0) * rate,
            }
        })
        .collect()
}

fn span_of(n: usize, call: &Call) -> SpanRow {
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&(n as u64 + 1).to_be_bytes());
    let mut row = common::span(0, 1, None, n as i64, 800);
    row.trace_id = trace_id;
    row.span_id = (n as u64 + 1).to_be_bytes();
    row.llm = Some(LlmCall {
        operation: Some("chat".into()),
        request_model: Some(call.model.into()),
        input_tokens: Some(100),
        output_tokens: Some(50),
        reported_cost_usd: Some(call.cost),
        prompt: Some(call.prompt.clone()),
        ..LlmCall::default()
    });
    row
}

fn write(store: &Store, calls: &[Call], from: usize) {
    let writer = store.writer().unwrap();
    for (chunk_at, chunk) in calls.chunks(500).enumerate() {
        let spans = chunk
            .iter()
            .enumerate()
            .map(|(i, c)| span_of(from + chunk_at * 500 + i, c))
            .collect();
        writer
            .write(Batch {
                spans,
                ..Batch::default()
            })
            .unwrap();
    }
    writer.close().unwrap();
}

/// Each call's pattern, by its place in the corpus.
fn assigned(store: &Store) -> HashMap<usize, Option<i32>> {
    let mut r = store.reader().unwrap();
    let (rows, _) = r
        .calls_page(
            &Filter::default(),
            CallSort::default(),
            SortDir::Asc,
            0,
            1_000_000,
        )
        .unwrap();
    let mut by_pattern = HashMap::new();
    for id in r
        .prompt_patterns(&Filter::default(), PatternSort::Calls, 10_000)
        .unwrap()
        .0
    {
        let Some(id) = id.id else { continue };
        let only = Filter {
            patterns: vec![id],
            ..Filter::default()
        };
        for c in r
            .calls_page(&only, CallSort::default(), SortDir::Asc, 0, 1_000_000)
            .unwrap()
            .0
        {
            by_pattern.insert(c.span_id.clone(), id);
        }
    }
    rows.iter()
        .map(|c| {
            let n = u64::from_str_radix(&c.span_id, 16).unwrap() as usize - 1;
            (n, by_pattern.get(&c.span_id).copied())
        })
        .collect()
}

/// Purity (of the patterns, each counted by its most common template) and
/// completeness (of the templates, each counted by the pattern holding most of it).
fn scores(calls: &[Call], patterns: &HashMap<usize, Option<i32>>) -> (f64, f64, usize) {
    let mut table: HashMap<(i32, Option<usize>), usize> = HashMap::new();
    for (n, p) in patterns {
        if let Some(p) = p {
            *table.entry((*p, calls[*n].truth)).or_default() += 1;
        }
    }
    let mut best_of_pattern: HashMap<i32, usize> = HashMap::new();
    let mut best_of_template: HashMap<usize, usize> = HashMap::new();
    for ((p, t), n) in &table {
        let b = best_of_pattern.entry(*p).or_default();
        *b = (*b).max(*n);
        if let Some(t) = t {
            let b = best_of_template.entry(*t).or_default();
            *b = (*b).max(*n);
        }
    }
    let in_patterns: usize = table.values().sum();
    let templated = calls.iter().filter(|c| c.truth.is_some()).count();
    let purity = best_of_pattern.values().sum::<usize>() as f64 / in_patterns as f64;
    let completeness = best_of_template.values().sum::<usize>() as f64 / templated as f64;
    (purity, completeness, best_of_pattern.len())
}

#[test]
fn a_generated_corpus_is_grouped_by_template_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("patterns.duckdb");
    let mut rng = Rng(2026);
    let calls = corpus(&mut rng, 6000);
    let half = calls.len() / 2;
    {
        let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
        write(&store, &calls[..half], 0);
    }
    let before = assigned(&Store::open(&path, OpenMode::ReadOnly).unwrap());
    // The second half after a restart: the miner starts from the stored templates.
    let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
    write(&store, &calls[half..], half);
    let after = assigned(&store);
    for (n, p) in &before {
        if p.is_some() {
            assert_eq!(after[n], *p, "call {n} kept its pattern across the restart");
        }
    }
    let (purity, completeness, patterns) = scores(&calls, &after);
    println!(
        "{} calls, {} templates + one-offs: {patterns} patterns, purity {:.1} %, completeness {:.1} %",
        calls.len(),
        TEMPLATES.len(),
        purity * 100.0,
        completeness * 100.0
    );
    assert!(purity >= 0.95, "purity {purity}");
    assert!(completeness >= 0.95, "completeness {completeness}");
    let one_offs = calls.iter().filter(|c| c.truth.is_none()).count();
    let grouped = after
        .iter()
        .filter(|(n, p)| calls[**n].truth.is_none() && p.is_some())
        .count();
    assert!(
        grouped * 10 <= one_offs,
        "{grouped} of {one_offs} one-off prompts were put in a pattern"
    );

    // The Prompts ranking by cost is the truth's: each template's cost summed.
    let mut truth_cost = vec![0.0; TEMPLATES.len()];
    for c in &calls {
        if let Some(t) = c.truth {
            truth_cost[t] += c.cost;
        }
    }
    let mut truth_order: Vec<usize> = (0..TEMPLATES.len()).collect();
    truth_order.sort_by(|a, b| truth_cost[*b].total_cmp(&truth_cost[*a]));
    let mut r = store.reader().unwrap();
    let (rows, total) = r
        .prompt_patterns(&Filter::default(), PatternSort::Cost, 100)
        .unwrap();
    assert_eq!(total, patterns);
    let majority = |id: i32| -> usize {
        let mut counts = vec![0; TEMPLATES.len()];
        for (n, p) in &after {
            if *p == Some(id)
                && let Some(t) = calls[*n].truth
            {
                counts[t] += 1;
            }
        }
        (0..TEMPLATES.len()).max_by_key(|t| counts[*t]).unwrap()
    };
    let ranked: Vec<usize> = rows
        .iter()
        .filter_map(|r| r.id)
        .take(TEMPLATES.len())
        .map(majority)
        .collect();
    assert_eq!(
        ranked.iter().map(|t| TEMPLATES[*t].0).collect::<Vec<_>>(),
        truth_order
            .iter()
            .map(|t| TEMPLATES[*t].0)
            .collect::<Vec<_>>()
    );
    let top = &rows[0];
    assert!(
        (top.cost_usd - truth_cost[truth_order[0]]).abs() / truth_cost[truth_order[0]] < 0.05,
        "the top pattern's cost {} is its template's {}",
        top.cost_usd,
        truth_cost[truth_order[0]]
    );
    assert_eq!(top.models.len(), 3);
    assert_eq!(top.trend.iter().sum::<u64>(), top.calls);
    let shares: f64 = rows.iter().map(|r| r.cost_share).sum();
    assert!((shares - 1.0).abs() < 1e-9, "shares add up: {shares}");
    // Learned templates show their masked slots.
    let templates: Vec<&str> = rows.iter().map(|r| r.template.as_str()).collect();
    assert!(
        templates
            .iter()
            .any(|t| t.contains("Look up order ‹id› placed by customer ‹number›")),
        "{templates:#?}"
    );
}

#[test]
fn declared_templates_group_their_calls_whatever_the_prompt() {
    let store = Store::open_in_memory().unwrap();
    let writer = store.writer().unwrap();
    let declared = |name: &str, version: &str| DeclaredPrompt {
        key: format!("{name}@{version}"),
        template: format!("{name} (version {version})"),
        name: Some(name.into()),
    };
    let mut rng = Rng(5);
    let spans: Vec<SpanRow> = (0..40)
        .map(|n| {
            let call = Call {
                prompt: words(&mut rng, 12),
                truth: None,
                model: "gpt-4o",
                cost: 0.01,
            };
            let mut s = span_of(n, &call);
            let version = if n % 4 == 0 { "2" } else { "1" };
            s.llm.as_mut().unwrap().declared_prompt = Some(declared("joke", version));
            s
        })
        .collect();
    writer
        .write(Batch {
            spans,
            ..Batch::default()
        })
        .unwrap();
    drop(writer);
    let mut r = store.reader().unwrap();
    let (rows, total) = r
        .prompt_patterns(&Filter::default(), PatternSort::Calls, 10)
        .unwrap();
    assert_eq!(total, 2);
    assert_eq!(
        rows.iter()
            .map(|r| (r.template.as_str(), r.calls, r.declared))
            .collect::<Vec<_>>(),
        [
            ("joke (version 1)", 30, true),
            ("joke (version 2)", 10, true)
        ]
    );
    let first = Filter {
        patterns: vec![rows[0].id.unwrap()],
        ..Filter::default()
    };
    assert_eq!(r.call_summary(&first).unwrap().llm_calls, 30);
}

#[test]
fn calls_stored_before_patterns_get_theirs_when_the_file_is_opened_for_writing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v12.duckdb");
    let mut rng = Rng(12);
    let calls = corpus(&mut rng, 800);
    {
        let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
        write(&store, &calls, 0);
    }
    common::as_written_by_schema(&path, 12);
    // Browsed read-only, the file says what it lacks.
    let old = Store::open(&path, OpenMode::ReadOnly).unwrap();
    let err = old
        .reader()
        .unwrap()
        .prompt_patterns(&Filter::default(), PatternSort::Cost, 10)
        .unwrap_err();
    assert!(err.to_string().contains("prompt patterns"), "{err}");
    drop(old);
    let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
    let (purity, completeness, _) = scores(&calls, &assigned(&store));
    assert!(
        purity >= 0.95 && completeness >= 0.95,
        "{purity} {completeness}"
    );
    // Opening it again does not mine it again (the backfill ran once).
    drop(store);
    let again = Store::open(&path, OpenMode::ReadWrite).unwrap();
    let (_, total) = again
        .reader()
        .unwrap()
        .prompt_patterns(&Filter::default(), PatternSort::Cost, 10)
        .unwrap();
    assert!(
        total >= TEMPLATES.len() && total <= TEMPLATES.len() + 2,
        "{total}"
    );
}
