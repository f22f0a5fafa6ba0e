//! Synthetic LLM traffic, deterministic for a seed: agent traces with retrieval, LLM and
//! tool spans from several services, each instrumented with a different convention;
//! several providers and models with lognormal latencies and realistic token counts; a
//! daily rhythm; one incident (a latency spike and an error burst). Used by `demo`, the
//! load generator and the benchmarks.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp1, LogNormal};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// Traces in all.
    pub traces: u64,
    /// Start of the period, Unix ns.
    pub start_ns: i64,
    /// End of the period, Unix ns.
    pub end_ns: i64,
    /// Seed; the same seed and period give the same traffic.
    pub seed: u64,
}

/// Which semantic convention a service's instrumentation speaks.
#[derive(Clone, Copy)]
enum Convention {
    GenAiNew,
    OpenInference,
    GenAiLegacy,
}

struct Service {
    name: &'static str,
    convention: Convention,
    scope: &'static str,
    models: &'static [usize],
}

struct Model {
    name: &'static str,
    response: &'static str,
    provider: &'static str,
    median_ms: f64,
}

const MODELS: &[Model] = &[
    Model {
        name: "gpt-4o",
        response: "gpt-4o-2024-08-06",
        provider: "openai",
        median_ms: 900.0,
    },
    Model {
        name: "gpt-4o-mini",
        response: "gpt-4o-mini-2024-07-18",
        provider: "openai",
        median_ms: 450.0,
    },
    Model {
        name: "gpt-4.1-nano",
        response: "gpt-4.1-nano-2025-04-14",
        provider: "openai",
        median_ms: 300.0,
    },
    Model {
        name: "claude-3-5-sonnet",
        response: "claude-3-5-sonnet-20241022",
        provider: "anthropic",
        median_ms: 1400.0,
    },
    Model {
        name: "claude-3-5-haiku",
        response: "claude-3-5-haiku-20241022",
        provider: "anthropic",
        median_ms: 650.0,
    },
    Model {
        name: "gemini-2.0-flash",
        response: "gemini-2.0-flash-001",
        provider: "gcp.gemini",
        median_ms: 420.0,
    },
    Model {
        name: "llama-3.1-8b-local",
        response: "llama-3.1-8b-local",
        provider: "ollama",
        median_ms: 1800.0,
    },
];

const SERVICES: &[Service] = &[
    Service {
        name: "support-bot",
        convention: Convention::GenAiNew,
        scope: "opentelemetry.instrumentation.openai_v2",
        models: &[0, 1, 1, 3],
    },
    Service {
        name: "search-api",
        convention: Convention::OpenInference,
        scope: "openinference.instrumentation.openai",
        models: &[1, 2, 2, 5],
    },
    Service {
        name: "summarizer",
        convention: Convention::GenAiLegacy,
        scope: "opentelemetry.instrumentation.anthropic",
        models: &[3, 4, 4, 6],
    },
];

const TOPICS: &[&str] = &[
    "refund policy",
    "password reset",
    "shipping times",
    "API rate limits",
    "invoice download",
    "data export",
    "account deletion",
    "SSO setup",
    "webhook retries",
    "pricing tiers",
    "GDPR request",
    "mobile app crash",
    "search relevance",
    "quarterly report",
    "onboarding checklist",
];
/// The prompts the demo's apps send: each a system prompt and a user message about a
/// topic (`{}`), so that the Prompts view finds one pattern per pair.
const ASKS: &[(&str, &str)] = &[
    (
        "You summarize Acme Cloud documentation for customers. Quote the retrieved passages and keep it under 120 words.",
        "Summarize what our docs say about {}.",
    ),
    (
        "You draft replies for the Acme Cloud support team. Be warm and brief, and never promise refunds or dates.",
        "A customer asks about {}. Draft a short, friendly answer.",
    ),
    (
        "You brief Acme Cloud support agents before a call. List facts only, most important first, with no filler.",
        "List the three most important facts about {} for a support agent.",
    ),
    (
        "You are a helpful assistant for Acme Cloud. Answer from the retrieved passages only.",
        "Explain {} in plain words, citing the retrieved passages.",
    ),
    (
        "You triage Acme Cloud tickets. Reply with the urgency (low, medium, high) and the product area, nothing else.",
        "Classify this ticket about {} by urgency and product area.",
    ),
];
const ANSWERS: &[&str] = &[
    "Here is a short summary of {}: the relevant policy applies to all plans, with exceptions noted in section 2.",
    "Thanks for reaching out about {}! You can find the steps in Settings, and I have linked the guide below.",
    "Key facts on {}: 1) it is available on every plan, 2) changes apply within 24 hours, 3) support can expedite.",
    "Urgency: medium. Area: {}. The customer is blocked but has a workaround.",
];

