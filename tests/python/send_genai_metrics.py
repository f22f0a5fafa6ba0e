"""A metrics-only GenAI client: the real OpenTelemetry Python SDK's MeterProvider
with its OTLP exporter records the GenAI client and server metrics an instrumented
app records (no spans at all), exported twice as running totals (the SDK's default)
so that a reader must subtract, not add. Prints what it recorded per metric and
group (model · operation · token type) as one JSON object: the truth to compare with."""

import argparse
import json

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

# The bucket bounds the GenAI conventions advise.
DURATION_BOUNDS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
TOKEN_BOUNDS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
TTFT_BOUNDS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]


def exporter(protocol, endpoint):
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        return OTLPMetricExporter(endpoint=endpoint, insecure=True)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--protocol", choices=["grpc", "http"], default="grpc")
    p.add_argument("--calls", type=int, default=60)
    args = p.parse_args()

    reader = PeriodicExportingMetricReader(exporter(args.protocol, args.endpoint), export_interval_millis=3_600_000)
    meters = MeterProvider(resource=Resource.create({"service.name": "metrics-only-app"}), metric_readers=[reader])
    meter = meters.get_meter("genai-metrics")
    duration = meter.create_histogram(
        "gen_ai.client.operation.duration", unit="s", explicit_bucket_boundaries_advisory=DURATION_BOUNDS
    )
    tokens = meter.create_histogram(
        "gen_ai.client.token.usage", unit="{token}", explicit_bucket_boundaries_advisory=TOKEN_BOUNDS
    )
    first = meter.create_histogram(
        "gen_ai.server.time_to_first_token", unit="s", explicit_bucket_boundaries_advisory=TTFT_BOUNDS
    )

    truth = {}

    def record(instrument, name, value, attributes, label):
        instrument.record(value, attributes)
        group = truth.setdefault(name, {}).setdefault(label, {"count": 0, "sum": 0.0, "values": []})
        group["count"] += 1
        group["sum"] += value
        group["values"].append(value)

    for i in range(args.calls):
        model = "gpt-4o" if i % 3 else "gpt-4o-mini"
        base = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model, "gen_ai.system": "openai"}
        # gpt-4o: 0.3–1.5 s; gpt-4o-mini: 0.1–0.5 s.
        seconds = (0.3 + (i % 13) * 0.1) if model == "gpt-4o" else (0.1 + (i % 5) * 0.1)
        record(duration, "gen_ai.client.operation.duration", seconds, base, f"{model} · chat")
        for kind, n in (("input", 200 + 7 * i), ("output", 20 + i)):
            record(tokens, "gen_ai.client.token.usage", n, {**base, "gen_ai.token.type": kind}, f"{model} · chat · {kind}")
        record(first, "gen_ai.server.time_to_first_token", seconds / 4, base, f"{model} · chat")
        if i == args.calls // 2:
            # The first export: running totals so far; the second repeats them plus the rest.
            meters.force_flush()
    meters.force_flush()
    meters.shutdown()
    print(json.dumps(truth))


if __name__ == "__main__":
    main()
