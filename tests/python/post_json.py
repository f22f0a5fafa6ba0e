"""Posts each line of an OTLP JSON Lines dump to an OTLP/HTTP endpoint as
`application/json`, optionally gzip-compressed, and fails unless every post is
answered 200 with a JSON body."""

import argparse
import gzip
import json
import sys
import urllib.request

p = argparse.ArgumentParser()
p.add_argument("--endpoint", required=True)
p.add_argument("--gzip", action="store_true")
p.add_argument("file")
a = p.parse_args()
for n, line in enumerate(open(a.file, "rb"), 1):
    if not line.strip():
        continue
    body = gzip.compress(line) if a.gzip else line
    req = urllib.request.Request(a.endpoint.rstrip("/") + "/v1/traces", data=body, method="POST")
    req.add_header("Content-Type", "application/json")
    if a.gzip:
        req.add_header("Content-Encoding", "gzip")
    with urllib.request.urlopen(req) as resp:
        if resp.status != 200 or resp.headers.get("Content-Type") != "application/json":
            sys.exit(f"line {n}: {resp.status} {resp.headers.get('Content-Type')}")
        json.loads(resp.read())
print("posted")
