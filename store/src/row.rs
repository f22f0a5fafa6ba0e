//! The rows the store keeps: one per span (with LLM fields when the span is a model
//! call), one per OTLP log record, one per metric data point.

use serde::{Deserialize, Serialize};

/// OTLP status code of a span, as the protocol numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[repr(u8)]
pub enum StatusCode {
    /// The instrumentation said nothing about success.
    #[default]
    Unset = 0,
    /// Explicitly successful.
    Ok = 1,
    /// Failed.
    Error = 2,
}

impl StatusCode {
    /// The code from its OTLP number; unknown numbers are `Unset` as the spec says.
    pub fn from_i32(code: i32) -> Self {
        match code {
            1 => StatusCode::Ok,
            2 => StatusCode::Error,
            _ => StatusCode::Unset,
        }
    }

    /// The lower-case name shown to people (`unset`, `ok`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::Unset => "unset",
            StatusCode::Ok => "ok",
            StatusCode::Error => "error",
        }
    }
}

/// What kind of work a span is, decided at ingest from the conventions' own markers
/// (OpenTelemetry GenAI `gen_ai.operation.name`, OpenInference `openinference.span.kind`,
/// OpenLLMetry `traceloop.span.kind`) and stored with the span, so that every reader
/// sees the same answer. A span with LLM fields is always an LLM call.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SpanClass {
    /// A model call.
    Llm,
    /// An agent: it plans and calls models and tools.
    Agent,
    /// A tool or function execution.
    Tool,
    /// Retrieval, embeddings, reranking, vector search.
    Retrieval,
    /// Anything else (chains, workflows, HTTP…).
    #[default]
    Other,
}

impl SpanClass {
    /// Every class, in legend order.
    pub const ALL: [SpanClass; 5] = [
        SpanClass::Llm,
        SpanClass::Agent,
        SpanClass::Tool,
        SpanClass::Retrieval,
        SpanClass::Other,
    ];

    /// Its number in the `spans.class` column.
    pub fn code(self) -> u8 {
        match self {
            SpanClass::Other => 0,
            SpanClass::Llm => 1,
            SpanClass::Agent => 2,
            SpanClass::Tool => 3,
            SpanClass::Retrieval => 4,
        }
    }

    /// The class of a `spans.class` number (unknown numbers are `Other`).
    pub fn from_code(code: u8) -> SpanClass {
        match code {
            1 => SpanClass::Llm,
            2 => SpanClass::Agent,
            3 => SpanClass::Tool,
            4 => SpanClass::Retrieval,
            _ => SpanClass::Other,
        }
    }

    /// Its name for people (legends, exports).
    pub fn label(self) -> &'static str {
        match self {
            SpanClass::Llm => "LLM call",
            SpanClass::Agent => "agent",
            SpanClass::Tool => "tool",
            SpanClass::Retrieval => "retrieval",
            SpanClass::Other => "other",
        }
    }
}

