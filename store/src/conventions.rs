//! The attribute names of the competing LLM semantic conventions (OpenTelemetry
//! `gen_ai.*` old and new, OpenInference, OpenLLMetry/Traceloop, OpenLIT), per field of
//! the span row, in precedence order: within a field the first key present wins.
//!
//! One table for every reader of raw attributes: `ingest`'s normalizer reads spans with
//! it, and the ClickHouse backend generates its query-time extraction from it, so the
//! two cannot drift apart.

/// The provider (`openai`, `anthropic`, …).
pub const PROVIDER: &[&str] = &[
    "gen_ai.provider.name",
    "gen_ai.system",
    "llm.provider",
    "llm.system",
];
/// The operation (`chat`, `embeddings`, …).
pub const OPERATION: &[&str] = &["gen_ai.operation.name", "llm.request.type"];
/// The model the client asked for.
pub const REQUEST_MODEL: &[&str] = &[
    "gen_ai.request.model",
    "llm.request.model_name",
    "llm.request.model",
];
/// The model (snapshot) that answered.
pub const RESPONSE_MODEL: &[&str] = &[
    "gen_ai.response.model",
    "llm.response.model_name",
    "llm.response.model",
    "llm.model_name",
];
/// Input (prompt) tokens.
pub const INPUT_TOKENS: &[&str] = &[
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "llm.usage.prompt_tokens",
];
/// Output (completion) tokens.
pub const OUTPUT_TOKENS: &[&str] = &[
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "llm.usage.completion_tokens",
];
/// Input tokens read from the provider's prompt cache.
pub const CACHE_READ: &[&str] = &[
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
    "llm.usage.cache_read_input_tokens",
];
/// Input tokens written to the provider's prompt cache.
pub const CACHE_WRITE: &[&str] = &[
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
    "llm.usage.cache_creation_input_tokens",
];
/// Reasoning tokens.
pub const REASONING: &[&str] = &[
    "gen_ai.usage.reasoning_tokens",
    "gen_ai.usage.reasoning.output_tokens",
    "llm.token_count.completion_details.reasoning",
];
/// A cost in USD the client reported.
pub const COST: &[&str] = &[
    "gen_ai.usage.cost",
    "llm.cost.total",
    "gen_ai.usage.total_cost",
];
/// Finish reason(s).
pub const FINISH: &[&str] = &[
    "gen_ai.response.finish_reasons",
    "gen_ai.response.finish_reason",
    "llm.finish_reason",
    "llm.response.finish_reason",
];
/// Conversation or session id.
pub const SESSION: &[&str] = &[
    "gen_ai.conversation.id",
    "session.id",
    "traceloop.association.properties.session_id",
    "traceloop.association.properties.conversation_id",
];
/// End user id.
pub const USER: &[&str] = &[
    "user.id",
    "enduser.id",
    "traceloop.association.properties.user_id",
    "gen_ai.request.user",
];

/// Time to the first token (first chunk) of a streamed answer, in seconds: the
/// OpenTelemetry GenAI attribute, OpenLIT's, vLLM's.
pub const TIME_TO_FIRST_TOKEN: &[&str] = &[
    "gen_ai.response.time_to_first_chunk",
    "gen_ai.server.time_to_first_token",
    "gen_ai.latency.time_to_first_token",
];
/// Span events marking a streamed answer's first chunk (OpenInference) or each chunk
/// (OpenLLMetry, old and new names): the first one's time is the first token's.
pub const FIRST_CHUNK_EVENTS: &[&str] = &[
    "First Token Stream Event",
    "gen_ai.content.completion.chunk",
    "llm.content.completion.chunk",
];
/// Time an inference server kept the request queued, in seconds (vLLM).
pub const TIME_IN_QUEUE: &[&str] = &["gen_ai.latency.time_in_queue"];
/// Time the model spent reading the prompt, in seconds (vLLM).
pub const TIME_IN_PREFILL: &[&str] = &["gen_ai.latency.time_in_model_prefill"];
/// Time the model spent generating, in seconds (vLLM).
pub const TIME_IN_DECODE: &[&str] = &["gen_ai.latency.time_in_model_decode"];
/// The name of the prompt template a call was made from, when the application's prompt
/// manager or instrumentation says it: OpenTelemetry GenAI, OpenLLMetry (Traceloop's
/// prompt registry), Langfuse.
pub const PROMPT_NAME: &[&str] = &[
    "gen_ai.prompt.name",
    "traceloop.prompt.key",
    "langfuse.prompt.name",
    "langfuse.observation.prompt.name",
];
/// The version of that template: OpenTelemetry GenAI, OpenLLMetry, OpenInference,
/// Langfuse.
pub const PROMPT_VERSION: &[&str] = &[
    "gen_ai.prompt.version",
    "traceloop.prompt.version",
    "llm.prompt_template.version",
    "langfuse.prompt.version",
    "langfuse.observation.prompt.version",
];
/// The template's text with its `{variables}`: OpenInference, OpenLLMetry.
pub const PROMPT_TEMPLATE: &[&str] = &["llm.prompt_template.template", "traceloop.prompt.template"];
/// Whether the answer was asked to be streamed: OpenTelemetry GenAI, OpenLIT,
/// OpenLLMetry (new and old). OpenInference says it as `"stream": true` inside
/// [`INVOCATION_PARAMETERS`].
pub const STREAMING: &[&str] = &[
    "gen_ai.request.stream",
    "gen_ai.request.is_stream",
    "gen_ai.is_streaming",
    "llm.is_streaming",
];

