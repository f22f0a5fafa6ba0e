//! The inspector's query language, shared by the window and `calls --query`:
//! free words and "quoted phrases" (all must appear in the prompt or response),
//! `-word` to exclude, `field:value` for `model:` (globs such as `gpt-4o*`), `provider:`,
//! `service:`, `status:ok|error`, `error:429`, `session:`, `user:`, and comparisons
//! `latency>2s`, `cost>0.01`, `tokens>=1000`, time to first token `ttft>1s`, output
//! speed `tps<20` (`>`, `>=`, `<`, `<=`), streamed calls `stream:true|false`, evaluations
//! `eval:NAME<0.5` (score), `eval:NAME=label`, `eval:NAME` (has one), and people's
//! feedback `feedback:down|up|any|LABEL`, and the calls of traces in which an agent ran
//! (`agent:NAME`), a tool executed (`tool:NAME`) or some kind of work happened
//! (`kind:agent|tool|retrieval`), and the calls made from one prompt pattern
//! (`pattern:12`, the Prompts view's ids). Matching is case-insensitive in any script.
//! A malformed query is an error naming the place.

use crate::filter::{Bound, Cmp, EvalCondition, EvalTest, Filter, StatusFilter};
use crate::row::SpanClass;

/// What a query asks for, ready to narrow a [`Filter`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Words and phrases that must appear.
    pub text: Vec<String>,
    /// Words and phrases that must not appear.
    pub exclude: Vec<String>,
    /// `model:` globs.
    pub models: Vec<String>,
    /// `provider:` values.
    pub providers: Vec<String>,
    /// `service:` values.
    pub services: Vec<String>,
    /// `status:`.
    pub status: Option<StatusFilter>,
    /// `error:` types or codes.
    pub errors: Vec<String>,
    /// `session:` ids.
    pub sessions: Vec<String>,
    /// `user:` ids.
    pub users: Vec<String>,
    /// `latency` comparisons, in ms.
    pub latency_ms: Vec<Bound>,
    /// `cost` comparisons, in USD.
    pub cost_usd: Vec<Bound>,
    /// `tokens` comparisons.
    pub tokens: Vec<Bound>,
    /// `ttft` comparisons, in ms.
    pub ttft_ms: Vec<Bound>,
    /// `tps` comparisons, output tokens per second.
    pub output_tps: Vec<Bound>,
    /// `stream:`.
    pub streamed: Option<bool>,
    /// `eval:` and `feedback:` conditions.
    pub evaluations: Vec<EvalCondition>,
    /// `agent:` names.
    pub agents: Vec<String>,
    /// `tool:` names.
    pub tools: Vec<String>,
    /// `kind:` classes.
    pub kinds: Vec<SpanClass>,
    /// `pattern:` ids.
    pub patterns: Vec<i32>,
}

/// A query that cannot be read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// Character offset of the offending part.
    pub at: usize,
    /// What is wrong, and how to write it instead.
    pub message: String,
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at character {}: {}", self.at + 1, self.message)
    }
}

impl std::error::Error for QueryError {}

const FIELDS: &str = "model, provider, service, status, error, session, user, eval, feedback, agent, tool, kind, stream, pattern";