/// Generates trace requests one at a time.
pub struct Synth {
    cfg: SynthConfig,
    rng: SmallRng,
    emitted: u64,
    clock_ns: f64,
    gap_ns: f64,
}

/// Daily rhythm amplitude: traffic swings ±60 % around its mean over a day.
const RHYTHM: f64 = 0.6;
const DAY_NS: f64 = 86_400e9;

impl Synth {
    /// A generator for `cfg`.
    pub fn new(cfg: SynthConfig) -> Self {
        let span = (cfg.end_ns - cfg.start_ns).max(1) as f64;
        // Gaps are scaled by 1 / rate at each arrival; averaged over arrivals (which
        // come in proportion to the rate) that factor is 1, so the traces fill the period.
        let gap_ns = span / cfg.traces.max(1) as f64;
        let rng = SmallRng::seed_from_u64(cfg.seed);
        Synth {
            clock_ns: cfg.start_ns as f64,
            gap_ns,
            cfg,
            rng,
            emitted: 0,
        }
    }

    /// Traces generated so far.
    pub fn emitted(&self) -> u64 {
        self.emitted
    }

    /// The next request holding up to `traces` traces, `None` when all are out.
    pub fn next_request(&mut self, traces: usize) -> Option<ExportTraceServiceRequest> {
        if self.emitted >= self.cfg.traces {
            return None;
        }
        let mut by_service: Vec<Vec<Span>> = vec![Vec::new(); SERVICES.len()];
        for _ in 0..traces {
            if self.emitted >= self.cfg.traces {
                break;
            }
            let service = self.rng.random_range(0..SERVICES.len());
            let start = self.advance_clock();
            self.trace(service, start, &mut by_service[service]);
            self.emitted += 1;
        }
        let resource_spans = by_service
            .into_iter()
            .enumerate()
            .filter(|(_, spans)| !spans.is_empty())
            .map(|(i, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", s(SERVICES[i].name)),
                        kv("service.version", s("1.4.2")),
                        kv("deployment.environment", s("production")),
                        kv("telemetry.sdk.language", s("python")),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: SERVICES[i].scope.into(),
                        version: "0.1.0".into(),
                        ..Default::default()
                    }),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            })
            .collect();
        Some(ExportTraceServiceRequest { resource_spans })
    }

    fn advance_clock(&mut self) -> i64 {
        let phase = (self.clock_ns / DAY_NS) * std::f64::consts::TAU;
        // Peak in the afternoon (UTC), trough at night.
        let rate = 1.0 + RHYTHM * (phase - std::f64::consts::FRAC_PI_2 * 1.5).sin();
        let exp: f64 = Exp1.sample(&mut self.rng);
        self.clock_ns += self.gap_ns / rate * exp;
        (self.clock_ns as i64).min(self.cfg.end_ns)
    }

    /// Whether `t` falls in the incident: a 30-minute window (at most 2 % of the
    /// period) at 70 % of it.
    fn in_incident(&self, t: i64) -> bool {
        let span = (self.cfg.end_ns - self.cfg.start_ns) as f64;
        let start = self.cfg.start_ns as f64 + span * 0.7;
        let len = (span * 0.02).min(1800e9);
        (t as f64) >= start && (t as f64) < start + len
    }

    fn ids(&mut self) -> (Vec<u8>, Vec<u8>) {
        let mut t = [0u8; 16];
        let mut sp = [0u8; 8];
        self.rng.fill(&mut t);
        self.rng.fill(&mut sp);
        t[0] |= 1;
        sp[0] |= 1;
        (t.to_vec(), sp.to_vec())
    }

    fn span_id(&mut self) -> Vec<u8> {
        let mut sp = [0u8; 8];
        self.rng.fill(&mut sp);
        sp[0] |= 1;
        sp.to_vec()
    }

    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        LogNormal::new(median.ln(), sigma)
            .expect("valid lognormal")
            .sample(&mut self.rng)
    }

    fn trace(&mut self, service: usize, start: i64, out: &mut Vec<Span>) {
        let svc = &SERVICES[service];
        let (trace_id, root_id) = self.ids();
        let topic = TOPICS[self.rng.random_range(0..TOPICS.len())];
        let incident = self.in_incident(start);
        let mut t = start + self.lognormal(3e6, 0.5) as i64;
        let mut children = Vec::new();
        let mut failed = false;

        // Retrieval.
        let dur = self.lognormal(45e6, 0.4) as i64;
        let id = self.span_id();
        children.push(Span {
            trace_id: trace_id.clone(),
            span_id: id,
            parent_span_id: root_id.clone(),
            name: "vector.search".into(),
            kind: 1,
            start_time_unix_nano: t as u64,
            end_time_unix_nano: (t + dur) as u64,
            attributes: vec![
                kv("openinference.span.kind", s("RETRIEVER")),
                kv("db.system", s("qdrant")),
                kv("retrieval.documents.count", i(self.rng.random_range(3..9))),
                kv("input.value", s(&format!("docs about {topic}"))),
            ],
            status: Some(Status::default()),
            ..Default::default()
        });
        t += dur + self.lognormal(2e6, 0.5) as i64;

        let calls = 1 + self.rng.random_range(0..3);
        for c in 0..calls {
            let model_index = svc.models[self.rng.random_range(0..svc.models.len())];
            let (span, ok) =
                self.llm_span(svc, model_index, &trace_id, &root_id, t, topic, incident);
            t = span.end_time_unix_nano as i64 + self.lognormal(1e6, 0.5) as i64;
            children.push(span);
            if !ok {
                failed = true;
                break;
            }
            if c + 1 < calls && self.rng.random_bool(0.6) {
                let dur = self.lognormal(120e6, 0.7) as i64;
                let id = self.span_id();
                let tool = [
                    "get_order_status",
                    "search_kb",
                    "create_ticket",
                    "lookup_customer",
                ][self.rng.random_range(0..4)];
                children.push(Span {
                    trace_id: trace_id.clone(),
                    span_id: id,
                    parent_span_id: root_id.clone(),
                    name: format!("execute_tool {tool}"),
                    kind: 1,
                    start_time_unix_nano: t as u64,
                    end_time_unix_nano: (t + dur) as u64,
                    attributes: vec![
                        kv("gen_ai.operation.name", s("execute_tool")),
                        kv("gen_ai.tool.name", s(tool)),
                    ],
                    status: Some(Status::default()),
                    ..Default::default()
                });
                t += dur;
            }
        }
        let end = t + self.lognormal(2e6, 0.5) as i64;
        let session = self.rng.random_range(0..5000);
        out.push(Span {
            trace_id,
            span_id: root_id,
            name: "agent.run".into(),
            kind: 2,
            start_time_unix_nano: start as u64,
            end_time_unix_nano: end as u64,
            attributes: vec![
                kv("gen_ai.operation.name", s("invoke_agent")),
                kv("gen_ai.agent.name", s(svc.name)),
                kv("session.id", s(&format!("sess-{session:04}"))),
                // A session is one user's: every turn of it names the same one.
                kv("user.id", s(&format!("user-{:04}", session * 37 % 2000))),
            ],
            status: Some(Status {
                code: if failed { 2 } else { 0 },
                message: String::new(),
            }),
            ..Default::default()
        });
        out.extend(children);
    }

    #[allow(clippy::too_many_arguments)]
    fn llm_span(
        &mut self,
        svc: &Service,
        model_index: usize,
        trace_id: &[u8],
        parent: &[u8],
        start: i64,
        topic: &str,
        incident: bool,
    ) -> (Span, bool) {
        let model = &MODELS[model_index];
        let slow = if incident && model.provider == "openai" {
            4.0
        } else {
            1.0
        };
        let dur = (self.lognormal(model.median_ms * 1e6, 0.45) * slow) as i64;
        let error_rate = if incident && model.provider == "openai" {
            0.25
        } else {
            0.012
        };
        let error = self.rng.random_bool(error_rate).then(|| {
            let r: f64 = self.rng.random();
            if incident || r < 0.6 {
                (
                    "RateLimitError",
                    "429",
                    "Error code: 429 - Rate limit reached for requests",
                )
            } else if r < 0.85 {
                ("APITimeoutError", "408", "Request timed out.")
            } else {
                (
                    "InternalServerError",
                    "500",
                    "Error code: 500 - The server had an error processing your request",
                )
            }
        });
        let dur = if error.is_some() { dur / 3 } else { dur };
        let input = self.lognormal(650.0, 0.8).round().max(5.0) as i64;
        let output = self.lognormal(170.0, 0.7).round().max(1.0) as i64;
        let cached = if model.provider != "ollama" && self.rng.random_bool(0.3) {
            input / 2
        } else {
            0
        };
        let (system, ask) = ASKS[self.rng.random_range(0..ASKS.len())];
        let ask = ask.replace("{}", topic);
        let answer = ANSWERS[self.rng.random_range(0..ANSWERS.len())].replace("{}", topic);
        let mut a = Vec::with_capacity(20);
        let first_token = streamed(trace_id, dur).filter(|_| error.is_none());
        match svc.convention {
            Convention::GenAiNew => {
                a.push(kv("gen_ai.operation.name", s("chat")));
                a.push(kv("gen_ai.provider.name", s(model.provider)));
                a.push(kv("gen_ai.request.model", s(model.name)));
                a.push(kv(
                    "gen_ai.system_instructions",
                    s(&format!("[{{\"type\":\"text\",\"content\":\"{system}\"}}]")),
                ));
                a.push(kv("gen_ai.input.messages", s(&serde_json::json!([{"role": "user", "parts": [{"type": "text", "content": ask}]}]).to_string())));
                if error.is_none() {
                    a.push(kv("gen_ai.response.model", s(model.response)));
                    a.push(kv("gen_ai.usage.input_tokens", i(input)));
                    a.push(kv("gen_ai.usage.output_tokens", i(output)));
                    if cached > 0 {
                        a.push(kv("gen_ai.usage.cache_read.input_tokens", i(cached)));
                    }
                    a.push(kv("gen_ai.response.finish_reasons", arr(&["stop"])));
                    if let Some(ttft) = first_token {
                        a.push(kv("gen_ai.request.stream", Value::BoolValue(true)));
                        a.push(kv(
                            "gen_ai.response.time_to_first_chunk",
                            Value::DoubleValue(ttft as f64 / 1e9),
                        ));
                    }
                    a.push(kv("gen_ai.output.messages", s(&serde_json::json!([{"role": "assistant", "parts": [{"type": "text", "content": answer}], "finish_reason": "stop"}]).to_string())));
                }
            }
            Convention::OpenInference => {
                a.push(kv("openinference.span.kind", s("LLM")));
                a.push(kv("llm.system", s(model.provider)));
                a.push(kv(
                    "llm.invocation_parameters",
                    s(&format!(
                        "{{\"model\": \"{}\", \"temperature\": 0.2{}}}",
                        model.name,
                        if first_token.is_some() {
                            ", \"stream\": true"
                        } else {
                            ""
                        }
                    )),
                ));
                a.push(kv("llm.input_messages.0.message.role", s("system")));
                a.push(kv("llm.input_messages.0.message.content", s(system)));
                a.push(kv("llm.input_messages.1.message.role", s("user")));
                a.push(kv("llm.input_messages.1.message.content", s(&ask)));
                if error.is_none() {
                    a.push(kv("llm.model_name", s(model.response)));
                    a.push(kv("llm.token_count.prompt", i(input)));
                    a.push(kv("llm.token_count.completion", i(output)));
                    a.push(kv("llm.token_count.total", i(input + output)));
                    if cached > 0 {
                        a.push(kv("llm.token_count.prompt_details.cache_read", i(cached)));
                    }
                    a.push(kv("llm.output_messages.0.message.role", s("assistant")));
                    a.push(kv("llm.output_messages.0.message.content", s(&answer)));
                }
            }
            Convention::GenAiLegacy => {
                a.push(kv("gen_ai.operation.name", s("chat")));
                a.push(kv("gen_ai.system", s(model.provider)));
                a.push(kv("gen_ai.request.model", s(model.name)));
                a.push(kv("gen_ai.prompt.0.role", s("system")));
                a.push(kv("gen_ai.prompt.0.content", s(system)));
                a.push(kv("gen_ai.prompt.1.role", s("user")));
                a.push(kv("gen_ai.prompt.1.content", s(&ask)));
                if error.is_none() {
                    a.push(kv("gen_ai.response.model", s(model.response)));
                    a.push(kv("gen_ai.usage.prompt_tokens", i(input)));
                    a.push(kv("gen_ai.usage.completion_tokens", i(output)));
                    if cached > 0 {
                        a.push(kv("gen_ai.usage.cache_read_input_tokens", i(cached)));
                    }
                    a.push(kv("gen_ai.completion.0.role", s("assistant")));
                    a.push(kv("gen_ai.completion.0.content", s(&answer)));
                }
            }
        }
        let mut events = Vec::new();
        if let (Some(ttft), Convention::OpenInference) = (first_token, svc.convention) {
            events.push(span::Event {
                time_unix_nano: (start + ttft) as u64,
                name: "First Token Stream Event".into(),
                attributes: Vec::new(),
                dropped_attributes_count: 0,
            });
        }
        let mut status = Status::default();
        if let Some((kind, code, message)) = error {
            a.push(kv("error.type", s(kind)));
            a.push(kv(
                "http.response.status_code",
                i(code.parse().expect("numeric code")),
            ));
            status = Status {
                code: 2,
                message: format!("{kind}: {message}"),
            };
            events.push(span::Event {
                time_unix_nano: (start + dur) as u64,
                name: "exception".into(),
                attributes: vec![
                    kv("exception.type", s(&format!("openai.{kind}"))),
                    kv("exception.message", s(message)),
                ],
                dropped_attributes_count: 0,
            });
        }
        if error.is_none() {
            judge(
                svc.convention,
                model_index,
                trace_id,
                start + dur,
                &mut a,
                &mut events,
            );
        }
        let span = Span {
            trace_id: trace_id.to_vec(),
            span_id: self.span_id(),
            parent_span_id: parent.to_vec(),
            name: format!("chat {}", model.name),
            kind: 3,
            start_time_unix_nano: start as u64,
            end_time_unix_nano: (start + dur) as u64,
            attributes: a,
            events,
            status: Some(status),
            ..Default::default()
        };
        (span, error.is_none())
    }
}

