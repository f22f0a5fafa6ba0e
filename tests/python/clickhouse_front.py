"""A ClickHouse HTTP interface in front of chdb (ClickHouse's engine in-process), for the
tests: no ClickHouse server installs on the test machines, but its engine does.

It implements what ClickHouse's HTTP interface documents for the requests LLM
Observatory sends: the query in the `query` URL parameter or in the body (an INSERT's
data follows its query in the body), `database`, `query_id`, `param_<name>` query
parameters, any other URL parameter as a setting (`max_execution_time`,
`output_format_json_quote_64bit_integers`, ...), user and password by Basic auth, the
`X-ClickHouse-User`/`X-ClickHouse-Key` headers or the `user`/`password` parameters,
`GET /ping`, `KILL QUERY WHERE query_id = …` (the query then fails with
QUERY_WAS_CANCELLED), `X-ClickHouse-*` reply headers, gzip or LZ4-frame replies when
`enable_http_compression=1` and the client accepts them, and errors as ClickHouse
gives them: the exception text as the body, its code in `X-ClickHouse-Exception-Code`,
and the HTTP status ClickHouse maps that code to.

    python clickhouse_front.py --data DIR [--port 0] [--user U --password P] [--delay S]

prints `listening on PORT` once it accepts connections. Queries run one at a time
(chdb's session is not shared across threads); `--delay` makes each query of a traces
table wait, so that a test can cancel one while it runs.
"""

import argparse
import base64
import gzip
import http.server
import re
import sys
import threading
import time
import urllib.parse
import uuid

import lz4.frame
from chdb import session as chs

# ClickHouse's HTTP status for an exception code (src/Server/HTTPHandler.cpp).
STATUS = {
    516: 401,  # AUTHENTICATION_FAILED
    192: 401,  # UNKNOWN_USER
    193: 401,  # WRONG_PASSWORD
    194: 401,  # REQUIRED_PASSWORD
    60: 404,  # UNKNOWN_TABLE
    81: 404,  # UNKNOWN_DATABASE
    62: 400,  # SYNTAX_ERROR
    47: 400,  # UNKNOWN_IDENTIFIER
    27: 400,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
    26: 400,  # CANNOT_PARSE_QUOTED_STRING
    117: 400,  # INCORRECT_DATA
    115: 400,  # UNKNOWN_SETTING
    159: 500,  # TIMEOUT_EXCEEDED
    394: 500,  # QUERY_WAS_CANCELLED
}

# URL parameters that are not settings.
NOT_SETTINGS = {"query", "database", "query_id", "user", "password", "default_format",
                "enable_http_compression", "compress", "decompress"}


class Engine:
    """One chdb session, used by one request at a time."""

    def __init__(self, path, delay=0.0):
        self.session = chs.Session(path)
        self.lock = threading.Lock()
        self.running = None
        # Seconds each query of a traces table waits before it runs (a slow server,
        # for cancellation tests), and the ids KILL QUERY named.
        self.delay = delay
        self.killed = set()

    def kill(self, sql):
        """KILL QUERY WHERE query_id = '...': answered at once, outside the lock, as a
        server does; a query running under that id then fails as cancelled."""
        m = re.search(r"query_id\s*=\s*'([^']*)'", sql)
        if m:
            self.killed.add(m.group(1))

    def run(self, sql, database, settings, params, query_id):
        with self.lock:
            self.running = query_id
            try:
                if database:
                    self.session.query(f"USE `{database}`", "TSV")
                for k, v in settings.items():
                    if not re.fullmatch(r"[A-Za-z0-9_]+", k):
                        raise Failure(115, f"Unknown setting {k}")
                    self.session.query(f"SET {k} = {quote(v)}", "TSV")
                fmt, sql = output_format(sql)
                if self.delay and re.search(r"(?i)\bFROM\s+\w+\.otel_traces\b", sql):
                    deadline = time.monotonic() + self.delay
                    while time.monotonic() < deadline and query_id not in self.killed:
                        time.sleep(0.01)
                if query_id in self.killed:
                    raise Failure(394, f"Query {query_id} was cancelled")
                result = self.session.query(sql, fmt, params=params or None)
                if query_id in self.killed:
                    raise Failure(394, f"Query {query_id} was cancelled")
                return result.bytes() if result is not None else b"", fmt
            finally:
                # Settings last for one query, as on a server.
                for k in settings:
                    try:
                        self.session.query(f"SET {k} = DEFAULT", "TSV")
                    except Exception:
                        pass
                self.running = None