/// OpenTelemetry GenAI operations of agents.
pub const AGENT_OPERATIONS: &[&str] = &["invoke_agent", "create_agent"];
/// The OpenTelemetry GenAI operation of a tool execution.
pub const TOOL_OPERATION: &str = "execute_tool";
/// OpenTelemetry GenAI operations of retrieval.
pub const RETRIEVAL_OPERATIONS: &[&str] = &["embeddings", "retrieval"];
/// OpenInference span kinds of retrieval.
pub const RETRIEVAL_KINDS: &[&str] = &["RETRIEVER", "EMBEDDING", "RERANKER"];
/// OpenLLMetry's span kind (`workflow`, `task`, `agent`, `tool`).
pub const TRACELOOP_KIND: &str = "traceloop.span.kind";
/// Words in the name of a span without any marker that make it a tool, and a
/// retrieval (`search_tool`, `vector_search`), as people name them.
pub const TOOL_NAME_WORDS: &[&str] = &["tool"];
/// See [`TOOL_NAME_WORDS`].
pub const RETRIEVAL_NAME_WORDS: &[&str] = &["retriev", "embed", "vector"];

/// The name of the agent an agent span runs (OpenTelemetry GenAI, OpenInference,
/// OpenLLMetry's entity name); without one, the span's name.
pub const AGENT_NAME: &[&str] = &["gen_ai.agent.name", "agent.name", "traceloop.entity.name"];
/// The name of the tool a tool span executes, likewise.
pub const TOOL_NAME: &[&str] = &["gen_ai.tool.name", "tool.name", "traceloop.entity.name"];

/// Operations that are model calls; agent and tool operations are not.
pub const CALL_OPERATIONS: &[&str] = &[
    "chat",
    "text_completion",
    "completion",
    "generate_content",
    "embeddings",
    "embedding",
];

/// OpenInference span kinds that are model calls.
pub const CALL_KINDS: &[&str] = &["LLM", "EMBEDDING"];

/// The OpenInference span kind (`LLM`, `AGENT`, `TOOL`, …).
pub const OPENINFERENCE_KIND: &str = "openinference.span.kind";

/// OpenInference's request parameters as a JSON object (the only place a failed
/// call names its model).
pub const INVOCATION_PARAMETERS: &str = "llm.invocation_parameters";

/// The error type a span declares.
pub const ERROR_TYPE: &str = "error.type";

/// The HTTP status of the request a call made (new name first).
pub const HTTP_STATUS: &[&str] = &["http.response.status_code", "http.status_code"];

/// Attribute keys (and prefixes of flattened ones) that carry a call's messages: the
/// prompt and response text the inspector shows and searches.
pub const MESSAGE_KEY_PREFIXES: &[&str] = &[
    "gen_ai.system_instructions",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "llm.input_messages.",
    "llm.output_messages.",
    "input.value",
    "output.value",
];

/// Prefix of the names of span events that carry messages (`gen_ai.user.message`,
/// `gen_ai.choice`, …).
pub const MESSAGE_EVENT_PREFIX: &str = "gen_ai.";

/// The provider's id of a response, by which an evaluation made away from the call's
/// span names the call it judges.
pub const RESPONSE_ID: &[&str] = &["gen_ai.response.id", "llm.response.id"];

/// The name of the OpenTelemetry GenAI event carrying an evaluation result (a log
/// record, or a span event on the judged span).
pub const EVALUATION_EVENT: &str = "gen_ai.evaluation.result";
/// The evaluator's name in an evaluation event.
pub const EVALUATION_NAME: &str = "gen_ai.evaluation.name";
/// The numeric score in an evaluation event.
pub const EVALUATION_SCORE: &str = "gen_ai.evaluation.score.value";
/// The label in an evaluation event.
pub const EVALUATION_LABEL: &str = "gen_ai.evaluation.score.label";
/// The explanation in an evaluation event.
pub const EVALUATION_EXPLANATION: &str = "gen_ai.evaluation.explanation";

/// OpenInference's flattened annotation lists on a span (`annotations.0.annotation.name`,
/// `evaluations.0.evaluation.score`, …): the list's prefix and the item's field prefix.
pub const ANNOTATION_LISTS: &[(&str, &str)] =
    &[("annotations", "annotation"), ("evaluations", "evaluation")];
/// Prefixes of [`ANNOTATION_LISTS`] that judge the span's trace and session instead of
/// the span (`trace.annotations.0.annotation.name`).
pub const TRACE_ANNOTATION_PREFIX: &str = "trace.";
/// See [`TRACE_ANNOTATION_PREFIX`].
pub const SESSION_ANNOTATION_PREFIX: &str = "session.";

/// The arguments a tool was called with (OpenTelemetry GenAI, OpenInference's TOOL span
/// input, OpenLLMetry's entity input).
pub const TOOL_ARGUMENTS: &[&str] = &[
    "gen_ai.tool.call.arguments",
    "input.value",
    "traceloop.entity.input",
];
/// What a tool returned, likewise.
pub const TOOL_RESULT: &[&str] = &[
    "gen_ai.tool.call.result",
    "output.value",
    "traceloop.entity.output",
];
