"""Makes LLM calls with the real `openai` client traced by OpenLLMetry against the fake
server of drive_openai.py, then judges them as an evaluation pipeline would, with the
real OpenTelemetry SDK: `gen_ai.evaluation.result` events emitted through its
LoggerProvider, parented to the judged call's span or naming it only by its
`gen_ai.response.id`; some sent before the calls' spans are exported, the rest after,
one sent twice. Each turn's span carries an OpenInference trace annotation. Prints,
as JSON, every result it sent: the truth the collector must have stored."""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import openai
from drive_openai import RESPONSE_MODELS, WORDS, Truth, exporter, fake_server, instrument
from opentelemetry import trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import NonRecordingSpan


class CallSpans(SpanProcessor):
    """Remembers each finished LLM call span: its context, model and response id."""

    def __init__(self):
        self.calls = []

    def on_end(self, span):
        attrs = span.attributes or {}
        if "gen_ai.request.model" in attrs:
            self.calls.append({
                "context": span.get_span_context(),
                "model": attrs["gen_ai.request.model"],
                "response_id": attrs.get("gen_ai.response.id"),
            })


def log_exporter(protocol, endpoint):
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        return OTLPLogExporter(endpoint=endpoint, insecure=True)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    return OTLPLogExporter(endpoint=endpoint.rstrip("/") + "/v1/logs")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--protocol", choices=["grpc", "http"], required=True)
    p.add_argument("--calls", type=int, default=12)
    a = p.parse_args()

    resource = Resource.create({"service.name": "e2e-evaluated"})
    truth = Truth()
    server = fake_server(truth)
    provider = TracerProvider(resource=resource)
    calls = CallSpans()
    provider.add_span_processor(calls)
    # Spans wait in the queue until flushed: results sent before then arrive first.
    spans = BatchSpanProcessor(exporter(a.protocol, a.endpoint, False, None),
                               schedule_delay_millis=600_000, max_queue_size=4096,
                               max_export_batch_size=4096)
    provider.add_span_processor(spans)
    instrument("openllmetry", provider)
    logs = LoggerProvider(resource=resource)
    logs.add_log_record_processor(BatchLogRecordProcessor(log_exporter(a.protocol, a.endpoint)))
    logger = logs.get_logger("evaluator")

    client = openai.OpenAI(base_url=f"http://127.0.0.1:{server.server_port}/v1", api_key="test", max_retries=0)
    tracer = provider.get_tracer("e2e-evaluated")
    models = list(RESPONSE_MODELS)
    done = {}
    for i in range(a.calls):
        prompt = " ".join(WORDS[(i * 5 + k) % len(WORDS)] for k in range(6))
        with tracer.start_as_current_span("turn") as turn:
            done_score = i % 2
            turn.set_attribute("trace.annotations.0.annotation.name", "task_done")
            turn.set_attribute("trace.annotations.0.annotation.score", done_score)
            turn.set_attribute("trace.annotations.0.annotation.annotator_kind", "HUMAN")
            done[format(turn.get_span_context().trace_id, "032x")] = done_score
            client.chat.completions.create(model=models[i % 3], messages=[{"role": "user", "content": prompt}])

    sent = []

    def judge(n, call, by_response_id, twice=False):
        score = round((n * 37 % 100) / 100, 2)
        label = "relevant" if score >= 0.5 else "irrelevant"
        ctx = call["context"]
        attributes = {
            "gen_ai.evaluation.name": "relevance",
            "gen_ai.evaluation.score.value": score,
            "gen_ai.evaluation.score.label": label,
            "gen_ai.evaluation.explanation": f"judged call {n}",
        }
        context = None
        if by_response_id:
            attributes["gen_ai.response.id"] = call["response_id"]
        else:
            context = trace.set_span_in_context(NonRecordingSpan(ctx))
        stamp = time.time_ns()
        for _ in range(2 if twice else 1):
            logger.emit(timestamp=stamp, context=context, event_name="gen_ai.evaluation.result",
                        attributes=attributes)
        sent.append({"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x"),
                     "model": call["model"], "score": score, "label": label,
                     "by_response_id": by_response_id})

    half = len(calls.calls) // 2
    # Before the spans: half the results, every third by response id, one sent twice.
    for n, call in enumerate(calls.calls[:half]):
        judge(n, call, by_response_id=n % 3 == 2, twice=n == 0)
    logs.force_flush(30_000)
    time.sleep(1.0)
    flushed = provider.force_flush(30_000)
    time.sleep(1.0)
    # After the spans: the rest.
    for n, call in enumerate(calls.calls[half:], start=half):
        judge(n, call, by_response_id=n % 3 == 2, twice=n == half)
    logs.force_flush(30_000)
    logs.shutdown()
    provider.shutdown()
    server.shutdown()
    print(json.dumps({"flushed": flushed, "calls": truth.calls, "results": sent, "task_done": done}))


if __name__ == "__main__":
    main()