impl Query {
    /// Reads a query.
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        let mut q = Query::default();
        for token in tokens(text)? {
            q.add(token)?;
        }
        Ok(q)
    }

    /// Narrows `filter` by this query (lists are added to, status replaced).
    pub fn apply(&self, filter: &mut Filter) {
        filter.text.extend(self.text.iter().cloned());
        filter.exclude_text.extend(self.exclude.iter().cloned());
        filter.models.extend(self.models.iter().cloned());
        filter.providers.extend(self.providers.iter().cloned());
        filter.services.extend(self.services.iter().cloned());
        if let Some(s) = self.status {
            filter.status = s;
        }
        filter.errors.extend(self.errors.iter().cloned());
        filter.sessions.extend(self.sessions.iter().cloned());
        filter.users.extend(self.users.iter().cloned());
        filter.latency_ms.extend(self.latency_ms.iter().copied());
        filter.cost_usd.extend(self.cost_usd.iter().copied());
        filter.tokens.extend(self.tokens.iter().copied());
        filter.ttft_ms.extend(self.ttft_ms.iter().copied());
        filter.output_tps.extend(self.output_tps.iter().copied());
        if let Some(s) = self.streamed {
            filter.streamed = Some(s);
        }
        filter.evaluations.extend(self.evaluations.iter().cloned());
        filter.agents.extend(self.agents.iter().cloned());
        filter.tools.extend(self.tools.iter().cloned());
        filter.kinds.extend(self.kinds.iter().copied());
        filter.patterns.extend(self.patterns.iter().copied());
    }

    /// The words and phrases to highlight in results.
    pub fn highlights(&self) -> &[String] {
        &self.text
    }

    fn add(&mut self, t: Token) -> Result<(), QueryError> {
        let err = |message: String| QueryError { at: t.at, message };
        if t.quoted {
            if t.negated {
                self.exclude.push(t.text);
            } else {
                self.text.push(t.text);
            }
            return Ok(());
        }
        if let Some((name, cmp, value)) = comparison(&t.text) {
            if t.negated {
                return Err(err(format!(
                    "a comparison cannot be negated; write the opposite comparison instead of -{}",
                    t.text
                )));
            }
            let bound = |value: f64| Bound { cmp, value };
            return match name {
                "latency" => {
                    self.latency_ms
                        .push(bound(duration_ms(name, value).map_err(err)?));
                    Ok(())
                }
                "cost" => {
                    let v = value.trim_start_matches('$');
                    let usd: f64 = v.parse().map_err(|_| {
                        err(format!(
                            "cost{}{value}: not an amount in USD (try cost>0.01)",
                            cmp_text(cmp)
                        ))
                    })?;
                    self.cost_usd.push(bound(usd));
                    Ok(())
                }
                "tokens" => {
                    let n = count(value).ok_or_else(|| {
                        err(format!("tokens{}{value}: not a number of tokens (try tokens>1000 or tokens>2k)", cmp_text(cmp)))
                    })?;
                    self.tokens.push(bound(n));
                    Ok(())
                }
                "ttft" => {
                    self.ttft_ms
                        .push(bound(duration_ms(name, value).map_err(err)?));
                    Ok(())
                }
                "tps" => {
                    let n = count(value).ok_or_else(|| {
                        err(format!(
                            "tps{}{value}: not a number of output tokens per second (try tps<20)",
                            cmp_text(cmp)
                        ))
                    })?;
                    self.output_tps.push(bound(n));
                    Ok(())
                }
                other => Err(err(format!(
                    "cannot compare {other:?}: comparisons work on latency, ttft, tps, cost and tokens"
                ))),
            };
        }
        if let Some((field, value)) = field_value(&t) {
            if value.is_empty() {
                return Err(err(format!(
                    "{field}: needs a value, e.g. {field}:{}",
                    example(field)
                )));
            }
            if t.negated {
                return Err(err(format!(
                    "-{field}: is not supported; narrow with {field}:VALUE instead"
                )));
            }
            match field {
                "model" => self.models.push(value),
                "provider" => self.providers.push(value),
                "service" => self.services.push(value),
                "error" => self.errors.push(value),
                "session" => self.sessions.push(value),
                "user" => self.users.push(value),
                "eval" => self.evaluations.push(eval_condition(&value).map_err(err)?),
                "feedback" => self.evaluations.push(feedback_condition(&value)),
                "agent" => self.agents.push(value),
                "tool" => self.tools.push(value),
                "kind" => self.kinds.push(kind(&value).map_err(err)?),
                "pattern" => self.patterns.push(value.parse().map_err(|_| {
                    err(format!(
                        "pattern:{value}: a pattern is named by its number, e.g. pattern:12 (the Prompts view lists them)"
                    ))
                })?),
                "stream" => {
                    self.streamed = Some(match value.to_lowercase().as_str() {
                        "true" | "yes" | "on" => true,
                        "false" | "no" | "off" => false,
                        _ => {
                            return Err(err(format!(
                                "stream:{value}: use stream:true or stream:false"
                            )));
                        }
                    })
                }
                "status" => {
                    self.status = Some(match value.to_lowercase().as_str() {
                        "error" | "errors" | "failed" => StatusFilter::Error,
                        "ok" | "success" => StatusFilter::Ok,
                        _ => {
                            return Err(err(format!(
                                "status:{value}: use status:ok or status:error"
                            )));
                        }
                    })
                }
                other => {
                    return Err(err(format!(
                        "unknown field {other:?} (fields: {FIELDS}); to search for the text itself, put it in quotes: \"{other}:{value}\""
                    )));
                }
            }
            return Ok(());
        }
        if t.negated {
            self.exclude.push(t.text);
        } else {
            self.text.push(t.text);
        }
        Ok(())
    }
}

