#!/usr/bin/python3
"""A fault-injecting OpenAI-compatible embeddings server for tests and benchmarks.

Standard library only. Serves, over HTTP/1.1 with keep-alive:
  POST {any prefix}/embeddings                          OpenAI style (Authorization: Bearer)
  POST /openai/deployments/{d}/embeddings?api-version=V Azure style (api-key header)

Vectors are deterministic: `expected_vector(text, dim)` (SHAKE-256 of the
UTF-8 text, mapped to [-1, 1), L2-normalized, rounded to float32), so a test
can recompute what any stored vector must be.

Faults come from a script: a list of rules, each a match and an action.
  match:  {"nth": [1, 4]}            the 1-based request numbers listed
          {"from": 3, "count": 5}    requests 3..7 (a burst)
          {"every": 2, "offset": 0}   every 2nd request (n % every == offset)
          {"probability": 0.2}       each request with that probability (seeded)
          {"text_contains": "docB"}  requests with an input containing that text
          {} or {"always": true}     every request
          "limit": N (in the rule)   the rule fires at most N times
  action: {"status": 429, "retry_after": 1}          any status; Retry-After seconds
          {"status": 429, "retry_after_date": 2}     Retry-After as an HTTP date ~2 s ahead
          {"status": 503, "headers": {...}}          extra response headers
          {"slow": 3.0}                 sleep 3 s, then answer normally
          {"drop": "close"}             read the request, close without answering
          {"drop": "reset"}             the same with a TCP reset
          {"drop": "partial"}           send headers and half the body, then close
          {"malformed": true}           200 with a body that is not JSON
          {"wrong_dimension": 3}        200 with vectors of dim + 3 values
          {"wrong_count": -1}           200 with one vector missing
          {"shuffle": true}             200 with `data` in reverse order (valid: has `index`)
The first matching rule (that still has fires left) applies. Rules match on
requests that passed authentication and the in-flight cap (`max_in_flight`:
beyond K requests being served, answers 429 at once).

The request log (in memory, optionally also JSON lines) has one record per
request: n, path, start/end (time.monotonic()), in_flight (requests being
served including this one; for a request refused by the cap, the number it
would have made), admitted (passed the cap), status, outcome ("ok", "cap",
"fault:<kind>", "auth", "bad_request", ...: what the server meant to answer),
delivered (the response was written to a client still connected: False when
it had timed out and closed), valid (a 200 carrying the right vectors),
n_inputs, encoding_format, model, texts (or their SHA-256 with
log_texts=False), client_port; Azure requests also deployment, api_version.
Helpers for tests: delivered_ok_twice(log), time_weighted_in_flight(log, t0, t1).

Library use:  with FakeOpenAI(dim=64, latency_ms=50) as srv: srv.url ...
CLI use:      fake_openai_server.py --dim 64 --max-in-flight 8 --port-file p
"""
import argparse
import array
import base64
import email.utils
import hashlib
import json
import math
import os
import random
import select
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 64 * 1024 * 1024


def expected_vector(text, dim):
    """The vector the fake server returns for `text`: a list of float32 values."""
    raw = hashlib.shake_256(text.encode("utf-8")).digest(4 * dim)
    ints = struct.unpack(f"<{dim}I", raw)
    values = [i / 2147483648.0 - 1.0 for i in ints]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return list(array.array("f", (v / norm for v in values)))