/// One span, normalized: the OTLP core fields, its service, the raw attributes kept
/// losslessly as JSON, and the LLM fields when the span is a model call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpanRow {
    /// 16-byte trace id.
    pub trace_id: [u8; 16],
    /// 8-byte span id.
    pub span_id: [u8; 8],
    /// Parent span id; `None` for a root span.
    pub parent_span_id: Option<[u8; 8]>,
    /// Span name.
    pub name: String,
    /// OTLP span kind number (0 unspecified … 5 consumer).
    pub kind: i32,
    /// Start, Unix nanoseconds.
    pub start_ns: i64,
    /// End, Unix nanoseconds.
    pub end_ns: i64,
    /// Status code.
    pub status: StatusCode,
    /// Status message (empty when none).
    pub status_message: String,
    /// Resource `service.name` (`unknown_service` when absent, as OTel does).
    pub service: String,
    /// Instrumentation scope name.
    pub scope: String,
    /// Span attributes as a JSON object (OTLP JSON `AnyValue` values unwrapped).
    pub attributes_json: String,
    /// Resource attributes as a JSON object.
    pub resource_json: String,
    /// Span events as a JSON array of `{time_ns, name, attributes}`.
    pub events_json: String,
    /// Span links as a JSON array of `{trace_id, span_id, attributes}`.
    pub links_json: String,
    /// What kind of work it is (stored as [`SpanClass::Llm`] whenever `llm` is set).
    pub class: SpanClass,
    /// The LLM fields, when this span is a model call.
    pub llm: Option<LlmCall>,
    /// The conversation or session the span belongs to, from any convention
    /// (`gen_ai.conversation.id`, `session.id`, OpenLLMetry's association properties):
    /// agents' spans carry it as often as calls do, and a trace takes it from any of
    /// its spans, so that a session groups traces.
    pub session_id: Option<String>,
    /// The end user the span worked for (`user.id`, `enduser.id`, …), likewise.
    pub user_id: Option<String>,
    /// The agent's name for an agent span, the tool's for a tool span
    /// ([`crate::conventions::AGENT_NAME`], [`crate::conventions::TOOL_NAME`], else the
    /// span's name); none for other spans.
    pub entity: Option<String>,
    /// Evaluation results and annotations the span carries: `gen_ai.evaluation.result`
    /// span events, OpenInference `annotations.N.annotation.*` /
    /// `evaluations.N.evaluation.*` attributes (with `trace.` and `session.` prefixes
    /// for the span's trace and session).
    pub evaluations: Vec<EvaluationRow>,
}

impl SpanRow {
    /// Duration in nanoseconds, never negative (clocks of broken clients can be).
    pub fn duration_ns(&self) -> i64 {
        (self.end_ns - self.start_ns).max(0)
    }
}

/// What makes a span an LLM call: the fields of DESIGN.md's span row that come from the
/// competing semantic conventions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LlmCall {
    /// Provider (`openai`, `anthropic`, …).
    pub provider: Option<String>,
    /// Operation (`chat`, `text_completion`, `embeddings`, …).
    pub operation: Option<String>,
    /// Model the client asked for.
    pub request_model: Option<String>,
    /// Model that answered.
    pub response_model: Option<String>,
    /// Input (prompt) tokens, cache reads and writes included.
    pub input_tokens: Option<i64>,
    /// Output (completion) tokens.
    pub output_tokens: Option<i64>,
    /// Input tokens read from the provider's prompt cache (inside `input_tokens`).
    pub cache_read_tokens: Option<i64>,
    /// Input tokens written to the provider's prompt cache (inside `input_tokens`).
    pub cache_write_tokens: Option<i64>,
    /// Reasoning tokens (inside `output_tokens`).
    pub reasoning_tokens: Option<i64>,
    /// A cost in USD the client itself reported; wins over the price table.
    pub reported_cost_usd: Option<f64>,
    /// Finish reason(s), comma-separated.
    pub finish_reason: Option<String>,
    /// Error type (`429`, `RateLimitError`, …) when the call failed.
    pub error_type: Option<String>,
    /// What the failure said (status message or exception message).
    pub error_message: Option<String>,
    /// Conversation or session id.
    pub session_id: Option<String>,
    /// End user id.
    pub user_id: Option<String>,
    /// Prompt text (messages rendered as JSON when the convention gives structure).
    pub prompt: Option<String>,
    /// Response text.
    pub response: Option<String>,
    /// The provider's id of the response (`gen_ai.response.id`), by which an
    /// evaluation made later, away from the call's span, names the call it judges.
    pub response_id: Option<String>,
    /// Where the call's time went, as far as its instrumentation or server said.
    pub timing: CallTiming,
    /// The prompt template the instrumentation says the call was made from; calls
    /// without one have theirs learned from the prompt (see [`crate::patterns`]).
    pub declared_prompt: Option<crate::patterns::DeclaredPrompt>,
}

