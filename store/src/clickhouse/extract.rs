//! The LLM fields of a span, extracted at query time from the Collector's attribute
//! maps with the same precedence as `ingest`'s normalizer: the SQL is generated from
//! [`crate::conventions`], the one table both read.

use crate::collector_span::ERROR_STATUS;
use crate::conventions as conv;

/// The first of `keys` with a non-empty value, as text (NULL when none). The
/// exporter writes every value as text, so this is the normalizer's `text`.
fn text(keys: &[&str]) -> String {
    let parts: Vec<String> = keys
        .iter()
        .map(|k| format!("nullIf(SpanAttributes[{}], '')", literal(k)))
        .collect();
    if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("coalesce({})", parts.join(", "))
    }
}

/// The first of `keys` holding a whole number (the normalizer's `int`: an integer
/// or integral double is written in decimal by the exporter, and numeric text parses).
fn int(keys: &[&str]) -> String {
    let parts: Vec<String> = keys
        .iter()
        .map(|k| format!("toInt64OrNull(trimBoth(SpanAttributes[{}]))", literal(k)))
        .collect();
    format!("coalesce({})", parts.join(", "))
}

/// The first of `keys` holding a finite number (the normalizer's `float`).
fn float(keys: &[&str]) -> String {
    let parts: Vec<String> = keys
        .iter()
        .map(|k| {
            let v = format!("toFloat64OrNull(trimBoth(SpanAttributes[{}]))", literal(k));
            format!("if(isFinite(coalesce({v}, nan)), {v}, NULL)")
        })
        .collect();
    format!("coalesce({})", parts.join(", "))
}

/// Whether any of `keys` is present (even empty).
fn has_any(keys: &[&str]) -> String {
    let parts: Vec<String> = keys
        .iter()
        .map(|k| format!("mapContains(SpanAttributes, {})", literal(k)))
        .collect();
    format!("({})", parts.join(" OR "))
}

fn list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| literal(v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A ClickHouse string literal.
pub(super) fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Whether the span is a model call: the normalizer's rule (an operation that is a
/// call, else an OpenInference kind that is one, else any model or token attribute).
pub(super) fn is_call() -> String {
    let operation = text(conv::OPERATION);
    let kind = text(&[conv::OPENINFERENCE_KIND]);
    format!(
        "multiIf({operation} IS NOT NULL, {operation} IN ({ops}),
                 {kind} IS NOT NULL, upper({kind}) IN ({kinds}),
                 {any})",
        ops = list(conv::CALL_OPERATIONS),
        kinds = list(conv::CALL_KINDS),
        any = has_any(
            &[
                conv::REQUEST_MODEL,
                conv::RESPONSE_MODEL,
                conv::INPUT_TOKENS
            ]
            .concat()
        ),
    )
}

/// The span's class code (`SpanClass::code`) by the normalizer's rules
/// (`ingest::normalize::class`): a call; else the conventions' markers of agents,
/// tools and retrievals; else, without any marker, words in its name.
fn class() -> String {
    let op = format!("lower({})", text(&conv::OPERATION[..1]));
    let oi = format!("upper({})", text(&[conv::OPENINFERENCE_KIND]));
    let tl = format!("lower({})", text(&[conv::TRACELOOP_KIND]));
    let name_has = |words: &[&str]| -> String {
        let parts: Vec<String> = words
            .iter()
            .map(|w| format!("positionCaseInsensitiveUTF8(SpanName, {}) > 0", literal(w)))
            .collect();
        format!("({})", parts.join(" OR "))
    };
    format!(
        "multiIf({is_call}, 1,
                 {op} IN ({agent_ops}) OR {oi} = 'AGENT' OR {tl} = 'agent', 2,
                 {op} = {tool_op} OR {oi} = 'TOOL' OR {tl} = 'tool', 3,
                 {op} IN ({retrieval_ops}) OR {oi} IN ({retrieval_kinds}), 4,
                 {op} IS NOT NULL OR {oi} IS NOT NULL OR {tl} IS NOT NULL, 0,
                 {tool_name}, 3,
                 {retrieval_name}, 4,
                 0)",
        is_call = is_call(),
        agent_ops = list(conv::AGENT_OPERATIONS),
        tool_op = literal(conv::TOOL_OPERATION),
        retrieval_ops = list(conv::RETRIEVAL_OPERATIONS),
        retrieval_kinds = list(conv::RETRIEVAL_KINDS),
        tool_name = name_has(conv::TOOL_NAME_WORDS),
        retrieval_name = name_has(conv::RETRIEVAL_NAME_WORDS),
    )
}

