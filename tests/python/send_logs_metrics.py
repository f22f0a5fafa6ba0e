"""Sends GenAI log records and metrics with the real OpenTelemetry Python SDK (its
LoggerProvider and MeterProvider with the OTLP exporters) to a collector, then prints
what it sent as one JSON object: the truth the end-to-end tests compare with what was
stored."""

import argparse
import json
import logging

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource


def exporters(protocol, endpoint):
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        return OTLPLogExporter(endpoint=endpoint, insecure=True), OTLPMetricExporter(
            endpoint=endpoint, insecure=True
        )
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return OTLPLogExporter(endpoint=f"{endpoint}/v1/logs"), OTLPMetricExporter(
        endpoint=f"{endpoint}/v1/metrics"
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--protocol", choices=["grpc", "http"], default="grpc")
    p.add_argument("--records", type=int, default=25)
    args = p.parse_args()

    resource = Resource.create({"service.name": "signals-app"})
    log_exporter, metric_exporter = exporters(args.protocol, args.endpoint)
    logs = LoggerProvider(resource=resource)
    logs.add_log_record_processor(BatchLogRecordProcessor(log_exporter))
    logger = logging.getLogger("signals")
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logs))

    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=3_600_000)
    meters = MeterProvider(resource=resource, metric_readers=[reader])
    meter = meters.get_meter("signals")
    tokens = meter.create_counter("gen_ai.client.token.usage.total", unit="{token}")
    duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s")

    truth = {"logs": 0, "warnings": 0, "tokens": {}, "durations": 0, "duration_sum": 0.0}
    for i in range(args.records):
        model = "gpt-4o" if i % 2 == 0 else "gpt-4o-mini"
        level = logging.WARNING if i % 5 == 0 else logging.INFO
        logger.log(
            level,
            "evaluation %d of %s",
            i,
            model,
            extra={"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": i / 100},
        )
        truth["logs"] += 1
        truth["warnings"] += level == logging.WARNING
        tokens.add(10 + i, {"gen_ai.request.model": model})
        truth["tokens"][model] = truth["tokens"].get(model, 0) + 10 + i
        duration.record(0.5 + i / 10, {"gen_ai.request.model": model})
        truth["durations"] += 1
        truth["duration_sum"] += 0.5 + i / 10

    # Shutting down exports what is left, once (the metrics as one cumulative point
    # per series).
    logs.shutdown()
    meters.shutdown()
    print(json.dumps(truth))


if __name__ == "__main__":
    main()
