"""Drives the real `openai` client, traced by a real LLM instrumentation, against a
small fake OpenAI-compatible server, exporting with the real OpenTelemetry SDK OTLP
exporters. Prints, as JSON, what the fake server saw: the truth the collector must
report.

Each call sits under an `agent.step` span; every tenth call is answered 429. With
`--stream-delay-ms D` every call streams (`stream=True`): the fake server sends its first
chunk D ms after the request arrived, then a word every few ms and the usage last, so
the collector must report a time to first token of D ms (plus the request's own
transit)."""

import argparse
import http.server
import json
import threading
import time

import openai
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

RESPONSE_MODELS = {"gpt-4o": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18", "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14"}
WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda".split()


class Truth:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = self.errors = self.input_tokens = self.output_tokens = self.cached_tokens = 0
        self.models = {}

    def add(self, model, error, input_tokens=0, output_tokens=0, cached=0, served=None):
        """Counts a call under the model asked for; `served` is the snapshot that answered."""
        with self.lock:
            self.calls += 1
            self.errors += error
            self.input_tokens += input_tokens
            self.output_tokens += output_tokens
            self.cached_tokens += cached
            m = self.models.setdefault(model, {"calls": 0, "errors": 0, "input_tokens": 0, "output_tokens": 0, "served": []})
            if served and served not in m["served"]:
                m["served"] = sorted(m["served"] + [served])
            m["calls"] += 1
            m["errors"] += error
            m["input_tokens"] += input_tokens
            m["output_tokens"] += output_tokens


def json_server(answer, stream_delay_ms=None):
    """A local HTTP server answering each POSTed JSON body with `answer(body)`, a
    (status, payload) pair, as JSON; its port is `server.server_port`. A body asking to
    stream gets the answer as server-sent chunks (see `stream`)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, payload = answer(body)
            if body.get("stream") and status == 200:
                stream(self, payload, stream_delay_ms or 0)
                return
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stream(handler, completion, delay_ms):
    """Sends `completion` as chat.completion.chunk events: the first after `delay_ms`,
    one per word 5 ms apart, then the usage; the connection closes at the end."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.end_headers()

    def send(delta, finish=None, usage=None):
        chunk = {"id": completion["id"], "object": "chat.completion.chunk", "created": completion["created"],
                 "model": completion["model"],
                 "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage:
            chunk["usage"] = usage
        handler.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        handler.wfile.flush()

    time.sleep(delay_ms / 1000)
    words = completion["choices"][0]["message"]["content"].split(" ")
    send({"role": "assistant", "content": words[0]})
    for word in words[1:]:
        time.sleep(0.005)
        send({"content": " " + word})
    send({}, finish="stop")
    send(None, usage=completion["usage"])
    handler.wfile.write(b"data: [DONE]\n\n")
    handler.wfile.flush()


def fake_server(truth, stream_delay_ms=None):
    def answer(body):
        model = body["model"]
        prompt = " ".join(m["content"] for m in body["messages"])
        if "FAIL429" in prompt:
            truth.add(model, 1)
            return 429, {"error": {"message": "Rate limit reached", "type": "rate_limit_error", "code": "rate_limit_exceeded"}}
        input_tokens = len(prompt.split()) + 7
        reply = "Echo: " + " ".join(prompt.split()[:12])
        output_tokens = len(reply.split())
        cached = 4 if input_tokens % 3 == 0 else 0
        truth.add(model, 0, input_tokens, output_tokens, cached, served=RESPONSE_MODELS[model])
        return 200, {
            "id": f"chatcmpl-{truth.calls}", "object": "chat.completion", "created": 1764000000,
            "model": RESPONSE_MODELS[model],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}],
            "usage": {"prompt_tokens": input_tokens, "completion_tokens": output_tokens,
                      "total_tokens": input_tokens + output_tokens,
                      "prompt_tokens_details": {"cached_tokens": cached}},
        }

    return json_server(answer, stream_delay_ms)


def exporter(protocol, endpoint, gzip, token):
    headers = {"authorization": f"Bearer {token}"} if token else None
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.exporter import Compression
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        return OTLPSpanExporter(endpoint=endpoint, insecure=True, headers=headers,
                                compression=Compression.Gzip if gzip else Compression.NoCompression)
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    return OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces", headers=headers,
                            compression=Compression.Gzip if gzip else Compression.NoCompression)


def instrument(name, provider):
    if name == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor
    else:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    OpenAIInstrumentor().instrument(tracer_provider=provider)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--protocol", choices=["grpc", "http"], required=True)
    p.add_argument("--instrumentation", choices=["openinference", "openllmetry"], required=True)
    p.add_argument("--calls", type=int, default=40)
    p.add_argument("--gzip", action="store_true")
    p.add_argument("--token")
    p.add_argument("--stream-delay-ms", type=int, help="stream every call, its first chunk after this delay")
    a = p.parse_args()

    truth = Truth()
    server = fake_server(truth, a.stream_delay_ms)
    provider = TracerProvider(resource=Resource.create({"service.name": f"e2e-{a.instrumentation}"}))
    processor = BatchSpanProcessor(exporter(a.protocol, a.endpoint, a.gzip, a.token), max_export_batch_size=16)
    provider.add_span_processor(processor)
    instrument(a.instrumentation, provider)
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{server.server_port}/v1", api_key="test", max_retries=0)
    tracer = provider.get_tracer("e2e-driver")
    models = list(RESPONSE_MODELS)
    for i in range(a.calls):
        prompt = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(5 + i % 9))
        if i % 10 == 9:
            prompt += " FAIL429"
        if i == 3:
            prompt += " needle-zebra-4711"
        with tracer.start_as_current_span("agent.step"):
            try:
                messages = [{"role": "user", "content": prompt}]
                if a.stream_delay_ms is None:
                    client.chat.completions.create(model=models[i % 3], messages=messages)
                else:
                    chunks = client.chat.completions.create(model=models[i % 3], messages=messages, stream=True,
                                                            stream_options={"include_usage": True})
                    for _ in chunks:
                        pass
            except openai.RateLimitError:
                pass
    ok = provider.force_flush(30_000)
    provider.shutdown()
    server.shutdown()
    print(json.dumps({"flushed": ok, "calls": truth.calls, "errors": truth.errors, "input_tokens": truth.input_tokens,
                      "output_tokens": truth.output_tokens, "cached_tokens": truth.cached_tokens, "models_by_request": truth.models}))


if __name__ == "__main__":
    main()