fn example(field: &str) -> &'static str {
    match field {
        "model" => "gpt-4o*",
        "status" => "error",
        "error" => "429",
        "eval" => "relevance<0.5",
        "feedback" => "down",
        "kind" => "tool",
        "stream" => "true",
        "pattern" => "12",
        _ => "VALUE",
    }
}

/// One whitespace-separated part of the query.
#[derive(Debug)]
struct Token {
    text: String,
    /// Written in quotes (a phrase, never a field).
    quoted: bool,
    negated: bool,
    /// For `field:"quoted value"`: the field name.
    field: Option<String>,
    at: usize,
}

fn tokens(text: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let at = i;
        let negated = chars[i] == '-' && i + 1 < chars.len() && !chars[i + 1].is_whitespace();
        if negated {
            i += 1;
        }
        // field:"quoted value"
        let mut field = None;
        let word_start = i;
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '"' {
            i += 1;
        }
        let head: String = chars[word_start..i].iter().collect();
        if i < chars.len() && chars[i] == '"' {
            if !head.is_empty() {
                match head.strip_suffix(':') {
                    Some(name) if !name.is_empty() && !name.contains(':') => {
                        field = Some(name.to_string())
                    }
                    _ => {
                        return Err(QueryError {
                            at: i,
                            message:
                                "a quote must start a phrase or follow field: (model:\"gpt 4\")"
                                    .into(),
                        });
                    }
                }
            }
            let open = i;
            i += 1;
            let start = i;
            while i < chars.len() && chars[i] != '"' {
                i += 1;
            }
            if i == chars.len() {
                return Err(QueryError {
                    at: open,
                    message: "this quote is never closed; end the phrase with \"".into(),
                });
            }
            let phrase: String = chars[start..i].iter().collect();
            i += 1;
            if i < chars.len() && !chars[i].is_whitespace() {
                return Err(QueryError {
                    at: i,
                    message: "put a space after a closing quote".into(),
                });
            }
            if phrase.trim().is_empty() && field.is_none() {
                return Err(QueryError {
                    at: open,
                    message: "an empty phrase \"\" matches nothing; remove it".into(),
                });
            }
            out.push(Token {
                text: phrase,
                quoted: field.is_none(),
                negated,
                field,
                at,
            });
        } else {
            out.push(Token {
                text: head,
                quoted: false,
                negated,
                field: None,
                at,
            });
        }
    }
    Ok(out)
}

/// `name:value` (or a quoted value after `name:`).
fn field_value(t: &Token) -> Option<(&str, String)> {
    if let Some(f) = &t.field {
        return Some((f.as_str(), t.text.clone()));
    }
    let (name, value) = t.text.split_once(':')?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    Some((name, value.to_string()))
}

/// `NAME<0.5` (any comparison), `NAME=label`, or `NAME` alone.
fn eval_condition(value: &str) -> Result<EvalCondition, String> {
    let Some(pos) = value.find(['<', '>', '=']) else {
        return Ok(EvalCondition {
            name: value.to_string(),
            test: EvalTest::Any,
        });
    };
    let (name, rest) = value.split_at(pos);
    if name.is_empty() {
        return Err(format!(
            "eval:{value}: name the evaluator first, e.g. eval:relevance<0.5"
        ));
    }
    let test = if let Some(label) = rest.strip_prefix('=') {
        if label.is_empty() {
            return Err(format!(
                "eval:{value}: give the label after =, e.g. eval:{name}=relevant"
            ));
        }
        EvalTest::Label(label.to_string())
    } else {
        let (cmp, bound) = operator(rest)
            .ok_or_else(|| format!("eval:{value}: compare the score with <, <=, > or >="))?;
        let score: f64 = bound
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| {
                format!("eval:{value}: {bound:?} is not a score (try eval:{name}<0.5)")
            })?;
        EvalTest::Score(Bound { cmp, value: score })
    };
    Ok(EvalCondition {
        name: name.to_string(),
        test,
    })
}

/// `agent`, `tool`, `retrieval` (and `llm`, `other`), as the span classes name them.
fn kind(value: &str) -> Result<SpanClass, String> {
    let v = value.to_lowercase();
    SpanClass::ALL
        .into_iter()
        .find(|c| c.label() == v || (*c == SpanClass::Llm && (v == "llm" || v == "call")))
        .ok_or_else(|| {
            format!(
                "kind:{value}: use kind:agent, kind:tool, kind:retrieval, kind:llm or kind:other"
            )
        })
}