/// The calls of the traces table `table` as rows with `llm_calls`' column names, so
/// that the queries over them (and the cost formula) read as the DuckDB ones do.
/// `spans_where` restricts the spans first (time and service, on the table's own
/// columns, so that ClickHouse skips partitions and granules).
pub(super) fn calls(table: &str, spans_where: &str) -> String {
    projection(table, &format!("({spans_where}) AND {}", is_call()))
}

/// Every span of `table` meeting `spans_where`, with the call columns of [`calls`]
/// (meaningful where `is_call`), `name`, `parent_span_id` and `span_failed`.
pub(super) fn spans(table: &str, spans_where: &str) -> String {
    projection(table, spans_where)
}

fn projection(table: &str, condition: &str) -> String {
    let failed = format!("StatusCode IN ({})", list(&ERROR_STATUS));
    let declared = text(&[conv::ERROR_TYPE]);
    // The last exception event's attributes (an empty map when there is none).
    let exception = "Events.Attributes[arrayLastIndex(x -> x = 'exception', Events.Name)]";
    let exception_type = format!(
        "arrayElement(splitByRegexp('[.:]', nullIf({exception}['exception.type'], '')), -1)"
    );
    let http_status = format!(
        "if({s} >= 400, toString({s}), NULL)",
        s = int(conv::HTTP_STATUS)
    );
    let error_type = format!(
        "if({failed} OR {declared} IS NOT NULL,
            coalesce(nullIf({declared}, '_OTHER'), nullIf({exception_type}, ''), {http_status}),
            NULL)"
    );
    let error_message = format!(
        "if({failed} OR {declared} IS NOT NULL,
            coalesce(nullIf(StatusMessage, ''), nullIf({exception}['exception.message'], '')),
            NULL)"
    );
    let request_model = format!(
        "coalesce({}, nullIf(JSONExtractString(SpanAttributes[{}], 'model'), ''))",
        text(conv::REQUEST_MODEL),
        literal(conv::INVOCATION_PARAMETERS)
    );
    let operation = format!(
        "coalesce({}, lower({}))",
        text(conv::OPERATION),
        text(&[conv::OPENINFERENCE_KIND])
    );
    format!(
        "SELECT TraceId AS trace_id, SpanId AS span_id, ServiceName AS service,
                toInt64(toUnixTimestamp64Nano(Timestamp)) AS start_ns,
                toInt64(Duration) AS duration_ns,
                lower({provider}) AS provider, {operation} AS operation,
                {request_model} AS request_model, {response_model} AS response_model,
                coalesce(request_model, response_model, 'unknown') AS model,
                {input} AS input_tokens, {output} AS output_tokens,
                {cache_read} AS cache_read_tokens, {cache_write} AS cache_write_tokens,
                {reasoning} AS reasoning_tokens, {cost} AS reported_cost,
                {finish} AS finish_reason,
                {error_type} AS error_type, {error_message} AS error_message,
                ({failed}) OR error_type IS NOT NULL AS is_error,
                {session} AS session_id, {user} AS user_id, {response_id} AS response_id,
                {timing},
                {messages} AS message_text, {is_call} AS is_call, SpanName AS name,
                ParentSpanId AS parent_span_id, {failed} AS span_failed,
                {class} AS class,
                multiIf(class = 2, coalesce({agent}, nullIf(trimBoth(SpanName), '')),
                        class = 3, coalesce({tool}, nullIf(trimBoth(SpanName), '')),
                        NULL) AS entity,
                {raw}
         FROM {table}
         WHERE {condition}",
        raw = super::raw::select(),
        provider = text(conv::PROVIDER),
        response_model = text(conv::RESPONSE_MODEL),
        input = int(conv::INPUT_TOKENS),
        output = int(conv::OUTPUT_TOKENS),
        cache_read = int(conv::CACHE_READ),
        cache_write = int(conv::CACHE_WRITE),
        reasoning = int(conv::REASONING),
        cost = float(conv::COST),
        finish = text(conv::FINISH),
        session = session(),
        timing = timing(),
        user = text(conv::USER),
        response_id = text(conv::RESPONSE_ID),
        is_call = is_call(),
        messages = message_text(),
        class = class(),
        agent = text(conv::AGENT_NAME),
        tool = text(conv::TOOL_NAME),
    )
}

