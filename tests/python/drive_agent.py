"""Runs a tool-using agent built with the OpenAI Agents SDK, traced by OpenInference's
openai-agents instrumentation, against a small fake OpenAI-compatible server that
answers first with a tool call and then with the answer; several sessions of several
turns, each session one user's. Exports the spans with the real OTLP exporter (or
writes them as OTLP JSON Lines, as the Collector's file exporter does, with --dump),
then prints, as JSON, what happened: the truth the collector must report. The model's
snapshot is not in the truth: this instrumentation reports only the model asked for."""

import argparse
import asyncio
import base64
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from agents import Agent, OpenAIChatCompletionsModel, RunConfig, Runner, function_tool, set_trace_processors
from drive_openai import exporter, json_server
from openai import AsyncOpenAI
from openinference.instrumentation import using_session, using_user
from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

MODEL = "gpt-4o-mini"
SERVED = "gpt-4o-mini-2024-07-18"


class Truth:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = self.input_tokens = self.output_tokens = 0
        self.tools = {}

    def call(self, input_tokens, output_tokens):
        with self.lock:
            self.calls += 1
            self.input_tokens += input_tokens
            self.output_tokens += output_tokens


def fake_server(truth):
    """Answers a request whose last message is the user's with a call of the tool it
    names (`issue_refund` when the user asks for a refund, else `lookup_order`), and one
    that ends with the tool's result with the answer."""

    def answer(body):
        messages = body["messages"]
        last = messages[-1]
        asked = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        input_tokens = sum(len(str(m.get("content") or "").split()) for m in messages) + 11
        n = truth.calls + 1
        if last["role"] == "tool":
            reply = f"Done: {last['content']}"
            message = {"role": "assistant", "content": reply}
            finish = "stop"
            output_tokens = len(reply.split())
        else:
            tool = "issue_refund" if "refund" in asked else "lookup_order"
            order = asked.split()[-1].strip("?.")
            message = {"role": "assistant", "content": None, "tool_calls": [{
                "id": f"call_{n}", "type": "function",
                "function": {"name": tool, "arguments": json.dumps({"order_id": order})}}]}
            finish = "tool_calls"
            output_tokens = 9
        truth.call(input_tokens, output_tokens)
        return 200, {
            "id": f"chatcmpl-agent-{n}", "object": "chat.completion", "created": 1764000000,
            "model": SERVED,
            "choices": [{"index": 0, "finish_reason": finish, "message": message}],
            "usage": {"prompt_tokens": input_tokens, "completion_tokens": output_tokens,
                      "total_tokens": input_tokens + output_tokens},
        }

    return json_server(answer)


class JsonLinesExporter(SpanExporter):
    """Spans as OTLP JSON Lines, one export request per line, as the Collector's file
    exporter writes them."""

    def __init__(self, path):
        self.out = open(path, "w")

    def export(self, spans):
        from google.protobuf.json_format import MessageToDict
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
        request = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
        # OTLP JSON writes ids as hex, where protobuf's JSON mapping writes base64.
        for rs in request.get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                for span in ss.get("spans", []):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if span.get(key):
                            span[key] = base64.b64decode(span[key]).hex()
        self.out.write(json.dumps(request, separators=(",", ":")) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self):
        self.out.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint")
    p.add_argument("--protocol", choices=["grpc", "http"], default="grpc")
    p.add_argument("--dump", help="write OTLP JSON Lines here instead of exporting")
    p.add_argument("--sessions", type=int, default=3)
    p.add_argument("--turns", type=int, default=2)
    a = p.parse_args()

    truth = Truth()
    server = fake_server(truth)
    provider = TracerProvider(resource=Resource.create({"service.name": "support-agent"}))
    span_exporter = JsonLinesExporter(a.dump) if a.dump else exporter(a.protocol, a.endpoint, False, None)
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    # Only OpenInference's processor: the SDK's own would send traces to OpenAI.
    set_trace_processors([])
    OpenAIAgentsInstrumentor().instrument(tracer_provider=provider)

    @function_tool
    def lookup_order(order_id: str) -> str:
        """Looks an order up by its id."""
        truth.tools["lookup_order"] = truth.tools.get("lookup_order", 0) + 1
        return f"order {order_id} shipped yesterday"

    @function_tool
    def issue_refund(order_id: str) -> str:
        """Refunds an order."""
        truth.tools["issue_refund"] = truth.tools.get("issue_refund", 0) + 1
        return f"order {order_id} refunded"

    client = AsyncOpenAI(base_url=f"http://127.0.0.1:{server.server_port}/v1", api_key="test", max_retries=0)
    agent = Agent(
        name="support",
        instructions="You help customers with their orders.",
        model=OpenAIChatCompletionsModel(model=MODEL, openai_client=client),
        tools=[lookup_order, issue_refund],
    )
    sessions = {}

    async def converse():
        for s in range(a.sessions):
            session, user = f"conv-{s + 1}", f"customer-{s + 1}"
            sessions[session] = {"user": user, "turns": 0, "first_message": None}
            calls_before = truth.calls
            for t in range(a.turns):
                ask = f"Please refund order B-{s}{t}" if t % 2 else f"Where is my order A-{s}{t}"
                sessions[session]["first_message"] = sessions[session]["first_message"] or ask
                with using_session(session), using_user(user):
                    await Runner.run(agent, ask, run_config=RunConfig(workflow_name="support turn"))
                sessions[session]["turns"] += 1
            sessions[session]["llm_calls"] = truth.calls - calls_before

    asyncio.run(converse())
    provider.force_flush(30_000)
    provider.shutdown()
    server.shutdown()
    print(json.dumps({
        "calls": truth.calls, "input_tokens": truth.input_tokens, "output_tokens": truth.output_tokens,
        "model": MODEL, "tools": truth.tools, "sessions": sessions,
        # Each turn is one run of the agent, inside the SDK's trace, which OpenInference
        # marks as an AGENT span named after the workflow.
        "agents": {"support": a.sessions * a.turns, "support turn": a.sessions * a.turns},
        "turns": a.sessions * a.turns,
    }))


if __name__ == "__main__":
    main()