/// The time to first token of a call lasting `dur` ns when it streamed: three calls in
/// five stream, their first token after 15–44 % of the call. Decided by the trace id's
/// bytes rather than the generator (as [`judge`] is), so that adding streaming left
/// every other figure of the traffic as it was.
fn streamed(trace_id: &[u8], dur: i64) -> Option<i64> {
    let (a, b) = (trace_id[5], trace_id[6]);
    (a % 5 < 3).then(|| dur / 100 * (15 + (b % 30) as i64))
}

/// An evaluator's verdict on half of the answered calls, as each convention
/// carries it: OpenInference annotation attributes, else a `gen_ai.evaluation.result`
/// span event. Scores depend on the model (so the Evaluations view has something to
/// compare) and on the trace id's bytes rather than the generator, so that adding them
/// left every other figure of the traffic as it was.
fn judge(
    convention: Convention,
    model_index: usize,
    trace_id: &[u8],
    at: i64,
    attributes: &mut Vec<KeyValue>,
    events: &mut Vec<span::Event>,
) {
    // (The first byte is always odd: `Synth::ids`.)
    if !trace_id[3].is_multiple_of(2) {
        return;
    }
    let quality = 0.55 + 0.35 * ((model_index * 7) % 10) as f64 / 10.0;
    let noise = (trace_id[4] as f64 / 255.0 - 0.5) * 0.6;
    let score = ((quality + noise).clamp(0.0, 1.0) * 100.0).round() / 100.0;
    let label = if score >= 0.5 {
        "relevant"
    } else {
        "irrelevant"
    };
    let hallucinated = trace_id[5].is_multiple_of(10);
    match convention {
        Convention::OpenInference => {
            attributes.push(kv("annotations.0.annotation.name", s("relevance")));
            attributes.push(kv(
                "annotations.0.annotation.score",
                Value::DoubleValue(score),
            ));
            attributes.push(kv("annotations.0.annotation.label", s(label)));
            attributes.push(kv("annotations.0.annotation.annotator_kind", s("LLM")));
            if hallucinated {
                attributes.push(kv("annotations.1.annotation.name", s("hallucination")));
                attributes.push(kv("annotations.1.annotation.label", s("hallucinated")));
                attributes.push(kv(
                    "annotations.1.annotation.explanation",
                    s("The answer cites a passage that was not retrieved."),
                ));
            }
        }
        _ => {
            let result = |name: &str, score: Option<f64>, label: &str| span::Event {
                time_unix_nano: at as u64,
                name: "gen_ai.evaluation.result".into(),
                attributes: [
                    Some(kv("gen_ai.evaluation.name", s(name))),
                    score.map(|v| kv("gen_ai.evaluation.score.value", Value::DoubleValue(v))),
                    Some(kv("gen_ai.evaluation.score.label", s(label))),
                ]
                .into_iter()
                .flatten()
                .collect(),
                dropped_attributes_count: 0,
            };
            events.push(result("relevance", Some(score), label));
            if hallucinated {
                events.push(result("hallucination", None, "hallucinated"));
            }
        }
    }
}

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn s(v: &str) -> Value {
    Value::StringValue(v.into())
}