def text_hash(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Rule:
    def __init__(self, spec):
        self.match = spec.get("match", {})
        self.action = spec.get("action", {})
        self.limit = spec.get("limit")
        self.fired = 0

    def matches(self, n, texts, rng):
        if self.limit is not None and self.fired >= self.limit:
            return False
        m = self.match
        ok = True
        if "nth" in m:
            ok = ok and n in m["nth"]
        if "from" in m:
            ok = ok and m["from"] <= n < m["from"] + m.get("count", 1 << 62)
        if "every" in m:
            ok = ok and n % m["every"] == m.get("offset", 0)
        if "text_contains" in m:
            ok = ok and any(m["text_contains"] in t for t in texts)
        if ok and "probability" in m:
            ok = rng.random() < m["probability"]
        return ok


def _load_script(script):
    if script is None:
        return []
    if isinstance(script, str):
        with open(script) as f:
            script = json.load(f)
    if isinstance(script, dict):
        script = script.get("rules", [])
    return [Rule(r) for r in script]


class FakeOpenAI:
    """The server; start()/stop() or use as a context manager."""

    def __init__(self, dim=64, api_key=None, latency_ms=0, max_in_flight=None,
                 cap_retry_after=None, script=None, seed=0, log_path=None, log_texts=True,
                 honour_dimensions=True, host="127.0.0.1", port=0):
        self.dim = dim
        self.api_key = api_key
        self.latency_ms = latency_ms
        self.max_in_flight = max_in_flight
        self.cap_retry_after = cap_retry_after
        self.log_texts = log_texts
        self.honour_dimensions = honour_dimensions
        self._rules = _load_script(script)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._seq = 0
        self._active = 0
        self._busy = 0  # handlers inside do_POST (their record is not logged yet)
        self._log = []
        self._log_file = open(log_path, "a") if log_path else None
        self._httpd = _Server((host, port), _Handler)
        self._httpd.fake = self
        self._thread = None

    # --- lifecycle -----------------------------------------------------------

    @property
    def port(self):
        return self._httpd.server_address[1]

    @property
    def url(self):
        """OpenAI base_url: requests go to {url}/embeddings."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def endpoint(self):
        """Azure endpoint: requests go to {endpoint}/openai/deployments/..."""
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- configuration at run time --------------------------------------------

    def set_script(self, script, seed=None):
        with self._lock:
            self._rules = _load_script(script)
            if seed is not None:
                self._rng = random.Random(seed)

    def reset(self):
        """Clears the log and the request counter."""
        with self._lock:
            self._log = []
            self._seq = 0

    @property
    def log(self):
        """Finished requests. A client can see its response a moment before the
        record lands: call wait_idle() first for a complete log."""
        with self._lock:
            return list(self._log)

    def wait_idle(self, timeout=10.0):
        """Waits until no request is being handled; returns the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._busy == 0:
                    return list(self._log)
            time.sleep(0.01)
        raise TimeoutError("fake server still busy")

    # --- request handling (called from handler threads) -------------------------

    def _admit(self, texts):
        """Numbers the request and decides: (n, in_flight, admitted, action)."""
        with self._lock:
            self._seq += 1
            n = self._seq
            if self.max_in_flight is not None and self._active >= self.max_in_flight:
                return n, self._active + 1, False, None
            self._active += 1
            action = None
            for rule in self._rules:
                if rule.matches(n, texts, self._rng):
                    rule.fired += 1
                    action = rule.action
                    break
            return n, self._active, True, action

    def _release(self):
        with self._lock:
            self._active -= 1

    def _record(self, rec):
        with self._lock:
            self._log.append(rec)
            if self._log_file:
                self._log_file.write(json.dumps(rec) + "\n")
                self._log_file.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True


def _openai_error(message, kind, code=None):
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOpenAI/1.0"
    # Headers and body go out in two writes: with Nagle on, the body would
    # wait for the client's delayed ACK (~40 ms), distorting latency.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # quiet: the request log is the record
        pass

    # --- helpers ---------------------------------------------------------------

    def _send(self, status, body, headers=None, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(data)
        return True

    def _client_gone(self):
        """True when the client closed its end (EOF readable) while we worked."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _drop(self, how, status_line_body=None):
        self.close_connection = True
        try:
            if how == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            elif how == "partial" and status_line_body is not None:
                data = json.dumps(status_line_body).encode()
                head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(data)}\r\n\r\n").encode()
                self.wfile.write(head + data[: len(data) // 2])
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if how == "reset":
            try:
                self.connection.close()
            except OSError:
                pass

    def do_GET(self):
        if urlsplit(self.path).path.rstrip("/").endswith("/health"):
            self._send(200, {"status": "ok"})
        else:
            self._send(404, _openai_error("not found", "invalid_request_error"))

    def do_POST(self):
        fake = self.server.fake
        with fake._lock:
            fake._busy += 1
        try:
            self._post(fake)
        finally:
            with fake._lock:
                fake._busy -= 1

    def _post(self, fake):
        start = time.monotonic()
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/")
        rec = {"n": None, "path": path, "start": start, "end": None, "in_flight": None,
               "status": None, "outcome": None, "delivered": False, "n_inputs": 0, "texts": [],
               "model": None, "admitted": False, "valid": False,
               "client_port": self.client_address[1]}
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            self._send(413, _openai_error("body too large", "invalid_request_error"))
            return
        raw = self.rfile.read(length) if length else b""

        azure = path.startswith("/openai/deployments/")
        if not path.endswith("/embeddings"):
            rec.update(status=404, outcome="not_found", end=time.monotonic())
            fake._record(rec)
            self._send(404, _openai_error("unknown path " + path, "invalid_request_error"))
            return
        if azure:
            rec["deployment"] = path.split("/")[3]
            rec["api_version"] = parse_qs(parts.query).get("api-version", [None])[0]

        # Parse the body (a 400 for anything OpenAI would refuse).
        texts, model, fmt, want_dim, problem = [], None, "float", fake.dim, None
        try:
            body = json.loads(raw)
            inp = body.get("input")
            model = body.get("model")
            fmt = body.get("encoding_format") or "float"
            if isinstance(inp, str):
                texts = [inp]
            elif isinstance(inp, list) and inp and all(isinstance(t, str) for t in inp):
                texts = inp
            else:
                problem = "input must be a string or a non-empty list of strings"
            if fake.honour_dimensions and body.get("dimensions") is not None:
                want_dim = int(body["dimensions"])
            if not azure and not model:
                problem = problem or "model is required"
            if fmt not in ("float", "base64"):
                problem = problem or "encoding_format must be float or base64"
        except (ValueError, AttributeError, TypeError):
            problem = "body is not valid JSON"
        if azure and not rec["api_version"]:
            problem = problem or "api-version query parameter is required"
        rec["model"] = model
        rec["encoding_format"] = fmt
        rec["n_inputs"] = len(texts)
        rec["texts"] = texts if fake.log_texts else [text_hash(t) for t in texts]

        # Authentication before anything else.
        if fake.api_key is not None:
            if azure:
                ok = self.headers.get("api-key") == fake.api_key
            else:
                ok = self.headers.get("Authorization") == "Bearer " + fake.api_key
            if not ok:
                rec.update(status=401, outcome="auth", end=time.monotonic())
                fake._record(rec)
                self._send(401, _openai_error("Incorrect API key provided", "invalid_request_error",
                                              "invalid_api_key"))
                return

        n, in_flight, admitted, action = fake._admit(texts)
        rec.update(n=n, in_flight=in_flight, admitted=admitted)
        if not admitted:
            headers = {}
            if fake.cap_retry_after is not None:
                headers["Retry-After"] = fake.cap_retry_after
            rec.update(status=429, outcome="cap", end=time.monotonic(), retry_after=headers.get(
                "Retry-After"))
            fake._record(rec)
            try:
                self._send(429, _openai_error("Rate limit reached", "rate_limit_exceeded",
                                              "rate_limit_exceeded"), headers)
            except OSError:
                pass
            return
        try:
            self._serve(fake, rec, texts, model, fmt, want_dim, problem, action or {})
        finally:
            fake._release()
            rec["end"] = time.monotonic()
            fake._record(rec)

    def _serve(self, fake, rec, texts, model, fmt, want_dim, problem, action):
        if fake.latency_ms:
            time.sleep(fake.latency_ms / 1000.0)
        try:
            if "drop" in action:
                rec.update(status=None, outcome="fault:drop_" + action["drop"])
                self._drop(action["drop"], self._payload(texts, model, fmt, want_dim, {}))
                return
            if "status" in action:
                headers = dict(action.get("headers", {}))
                if "retry_after" in action:
                    headers["Retry-After"] = action["retry_after"]
                if "retry_after_date" in action:
                    when = time.time() + action["retry_after_date"]
                    headers["Retry-After"] = email.utils.formatdate(when, usegmt=True)
                    rec["retry_at_wall"] = math.floor(when)
                    rec["retry_at"] = time.monotonic() + (math.floor(when) - time.time())
                rec.update(status=action["status"], outcome=f"fault:{action['status']}",
                           retry_after=headers.get("Retry-After"))
                kind = "rate_limit_exceeded" if action["status"] == 429 else "server_error"
                if action["status"] < 500 and action["status"] != 429:
                    kind = "invalid_request_error"
                rec["delivered"] = self._send(action["status"],
                                              _openai_error("injected fault", kind), headers)
                return
            if "slow" in action:
                time.sleep(action["slow"])
                rec["outcome"] = "fault:slow"
            if problem:
                rec.update(status=400, outcome="bad_request")
                rec["delivered"] = self._send(400, _openai_error(problem, "invalid_request_error"))
                return
            if action.get("malformed"):
                rec.update(status=200, outcome="fault:malformed")
                rec["delivered"] = self._send(200, b'{"object": "list", "data": [{"embedd')
                return
            payload = self._payload(texts, model, fmt, want_dim, action)
            if rec["outcome"] is None:
                rec["outcome"] = "ok"
            for kind in ("wrong_dimension", "wrong_count"):
                if kind in action:
                    rec["outcome"] = "fault:" + kind
            rec["valid"] = not rec["outcome"].startswith("fault:wrong")
            rec["status"] = 200
            if self._client_gone():  # e.g. it timed out during a slow answer
                self.close_connection = True
                return
            rec["delivered"] = self._send(200, payload)
        except OSError:
            rec["delivered"] = False
            self.close_connection = True

    @staticmethod
    def _payload(texts, model, fmt, dim, action):
        dim = dim + action.get("wrong_dimension", 0)
        items = []
        for i, t in enumerate(texts):
            v = expected_vector(t, dim)
            if fmt == "base64":
                emb = base64.b64encode(array.array("f", v).tobytes()).decode()
            else:
                emb = v
            items.append({"object": "embedding", "index": i, "embedding": emb})
        delta = action.get("wrong_count", 0)
        if delta < 0:
            items = items[:delta]
        elif delta > 0:
            items += items[:delta]
        if action.get("shuffle"):
            items.reverse()
        tokens = sum(max(1, len(t) // 4) for t in texts)
        return {"object": "list", "data": items, "model": model or "fake-embedding",
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


# --- log analysis helpers shared by tests and bench/remote ----------------------


def delivered_ok_twice(log):
    """Texts sent again after a delivered 200 had embedded them (must be empty).

    A retried sub-batch after a 429/5xx/timeout legitimately resends its texts;
    a text whose vector the client already received must never be sent again.
    """
    first_ok = {}  # text -> the first record that delivered its vector
    for rec in sorted(log, key=lambda r: r["end"] or r["start"]):
        if rec["valid"] and rec["delivered"]:
            for t in rec["texts"]:
                first_ok.setdefault(t, rec)
    bad = set()
    for rec in log:
        for t in rec["texts"]:
            ok = first_ok.get(t)
            if ok is not None and rec is not ok and (
                    rec["start"] >= ok["end"] or (rec["valid"] and rec["delivered"])):
                bad.add(t)
    return bad


def time_weighted_in_flight(log, t0, t1):
    """Average number of admitted requests being served over [t0, t1]."""
    if t1 <= t0:
        return 0.0
    busy = 0.0
    for rec in log:
        if not rec["admitted"] or rec["end"] is None:
            continue
        a, b = max(rec["start"], t0), min(rec["end"], t1)
        if b > a:
            busy += b - a
    return busy / (t1 - t0)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", help="write the bound port here once listening")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--api-key")
    p.add_argument("--latency-ms", type=float, default=0)
    p.add_argument("--max-in-flight", type=int)
    p.add_argument("--cap-retry-after", help="Retry-After value on cap 429s")
    p.add_argument("--script", help="JSON file: a list of rules or {\"rules\": [...]}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log", help="append the request log here as JSON lines")
    p.add_argument("--hash-texts", action="store_true", help="log SHA-256 of texts, not texts")
    args = p.parse_args(argv)
    srv = FakeOpenAI(dim=args.dim, api_key=args.api_key, latency_ms=args.latency_ms,
                     max_in_flight=args.max_in_flight, cap_retry_after=args.cap_retry_after,
                     script=args.script, seed=args.seed, log_path=args.log,
                     log_texts=not args.hash_texts, host=args.host, port=args.port)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(srv.port))
        os.replace(tmp, args.port_file)
    print(f"listening port={srv.port}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    srv.start()
    stop.wait()
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
