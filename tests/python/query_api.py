"""Asks a running `serve`'s query API as a script would, and checks it against its own
OpenAPI document: the document must validate (openapi-spec-validator), and every 200
answer must match the schema the document gives for its path. Prints one JSON object:
{"spec_errors": null or text, "answers": {PATH: {"status", "body", "schema_error"}}},
where PATH is as given (endpoint below /api/v1/, with its query string)."""

import argparse
import json
import re
import urllib.error
import urllib.request

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


def fetch(url, token):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def template_of(doc, path):
    """The document's path template matching an endpoint path, if any."""
    for template in doc["paths"]:
        pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
        if re.match(pattern, "/" + path):
            return template
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, help="http://HOST:PORT/api/v1")
    ap.add_argument("--token", default="")
    ap.add_argument("paths", nargs="*")
    args = ap.parse_args()

    status, text = fetch(f"{args.base}/openapi.json", args.token)
    doc = json.loads(text) if status == 200 else {}
    try:
        validate(doc)
        spec_errors = None
    except Exception as e:  # noqa: BLE001 - the validator's own error, reported as text
        spec_errors = f"{type(e).__name__}: {e}"
    registry = Registry().with_resource(
        "urn:openapi", Resource.from_contents(doc, default_specification=DRAFT202012)
    )

    answers = {}
    for path in args.paths:
        status, text = fetch(f"{args.base}/{path}", args.token)
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            body = text
        schema_error = None
        if status == 200:
            template = template_of(doc, path.split("?")[0])
            if template is None:
                schema_error = "the document has no such path"
            else:
                pointer = "/paths/" + template.replace("~", "~0").replace("/", "~1")
                pointer += "/get/responses/200/content/application~1json/schema"
                validator = Draft202012Validator(
                    {"$ref": "urn:openapi#" + pointer}, registry=registry
                )
                errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
                if errors:
                    e = errors[0]
                    schema_error = f"{list(e.absolute_path)}: {e.message}"
        answers[path] = {"status": status, "body": body, "schema_error": schema_error}
    print(json.dumps({"spec_errors": spec_errors, "answers": answers}))


if __name__ == "__main__":
    main()