/// `down` (a score under one half: thumbs down), `up`, `any`, or a label.
fn feedback_condition(value: &str) -> EvalCondition {
    let test = match value.to_lowercase().as_str() {
        "down" | "bad" => EvalTest::Score(Bound {
            cmp: Cmp::Lt,
            value: 0.5,
        }),
        "up" | "good" => EvalTest::Score(Bound {
            cmp: Cmp::Ge,
            value: 0.5,
        }),
        "any" | "yes" => EvalTest::Any,
        _ => EvalTest::Label(value.to_string()),
    };
    EvalCondition {
        name: crate::row::FEEDBACK.into(),
        test,
    }
}

/// `name>value`, `name>=value`, `name<value`, `name<=value`.
fn comparison(text: &str) -> Option<(&str, Cmp, &str)> {
    let pos = text.find(['<', '>'])?;
    let name = &text[..pos];
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let (cmp, value) = operator(&text[pos..])?;
    Some((name, cmp, value))
}

/// `>=value`, `<=value`, `>value` or `<value` as the comparison and the value.
fn operator(text: &str) -> Option<(Cmp, &str)> {
    if let Some(v) = text.strip_prefix(">=") {
        Some((Cmp::Ge, v))
    } else if let Some(v) = text.strip_prefix("<=") {
        Some((Cmp::Le, v))
    } else if let Some(v) = text.strip_prefix('>') {
        Some((Cmp::Gt, v))
    } else {
        Some((Cmp::Lt, text.strip_prefix('<')?))
    }
}

fn cmp_text(c: Cmp) -> &'static str {
    match c {
        Cmp::Gt => ">",
        Cmp::Ge => ">=",
        Cmp::Lt => "<",
        Cmp::Le => "<=",
    }
}

/// `2s`, `500ms`, `1.5m`, or a bare number of milliseconds.
fn duration_ms(name: &str, v: &str) -> Result<f64, String> {
    let (num, factor) = if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        (v, 1.0)
    };
    num.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .map(|x| x * factor)
        .ok_or_else(|| format!("{name} {v:?}: not a duration (try {name}>2s or {name}>500ms)"))
}