/// The inside of a call's duration: time to the first token of a streamed answer and an
/// inference server's phases (queue, prefill, decode), each in nanoseconds and `None`
/// where nothing said it. Instrumentations report TTFT as an attribute
/// (`gen_ai.response.time_to_first_chunk`, OpenLIT's `gen_ai.server.time_to_first_token`)
/// or as the time of the first chunk's span event (OpenInference, OpenLLMetry); servers
/// such as vLLM report their phases (`gen_ai.latency.*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CallTiming {
    /// From the call's start to its first token (first streamed chunk).
    pub ttft_ns: Option<i64>,
    /// Waiting in the server's queue before the model saw the prompt.
    pub queue_ns: Option<i64>,
    /// Reading the prompt (the model's prefill).
    pub prefill_ns: Option<i64>,
    /// Generating the answer after the first token (the model's decode).
    pub decode_ns: Option<i64>,
    /// Whether the answer was streamed; `None` when the call did not say.
    pub streamed: Option<bool>,
}

/// A call's duration split into consecutive phases for drawing (a bar in the call's
/// details, the phases inside its span in the trace's timeline), in nanoseconds that add
/// up to the duration. Built from [`CallTiming`] by [`CallPhases::of`]; `None` there when
/// the call said nothing about its inside.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CallPhases {
    /// Waiting in the server's queue.
    pub queue_ns: i64,
    /// Reading the prompt: the server's prefill, else the time to the first token after
    /// the queue.
    pub first_token_ns: i64,
    /// Generating after the first token: the server's decode, else the rest of a
    /// streamed call after its first token.
    pub decode_ns: i64,
    /// Whatever the phases do not account for (network, the client's own work).
    pub other_ns: i64,
}

impl CallPhases {
    /// The phases of a call of `duration_ns` with `timing`; each phase is clamped so
    /// that they never exceed the duration (clocks of client and server differ).
    pub fn of(duration_ns: i64, timing: &CallTiming) -> Option<CallPhases> {
        if timing.ttft_ns.is_none()
            && timing.queue_ns.is_none()
            && timing.prefill_ns.is_none()
            && timing.decode_ns.is_none()
        {
            return None;
        }
        let duration = duration_ns.max(0);
        let mut left = duration;
        let mut take = |ns: i64| {
            let ns = ns.clamp(0, left);
            left -= ns;
            ns
        };
        let queue_ns = take(timing.queue_ns.unwrap_or(0));
        let first_token_ns = take(match (timing.prefill_ns, timing.ttft_ns) {
            (Some(prefill), _) => prefill,
            (None, Some(ttft)) => ttft - queue_ns,
            (None, None) => 0,
        });
        let decode_ns = take(match (timing.decode_ns, timing.ttft_ns) {
            (Some(decode), _) => decode,
            (None, Some(ttft)) => duration - ttft.max(queue_ns + first_token_ns),
            (None, None) => 0,
        });
        Some(CallPhases {
            queue_ns,
            first_token_ns,
            decode_ns,
            other_ns: left,
        })
    }
}

impl LlmCall {
    /// The model a call is counted under: the model that was asked for (the request
    /// model, else the response model, else `unknown`). A failed call usually carries
    /// only the requested name and a successful one also the served snapshot
    /// (`gpt-4o-mini-2024-07-18`); counting both under the requested name keeps a
    /// model's failures and successes in one row.
    pub fn model(&self) -> &str {
        self.request_model
            .as_deref()
            .or(self.response_model.as_deref())
            .unwrap_or("unknown")
    }
}

/// One OTLP log record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogRow {
    /// Time of the event, Unix nanoseconds (observed time when the event has none).
    pub time_ns: i64,
    /// Trace the record belongs to, if any.
    pub trace_id: Option<[u8; 16]>,
    /// Span the record belongs to, if any.
    pub span_id: Option<[u8; 8]>,
    /// Severity number (1–24).
    pub severity_number: i32,
    /// Severity text.
    pub severity_text: String,
    /// Event name (`gen_ai.user.message`, …), from the field or the `event.name` attribute.
    pub event_name: String,
    /// Resource `service.name`.
    pub service: String,
    /// Body as JSON.
    pub body_json: String,
    /// Attributes as a JSON object.
    pub attributes_json: String,
    /// Resource attributes as a JSON object.
    pub resource_json: String,
    /// For a GenAI event, the message text it adds to its span's call.
    pub genai: Option<GenAiEventText>,
    /// For a `gen_ai.evaluation.result` event, the result it carries.
    pub evaluation: Option<EvaluationRow>,
}