class Failure(Exception):
    def __init__(self, code, text):
        super().__init__(text)
        self.code = code
        self.text = f"Code: {code}. DB::Exception: {text}. (FRONT)"


def quote(v):
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", v):
        return v
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def output_format(sql):
    """The FORMAT a SELECT asks for (ClickHouse's default is TabSeparated); the
    statement is passed on without it, since chdb takes the format apart."""
    m = re.search(r"(?is)\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$", sql)
    if m and not re.match(r"(?is)^\s*INSERT\b", sql):
        return m.group(1), sql[: m.start()]
    return "TabSeparated", sql


def make_handler(engine, user, password):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path in ("/ping", "/"):
                if not urllib.parse.parse_qs(url.query).get("query"):
                    return self.reply(200, b"Ok.\n", {})
            self.handle_query(b"")

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.headers.get("Content-Encoding", "") == "gzip":
                body = gzip.decompress(body)
            self.handle_query(body)

        def handle_query(self, body):
            url = urllib.parse.urlsplit(self.path)
            q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
            query_id = q.get("query_id") or str(uuid.uuid4())
            headers = {"X-ClickHouse-Query-Id": query_id, "X-ClickHouse-Server-Display-Name": "chdb-front"}
            try:
                self.check_auth(q)
                sql = q.get("query", "")
                if body:
                    sql = (sql + " " if sql else "") + body.decode("utf-8")
                if not sql.strip():
                    raise Failure(62, "Empty query")
                database = self.headers.get("X-ClickHouse-Database") or q.get("database")
                params = {k[len("param_"):]: v for k, v in q.items() if k.startswith("param_")}
                settings = {k: v for k, v in q.items() if k not in NOT_SETTINGS and not k.startswith("param_")}
                started = time.monotonic()
                if re.match(r"(?is)^\s*KILL\s+QUERY", sql):
                    engine.kill(sql)
                    return self.reply(200, b"", headers)
                data, fmt = engine.run(sql, database, settings, params, query_id)
                headers["X-ClickHouse-Format"] = fmt
                headers["X-ClickHouse-Summary"] = (
                    '{"read_rows":"0","elapsed_ns":"%d"}' % int((time.monotonic() - started) * 1e9)
                )
                accepted = self.headers.get("Accept-Encoding", "")
                if q.get("enable_http_compression") == "1" and "lz4" in accepted:
                    data = lz4.frame.compress(data)
                    headers["Content-Encoding"] = "lz4"
                elif q.get("enable_http_compression") == "1" and "gzip" in accepted:
                    data = gzip.compress(data, 1)
                    headers["Content-Encoding"] = "gzip"
                self.reply(200, data, headers)
            except Failure as f:
                self.fail(f.code, f.text, headers)
            except Exception as e:  # chdb's own errors: "Code: N. DB::Exception: ..."
                text = str(e)
                m = re.match(r"Code: (\d+)\.", text)
                self.fail(int(m.group(1)) if m else 1001, text, headers)

        def check_auth(self, q):
            if user is None:
                return
            got_user, got_password = "default", ""
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                got_user, _, got_password = base64.b64decode(auth[6:]).decode().partition(":")
            if self.headers.get("X-ClickHouse-User"):
                got_user = self.headers["X-ClickHouse-User"]
                got_password = self.headers.get("X-ClickHouse-Key", "")
            if "user" in q:
                got_user, got_password = q["user"], q.get("password", "")
            if (got_user, got_password) != (user, password):
                raise Failure(516, f"{got_user}: Authentication failed: password is incorrect, or there is no user with such name")

        def fail(self, code, text, headers):
            headers["X-ClickHouse-Exception-Code"] = str(code)
            self.reply(STATUS.get(code, 500), (text + "\n").encode(), headers)

        def reply(self, status, data, headers):
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "text/plain; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="folder chdb keeps its databases in")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--user")
    ap.add_argument("--password", default="")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds each query of a traces table waits first")
    args = ap.parse_args()
    engine = Engine(args.data, args.delay)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(engine, args.user, args.password))
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
