"""Scrapes a collector's `GET /metrics` and reads it with Prometheus' own Python
parser (prometheus_client's OpenMetrics parser, which refuses malformed text), then
prints what it read as one JSON object: totals over all series, per-model requests,
the time-to-first-token histogram's cumulative buckets, and whether every histogram
is well formed. With --dashboard, also names every metric the Grafana dashboard's
queries use that the scrape lacks, and every query PromQL's grammar refuses."""

import argparse
import json
import re
import urllib.error
import urllib.request

import promql_parser
from prometheus_client.openmetrics.parser import text_string_to_metric_families


def fetch(url, token):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def histograms_well_formed(family):
    """Cumulative buckets never decrease and +Inf equals _count, per series."""
    series = {}
    for s in family.samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(key, {"buckets": [], "count": None})
        if s.name.endswith("_bucket"):
            series[key]["buckets"].append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_count"):
            series[key]["count"] = s.value
    for v in series.values():
        values = [n for _, n in sorted(v["buckets"])]
        if values != sorted(values) or not values or values[-1] != v["count"]:
            return False
    return True


def dashboard_metrics(path):
    """The metric names the dashboard's PromQL expressions use."""
    with open(path) as f:
        dashboard = json.load(f)
    exprs = []

    def walk(panels):
        for p in panels:
            exprs.extend(t["expr"] for t in p.get("targets", []))
            walk(p.get("panels", []))

    walk(dashboard["panels"])
    names = set()
    unparsable = []
    for e in exprs:
        names.update(re.findall(r"\b(llm_[a-z_]+)", e))
        # Grafana's own variables, as it substitutes them before querying.
        query = e.replace("$__rate_interval", "1m").replace("$__range", "6h")
        try:
            promql_parser.parse(query)
        except Exception as err:  # the parser raises a plain exception naming the fault
            unparsable.append(f"{e}: {err}")
    return dashboard, sorted(names), len(exprs), unparsable


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--token")
    p.add_argument("--dashboard")
    args = p.parse_args()

    status, content_type, text = fetch(args.url, args.token)
    if status != 200:
        print(json.dumps({"status": status, "body": text}))
        return
    out = {
        "status": status,
        "content_type": content_type,
        "requests": 0,
        "errors": 0,
        "tokens": {},
        "cost_usd": 0.0,
        "unpriced": 0,
        "duration_count": 0,
        "duration_sum": 0.0,
        "ttft_count": 0,
        "ttft_buckets": {},
        "by_model": {},
        "histograms_well_formed": True,
        "samples": [],
    }
    for family in text_string_to_metric_families(text):
        if family.type == "histogram" and not histograms_well_formed(family):
            out["histograms_well_formed"] = False
        for s in family.samples:
            out["samples"].append(s.name)
            labels = s.labels
            if s.name == "llm_requests_total":
                out["requests"] += s.value
                if labels["status"] == "error":
                    out["errors"] += s.value
                out["by_model"][labels["model"]] = out["by_model"].get(labels["model"], 0) + s.value
            elif s.name == "llm_tokens_total":
                out["tokens"][labels["type"]] = out["tokens"].get(labels["type"], 0) + s.value
            elif s.name == "llm_cost_usd_total":
                out["cost_usd"] += s.value
            elif s.name == "llm_unpriced_requests_total":
                out["unpriced"] += s.value
            elif s.name == "llm_request_duration_seconds_count":
                out["duration_count"] += s.value
            elif s.name == "llm_request_duration_seconds_sum":
                out["duration_sum"] += s.value
            elif s.name == "llm_time_to_first_token_seconds_count":
                out["ttft_count"] += s.value
            elif s.name == "llm_time_to_first_token_seconds_bucket":
                le = labels["le"]
                out["ttft_buckets"][le] = out["ttft_buckets"].get(le, 0) + s.value
    out["samples"] = sorted(set(out["samples"]))
    if args.dashboard:
        dashboard, used, exprs, unparsable = dashboard_metrics(args.dashboard)
        exposed = set(out["samples"])
        out["dashboard"] = {
            "title": dashboard["title"],
            "queries": exprs,
            "missing": [m for m in used if m not in exposed],
            "used": used,
            "unparsable": unparsable,
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