/// The text a GenAI event record carries for its span's LLM call; the store adds it to
/// the call's prompt or response when the span itself did not carry them.
#[derive(Debug, Clone, PartialEq)]
pub enum GenAiEventText {
    /// A prompt message (`gen_ai.user.message`, …), rendered as `role: content`.
    Prompt(String),
    /// A response message (`gen_ai.choice`).
    Response(String),
    /// Both (`gen_ai.client.inference.operation.details`).
    Both(Option<String>, Option<String>),
}

impl GenAiEventText {
    fn split(&self) -> (Option<&str>, Option<&str>) {
        match self {
            GenAiEventText::Prompt(p) => (Some(p), None),
            GenAiEventText::Response(r) => (None, Some(r)),
            GenAiEventText::Both(p, r) => (p.as_deref(), r.as_deref()),
        }
    }

    /// The prompt part, if any.
    pub fn prompt(&self) -> Option<&str> {
        self.split().0
    }

    /// The response part, if any.
    pub fn response(&self) -> Option<&str> {
        self.split().1
    }
}

/// One metric data point; histograms keep their buckets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricPoint {
    /// Time of the point, Unix nanoseconds.
    pub time_ns: i64,
    /// Start of the accumulation interval, Unix nanoseconds (0 when unknown).
    pub start_time_ns: i64,
    /// Metric name (`gen_ai.client.token.usage`, …).
    pub name: String,
    /// Kind: `gauge`, `sum`, `histogram`, `exponential_histogram` or `summary`.
    pub kind: String,
    /// Unit.
    pub unit: String,
    /// Resource `service.name`.
    pub service: String,
    /// Point attributes as a JSON object.
    pub attributes_json: String,
    /// Value of a gauge or sum point.
    pub value: Option<f64>,
    /// Count of a histogram or summary point.
    pub count: Option<u64>,
    /// Sum of a histogram or summary point.
    pub sum: Option<f64>,
    /// Explicit bucket bounds of a histogram point, as JSON.
    pub bucket_bounds_json: Option<String>,
    /// Bucket counts of a histogram point, as JSON.
    pub bucket_counts_json: Option<String>,
    /// Whether a sum or histogram point holds what happened since the last point
    /// ([`Temporality::Delta`]) or since its start (the running total); `None` for
    /// gauges and summaries.
    pub temporality: Option<Temporality>,
}

/// How a sum or histogram point accumulates (OTLP's aggregation temporality).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temporality {
    /// What happened since the series' previous point.
    Delta,
    /// Everything since the series' start time (a running total).
    Cumulative,
}

impl Temporality {
    /// The name stored in `metric_points.temporality`.
    pub fn as_str(self) -> &'static str {
        match self {
            Temporality::Delta => "delta",
            Temporality::Cumulative => "cumulative",
        }
    }
}

/// One change of an alert's state, kept as history: a rule began firing for a scope, or
/// stopped.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct AlertEvent {
    /// When it happened, Unix nanoseconds.
    pub time_ns: i64,
    /// The rule's name.
    pub rule: String,
    /// What the rule watched (`all`, or a model or service).
    pub scope: String,
    /// `firing` or `resolved`.
    pub state: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// What was measured (`p95_latency_ms`, `error_rate`…), the unit of value and
    /// threshold.
    pub metric: String,
    /// The measured value (none when there was no data).
    pub value: Option<f64>,
    /// The threshold it was compared with.
    pub threshold: f64,
    /// One line for people: what crossed what.
    pub message: String,
}

/// What an evaluation or annotation judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalTarget {
    /// One span (for an LLM call: the call).
    #[default]
    Span,
    /// A whole trace (one turn of an agent or a chat).
    Trace,
    /// A whole session (conversation).
    Session,
}

