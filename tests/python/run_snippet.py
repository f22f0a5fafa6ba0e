"""Runs a snippet from the window's getting-started panel exactly as a user pasting it
would: the code read from stdin, unchanged, in a fresh interpreter whose environment
holds the OTLP lines the panel copies (the test sets them). The `openai` client it makes
talks to the fake OpenAI-compatible server of drive_openai.py (through the standard
OPENAI_BASE_URL and OPENAI_API_KEY variables). When the snippet has run and the SDK has
flushed at exit, prints what the fake server saw as JSON."""

import atexit
import json
import os
import sys

from drive_openai import Truth, fake_server

code = sys.stdin.read()
truth = Truth()
server = fake_server(truth)
os.environ["OPENAI_BASE_URL"] = f"http://127.0.0.1:{server.server_port}/v1"
os.environ["OPENAI_API_KEY"] = "test"


def report():
    # Registered before the snippet runs, so it runs after the SDK's own exit hook has
    # flushed the spans (atexit runs hooks last registered first).
    print(json.dumps({"calls": truth.calls, "errors": truth.errors, "models_by_request": truth.models}))


atexit.register(report)
exec(compile(code, "<getting-started snippet>", "exec"), {"__name__": "__main__"})