/// `1000`, `2k`, `1.5M`.
fn count(v: &str) -> Option<f64> {
    let (num, factor) = match v.chars().last()? {
        'k' | 'K' => (&v[..v.len() - 1], 1e3),
        'm' | 'M' => (&v[..v.len() - 1], 1e6),
        _ => (v, 1.0),
    };
    num.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .map(|x| x * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Query {
        Query::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    #[test]
    fn timing_conditions_read_durations_speeds_and_streaming() {
        let p = q("ttft>1.5s tps<20 stream:true");
        assert_eq!(
            p.ttft_ms,
            vec![Bound {
                cmp: Cmp::Gt,
                value: 1500.0
            }]
        );
        assert_eq!(
            p.output_tps,
            vec![Bound {
                cmp: Cmp::Lt,
                value: 20.0
            }]
        );
        assert_eq!(p.streamed, Some(true));
        assert_eq!(q("stream:no").streamed, Some(false));
        let e = Query::parse("ttft>soon").unwrap_err();
        assert!(e.message.contains("ttft \"soon\": not a duration"), "{e}");
        let e = Query::parse("stream:maybe").unwrap_err();
        assert!(e.message.contains("stream:true or stream:false"), "{e}");
        let mut f = Filter::default();
        q("ttft>=200ms stream:false").apply(&mut f);
        assert_eq!(f.ttft_ms.len(), 1);
        assert_eq!(f.streamed, Some(false));
    }

    #[test]
    fn words_and_phrases_must_appear_and_minus_excludes() {
        let p = q(r#"refund "order number" -angry -"call back""#);
        assert_eq!(p.text, vec!["refund", "order number"]);
        assert_eq!(p.exclude, vec!["angry", "call back"]);
    }

    #[test]
    fn every_field_narrows_by_what_it_names() {
        let p = q(
            r#"model:gpt-4o* provider:openai service:checkout status:error error:429 session:s-1 user:u-9 model:"my model""#,
        );
        assert_eq!(p.models, vec!["gpt-4o*", "my model"]);
        assert_eq!(p.providers, vec!["openai"]);
        assert_eq!(p.services, vec!["checkout"]);
        assert_eq!(p.status, Some(StatusFilter::Error));
        assert_eq!(p.errors, vec!["429"]);
        assert_eq!(p.sessions, vec!["s-1"]);
        assert_eq!(p.users, vec!["u-9"]);
        assert_eq!(q("status:ok").status, Some(StatusFilter::Ok));
    }

    #[test]
    fn every_comparison_and_unit() {
        let p =
            q("latency>2s latency<=1500ms cost>0.01 cost<$1 tokens>=1000 tokens<2k latency>1.5m");
        let b = |cmp, value| Bound { cmp, value };
        assert_eq!(
            p.latency_ms,
            vec![b(Cmp::Gt, 2000.0), b(Cmp::Le, 1500.0), b(Cmp::Gt, 90_000.0)]
        );
        assert_eq!(p.cost_usd, vec![b(Cmp::Gt, 0.01), b(Cmp::Lt, 1.0)]);
        assert_eq!(p.tokens, vec![b(Cmp::Ge, 1000.0), b(Cmp::Lt, 2000.0)]);
    }

    #[test]
    fn non_latin_text_is_kept_as_written() {
        let p = q(r#"Привет "東京 タワー" -café Ünïcödé"#);
        assert_eq!(p.text, vec!["Привет", "東京 タワー", "Ünïcödé"]);
        assert_eq!(p.exclude, vec!["café"]);
    }

    #[test]
    fn malformed_queries_say_what_and_where() {
        let cases = [
            (r#"refund "never closed"#, 7, "never closed"),
            ("colour:red", 0, "unknown field \"colour\""),
            ("status:maybe", 0, "status:ok or status:error"),
            ("latency>soon", 0, "not a duration"),
            ("cost>cheap", 0, "not an amount"),
            ("tokens>many", 0, "not a number of tokens"),
            ("speed>3", 0, "cannot compare \"speed\""),
            ("a model:", 2, "needs a value"),
            ("-latency>2s", 0, "cannot be negated"),
            (r#"x"y""#, 1, "a quote must start a phrase"),
            (r#""" x"#, 0, "empty phrase"),
        ];
        for (text, at, words) in cases {
            let e = Query::parse(text).expect_err(text);
            assert_eq!(e.at, at, "{text}: {e}");
            assert!(e.message.contains(words), "{text}: {e}");
        }
    }

    #[test]
    fn a_query_narrows_a_filter() {
        let mut f = Filter {
            models: vec!["claude-*".into()],
            ..Filter::default()
        };
        q("model:gpt-4o* needle status:error latency>1s").apply(&mut f);
        assert_eq!(f.models, vec!["claude-*", "gpt-4o*"]);
        assert_eq!(f.text, vec!["needle"]);
        assert_eq!(f.status, StatusFilter::Error);
        assert_eq!(f.latency_ms.len(), 1);
    }

    #[test]
    fn evaluations_and_feedback_are_conditions() {
        let p = q(
            "eval:relevance<0.5 eval:hallucination=yes eval:toxicity feedback:down feedback:wrong-tool",
        );
        let score = |cmp, value| EvalTest::Score(Bound { cmp, value });
        let c = |name: &str, test| EvalCondition {
            name: name.into(),
            test,
        };
        assert_eq!(
            p.evaluations,
            vec![
                c("relevance", score(Cmp::Lt, 0.5)),
                c("hallucination", EvalTest::Label("yes".into())),
                c("toxicity", EvalTest::Any),
                c("feedback", score(Cmp::Lt, 0.5)),
                c("feedback", EvalTest::Label("wrong-tool".into())),
            ]
        );
        assert_eq!(q("eval:x>=0.75").evaluations[0].test, score(Cmp::Ge, 0.75));
        for (text, words) in [
            ("eval:<0.5", "name the evaluator"),
            ("eval:relevance<high", "not a score"),
            ("eval:relevance=", "give the label"),
        ] {
            let e = Query::parse(text).expect_err(text);
            assert!(e.message.contains(words), "{text}: {e}");
        }
    }

    #[test]
    fn agents_tools_and_kinds_are_conditions() {
        let p = q("agent:planner tool:\"web search\" kind:tool kind:Retrieval");
        assert_eq!(p.agents, vec!["planner"]);
        assert_eq!(p.tools, vec!["web search"]);
        assert_eq!(p.kinds, vec![SpanClass::Tool, SpanClass::Retrieval]);
        let e = Query::parse("kind:robot").expect_err("kind:robot");
        assert!(e.message.contains("kind:agent"), "{e}");
    }

    #[test]
    fn urls_and_colons_in_quotes_are_text() {
        assert_eq!(
            q(r#""https://example.com""#).text,
            vec!["https://example.com"]
        );
    }
}