impl EvalTarget {
    /// Its name in the `evaluations.target` column and in exports.
    pub fn as_str(self) -> &'static str {
        match self {
            EvalTarget::Span => "span",
            EvalTarget::Trace => "trace",
            EvalTarget::Session => "session",
        }
    }

    /// The target named by a stored `evaluations.target` (unknown names: a span).
    pub fn parse(s: &str) -> EvalTarget {
        match s {
            "trace" => EvalTarget::Trace,
            "session" => EvalTarget::Session,
            _ => EvalTarget::Span,
        }
    }
}

/// Where a stored evaluation came from: sent over OTLP (or imported)…
#[cfg(feature = "duckdb")]
pub(crate) const FROM_OTLP: &str = "otlp";
/// …or given in the app (and editable there).
#[cfg(feature = "duckdb")]
pub(crate) const FROM_APP: &str = "app";

/// The name under which the app keeps a person's feedback (thumbs, label, note) as an
/// annotation, so that `feedback:` conditions and the Evaluations view find it.
pub const FEEDBACK: &str = "feedback";

/// One evaluation result or annotation: an evaluator's (a model, code, a person) score,
/// label and explanation of a call, a trace or a session. Results may arrive before or
/// after what they judge; they are kept as sent and joined when read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvaluationRow {
    /// When the result was made (the event's time; a span's end for its attributes).
    pub time_ns: i64,
    /// What it judges.
    pub target: EvalTarget,
    /// The judged trace (for a span or trace target), when known.
    pub trace_id: Option<[u8; 16]>,
    /// The judged span, when known.
    pub span_id: Option<[u8; 8]>,
    /// The judged call's `gen_ai.response.id`, for results that name the call by it.
    pub response_id: Option<String>,
    /// The judged session (for a session target).
    pub session_id: Option<String>,
    /// The evaluator or annotation name (`relevance`, `hallucination`, `feedback`).
    pub name: String,
    /// Its numeric score, when it gave one.
    pub score: Option<f64>,
    /// Its label (`relevant`, `pass`), when it gave one.
    pub label: Option<String>,
    /// Why, in the evaluator's words.
    pub explanation: Option<String>,
    /// Who judged: `LLM`, `HUMAN`, `CODE` (OpenInference's annotator kinds), else empty.
    pub annotator: String,
}

/// A person's feedback given in the app on a call, a trace or a session: kept as a
/// `HUMAN` annotation named [`FEEDBACK`], replacing the feedback given there before.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Feedback {
    /// When it was given, Unix ns.
    pub time_ns: i64,
    /// What it is about.
    pub target: EvalTarget,
    /// The trace (span and trace targets).
    pub trace_id: Option<[u8; 16]>,
    /// The span (span target).
    pub span_id: Option<[u8; 8]>,
    /// The session (session target).
    pub session_id: Option<String>,
    /// Thumbs up (`true`) or down (`false`), stored as a score of 1 or 0.
    pub thumbs_up: Option<bool>,
    /// A label the person chose (`hallucination`, `wrong tool`).
    pub label: Option<String>,
    /// A note.
    pub note: Option<String>,
}

impl Feedback {
    /// Whether it says nothing (giving it removes the feedback there).
    pub fn is_empty(&self) -> bool {
        self.thumbs_up.is_none() && self.label.is_none() && self.note.is_none()
    }

    /// The annotation it is stored as.
    pub fn to_evaluation(&self) -> EvaluationRow {
        EvaluationRow {
            time_ns: self.time_ns,
            target: self.target,
            trace_id: self.trace_id,
            span_id: self.span_id,
            response_id: None,
            session_id: self.session_id.clone(),
            name: FEEDBACK.into(),
            score: self.thumbs_up.map(|up| if up { 1.0 } else { 0.0 }),
            label: self.label.clone(),
            explanation: self.note.clone(),
            annotator: "HUMAN".into(),
        }
    }
}