fn i(v: i64) -> Value {
    Value::IntValue(v)
}

fn arr(items: &[&str]) -> Value {
    Value::ArrayValue(ArrayValue {
        values: items
            .iter()
            .map(|v| AnyValue { value: Some(s(v)) })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(seed: u64) -> SynthConfig {
        SynthConfig {
            traces: 200,
            start_ns: 1_700_000_000_000_000_000,
            end_ns: 1_700_086_400_000_000_000,
            seed,
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_traffic() {
        let a: Vec<_> = std::iter::from_fn({
            let mut g = Synth::new(cfg(7));
            move || g.next_request(50)
        })
        .collect();
        let b: Vec<_> = std::iter::from_fn({
            let mut g = Synth::new(cfg(7));
            move || g.next_request(50)
        })
        .collect();
        assert_eq!(a, b);
        let c = Synth::new(cfg(8)).next_request(50);
        assert_ne!(Some(&a[0]), c.as_ref());
    }

    #[test]
    fn traces_fill_the_period() {
        let mut g = Synth::new(SynthConfig {
            traces: 20_000,
            ..cfg(3)
        });
        let mut last = 0;
        while let Some(req) = g.next_request(500) {
            for span in req
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
            {
                last = last.max(span.start_time_unix_nano);
            }
        }
        let day = 86_400_000_000_000u64;
        assert!(
            last > 1_700_000_000_000_000_000 + day * 95 / 100,
            "traffic ends {} h early",
            (1_700_086_400_000_000_000 - last) / 3_600_000_000_000
        );
    }

    #[test]
    fn traces_stay_in_the_period_and_every_one_is_emitted() {
        let mut g = Synth::new(cfg(1));
        let mut roots = 0;
        while let Some(req) = g.next_request(64) {
            for span in req
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
            {
                assert!(span.start_time_unix_nano >= 1_700_000_000_000_000_000);
                assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
                roots += span.parent_span_id.is_empty() as u64;
            }
        }
        assert_eq!(roots, 200);
        assert_eq!(g.emitted(), 200);
    }
}