/// A call's timing columns (`ttft_ns`, `queue_ns`, `prefill_ns`, `decode_ns`,
/// `streamed`) as the normalizer reads them: durations in seconds within a day; the
/// time to first token from its attributes, else the first first-chunk event's time;
/// streamed when it said so (or its invocation parameters did), or showed a first chunk.
fn timing() -> String {
    let seconds = |keys: &[&str]| {
        let f = float(keys);
        format!("if({f} BETWEEN 0 AND 86400, toInt64(round({f} * 1e9)), NULL)")
    };
    let chunk = format!("n IN ({})", list(conv::FIRST_CHUNK_EVENTS));
    let has_chunk = format!("arrayExists(n -> {chunk}, Events.Name)");
    let first_chunk = format!(
        "if({has_chunk},
            arrayMin(arrayMap(t -> toInt64(toUnixTimestamp64Nano(t)),
                              arrayFilter((t, n) -> {chunk}, Events.Timestamp, Events.Name)))
              - toInt64(toUnixTimestamp64Nano(Timestamp)),
            NULL)"
    );
    let said = text(conv::STREAMING);
    let params = format!("SpanAttributes[{}]", literal(conv::INVOCATION_PARAMETERS));
    format!(
        "coalesce({ttft}, if({first_chunk} >= 0, {first_chunk}, NULL)) AS ttft_ns,
         {queue} AS queue_ns, {prefill} AS prefill_ns, {decode} AS decode_ns,
         CAST(multiIf({has_chunk}, 1,
                      {said} IS NOT NULL, lower({said}) = 'true',
                      JSONHas({params}, 'stream'), JSONExtractBool({params}, 'stream'),
                      NULL) AS Nullable(Bool)) AS streamed",
        ttft = seconds(conv::TIME_TO_FIRST_TOKEN),
        queue = seconds(conv::TIME_IN_QUEUE),
        prefill = seconds(conv::TIME_IN_PREFILL),
        decode = seconds(conv::TIME_IN_DECODE),
    )
}

/// The session a span names (the normalizer's first non-empty session key).
pub(super) fn session() -> String {
    text(conv::SESSION)
}

/// Every value of the attributes and events that carry the call's messages, one per
/// line: what text search reads (ClickHouse reads it only for a query that searches).
fn message_text() -> String {
    let keys: Vec<String> = conv::MESSAGE_KEY_PREFIXES
        .iter()
        .map(|k| format!("startsWith(k, {})", literal(k)))
        .collect();
    format!(
        "arrayStringConcat(arrayConcat(
            mapValues(mapFilter((k, v) -> {keys}, SpanAttributes)),
            arrayFlatten(arrayMap((n, a) -> if(startsWith(n, {event}) AND n != {evaluation},
                                               mapValues(a), []),
                                  Events.Name, Events.Attributes))), '\\n')",
        keys = keys.join(" OR "),
        event = literal(conv::MESSAGE_EVENT_PREFIX),
        evaluation = literal(conv::EVALUATION_EVENT),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_convention_key_is_read() {
        let sql = calls("otel.otel_traces", "TRUE");
        for keys in [
            conv::PROVIDER,
            conv::REQUEST_MODEL,
            conv::RESPONSE_MODEL,
            conv::INPUT_TOKENS,
            conv::OUTPUT_TOKENS,
            conv::CACHE_READ,
            conv::CACHE_WRITE,
            conv::COST,
            conv::SESSION,
            conv::USER,
            conv::TIME_TO_FIRST_TOKEN,
            conv::TIME_IN_QUEUE,
            conv::TIME_IN_PREFILL,
            conv::TIME_IN_DECODE,
            conv::STREAMING,
            conv::FIRST_CHUNK_EVENTS,
        ] {
            for k in keys {
                assert!(sql.contains(&literal(k)), "{k} is not read");
            }
        }
    }

    #[test]
    fn literals_cannot_break_out() {
        assert_eq!(literal("a'b\\"), "'a\\'b\\\\'");
    }
}
