"""Writes N LLM calls with ~1 KB prompts as OTLP JSON Lines (100 spans a line), one of
them holding the rare word `quokka-marmalade-31337`, for the text-search benchmark:

    python3 tests/bench_search_data.py 1000000 /tmp/calls1k.jsonl
    llm-observatory import --db /tmp/c1k.duckdb /tmp/calls1k.jsonl
    time llm-observatory calls --db /tmp/c1k.duckdb --query quokka-marmalade-31337
"""
import json, random, sys
random.seed(7)
vocab = [''.join(random.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(random.randint(3, 9))) for _ in range(20000)]
n = int(sys.argv[1]); out = open(sys.argv[2], 'w')
t0 = 1795700000000000000
per_line = 100
for base in range(0, n, per_line):
    spans = []
    for i in range(base, min(base + per_line, n)):
        words = []
        size = 0
        while size < 1000:
            w = random.choice(vocab); words.append(w); size += len(w) + 1
        if i == n // 2:
            words.append('quokka-marmalade-31337')
        prompt = ' '.join(words)
        st = t0 + i * 1000000
        spans.append({"traceId": f"{i+1:032x}", "spanId": f"{i+1:016x}", "name": "chat gpt-4o", "kind": 3,
            "startTimeUnixNano": str(st), "endTimeUnixNano": str(st + 500000000),
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "250"}},
                {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "20"}},
                {"key": "gen_ai.input.messages", "value": {"stringValue": json.dumps([{"role": "user", "parts": [{"type": "text", "content": prompt}]}])}},
            ], "status": {}})
    out.write(json.dumps({"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "bench"}}]}, "scopeSpans": [{"scope": {"name": "b"}, "spans": spans}]}]}) + "\n")
