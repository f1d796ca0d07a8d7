"""Self-tests of tests/tools/fake_openai_server.py: the server the remote tests rely on."""
import array
import base64
import concurrent.futures as cf
import email.utils
import http.client
import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

TOOLS = os.path.join(os.path.dirname(__file__), "..", "tools")
sys.path.insert(0, TOOLS)
from fake_openai_server import (FakeOpenAI, delivered_ok_twice, expected_vector,  # noqa: E402
                                text_hash, time_weighted_in_flight)


def embed(srv, texts, session=None, key=None, timeout=10, **extra):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"model": "m", "input": texts, **extra}
    return (session or requests).post(srv.url + "/embeddings", json=body, headers=headers,
                                      timeout=timeout)


def test_expected_vector_is_deterministic_normalized_float32():
    a = expected_vector("hello world", 64)
    assert a == expected_vector("hello world", 64)
    assert a != expected_vector("hello world!", 64)
    assert len(a) == 64 and len(expected_vector("x", 7)) == 7
    assert abs(math.sqrt(sum(v * v for v in a)) - 1.0) < 1e-6
    assert list(array.array("f", a)) == a  # already float32 values
    assert expected_vector("", 8) == expected_vector("", 8)


def test_answers_in_openai_format_float_and_base64():
    with FakeOpenAI(dim=16) as srv:
        texts = ["alpha", "beta gamma", "δέλτα"]
        r = embed(srv, texts)
        assert r.status_code == 200
        body = r.json()
        assert body["object"] == "list" and body["model"] == "m"
        assert [d["index"] for d in body["data"]] == [0, 1, 2]
        for d, t in zip(body["data"], texts):
            assert d["embedding"] == expected_vector(t, 16)
        assert body["usage"]["prompt_tokens"] > 0
        assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"]

        r = embed(srv, "single", encoding_format="base64")
        raw = base64.b64decode(r.json()["data"][0]["embedding"])
        assert list(array.array("f", raw)) == expected_vector("single", 16)

        r = embed(srv, ["x"], dimensions=8)
        assert r.json()["data"][0]["embedding"] == expected_vector("x", 8)

        assert embed(srv, []).status_code == 400
        assert embed(srv, [1, 2]).status_code == 400
        r = requests.post(srv.url + "/embeddings", data=b"{nope", timeout=5)
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
        log = srv.wait_idle()
        assert [rec["outcome"] for rec in log] == ["ok", "ok", "ok", "bad_request",
                                                   "bad_request", "bad_request"]
        assert log[0]["texts"] == texts and log[0]["n_inputs"] == 3


def test_every_response_has_content_length_and_keeps_the_connection():
    with FakeOpenAI(dim=4, script=[{"match": {"nth": [2]}, "action": {"status": 503}}]) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
        statuses = []
        for _ in range(3):
            conn.request("POST", "/v1/embeddings", body=json.dumps({"model": "m", "input": "a"}),
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            assert resp.getheader("Content-Length") is not None
            assert resp.version == 11
            resp.read()
            statuses.append(resp.status)
        conn.close()
        assert statuses == [200, 503, 200]
        assert len({rec["client_port"] for rec in srv.wait_idle()}) == 1  # one connection reused


def test_authentication_openai_and_azure():
    with FakeOpenAI(dim=4, api_key="sk-test") as srv:
        assert embed(srv, ["a"]).status_code == 401
        assert embed(srv, ["a"], key="wrong").status_code == 401
        assert embed(srv, ["a"], key="sk-test").status_code == 200
        az = srv.endpoint + "/openai/deployments/dep1/embeddings"
        r = requests.post(az, params={"api-version": "2024-02-01"}, json={"input": ["a"]},
                          headers={"api-key": "sk-test"}, timeout=5)
        assert r.status_code == 200
        assert r.json()["data"][0]["embedding"] == expected_vector("a", 4)
        r = requests.post(az, params={"api-version": "2024-02-01"}, json={"input": ["a"]},
                          headers={"Authorization": "Bearer sk-test"}, timeout=5)
        assert r.status_code == 401
        r = requests.post(az, json={"input": ["a"]}, headers={"api-key": "sk-test"}, timeout=5)
        assert r.status_code == 400
        log = srv.wait_idle()
        assert [rec["outcome"] for rec in log] == ["auth", "auth", "ok", "ok", "auth",
                                                   "bad_request"]
        assert log[3]["deployment"] == "dep1" and log[3]["api_version"] == "2024-02-01"


def test_in_flight_cap_answers_429_at_once():
    # Long latency: the five requests overlap even on a loaded machine, and
    # "at once" (429) stays clearly apart from "after the latency" (200).
    with FakeOpenAI(dim=4, latency_ms=1500, max_in_flight=2, cap_retry_after=1) as srv:
        with cf.ThreadPoolExecutor(5) as pool:
            futures = [pool.submit(embed, srv, [f"t{i}"]) for i in range(5)]
            time.sleep(0.1)
            rs = [f.result() for f in futures]
        codes = sorted(r.status_code for r in rs)
        assert codes == [200, 200, 429, 429, 429]
        for r in rs:
            if r.status_code == 429:
                assert r.headers["Retry-After"] == "1"
                assert r.elapsed.total_seconds() < 1.0
        log = srv.wait_idle()
        caps = [rec for rec in log if rec["outcome"] == "cap"]
        assert len(caps) == 3 and all(rec["in_flight"] == 3 for rec in caps)
        oks = [rec for rec in log if rec["outcome"] == "ok"]
        assert sorted(rec["in_flight"] for rec in oks) == [1, 2]
        t0 = min(rec["start"] for rec in oks)
        t1 = max(rec["end"] for rec in oks)
        assert 1.5 < time_weighted_in_flight(log, t0, t1) <= 2.0


def test_scripted_statuses_bursts_and_retry_after_forms():
    script = [
        {"match": {"nth": [1]}, "action": {"status": 429, "retry_after": 2}},
        {"match": {"nth": [2]}, "action": {"status": 429, "retry_after_date": 3}},
        {"match": {"from": 3, "count": 3}, "action": {"status": 500}},
        {"match": {"nth": [7]}, "action": {"status": 401}},
        {"match": {"text_contains": "poison"}, "action": {"status": 400}, "limit": 1},
    ]
    with FakeOpenAI(dim=4, script=script) as srv:
        s = requests.Session()
        r1 = embed(srv, ["a"], s)
        assert r1.status_code == 429 and r1.headers["Retry-After"] == "2"
        r2 = embed(srv, ["a"], s)
        assert r2.status_code == 429
        when = email.utils.parsedate_to_datetime(r2.headers["Retry-After"]).timestamp()
        assert 1.5 < when - time.time() <= 3.0
        assert [embed(srv, ["a"], s).status_code for _ in range(4)] == [500, 500, 500, 200]
        assert embed(srv, ["a"], s).status_code == 401
        assert embed(srv, ["x", "poison pill"], s).status_code == 400
        assert embed(srv, ["x", "poison pill"], s).status_code == 200  # limit 1
        assert [rec["n"] for rec in srv.wait_idle()] == list(range(1, 10))
        srv.set_script([])
        srv.reset()
        assert embed(srv, ["a"], s).status_code == 200 and srv.wait_idle()[0]["n"] == 1


def test_malformed_wrong_dimension_wrong_count_and_shuffle():
    script = [
        {"match": {"nth": [1]}, "action": {"malformed": True}},
        {"match": {"nth": [2]}, "action": {"wrong_dimension": 3}},
        {"match": {"nth": [3]}, "action": {"wrong_count": -1}},
        {"match": {"nth": [4]}, "action": {"shuffle": True}},
    ]
    with FakeOpenAI(dim=8, script=script) as srv:
        texts = ["a", "b", "c"]
        r = embed(srv, texts)
        assert r.status_code == 200
        with pytest.raises(ValueError):
            r.json()
        assert {len(d["embedding"]) for d in embed(srv, texts).json()["data"]} == {11}
        assert len(embed(srv, texts).json()["data"]) == 2
        data = embed(srv, texts).json()["data"]
        assert [d["index"] for d in data] == [2, 1, 0]
        assert all(d["embedding"] == expected_vector(texts[d["index"]], 8) for d in data)
        assert [rec["outcome"] for rec in srv.wait_idle()] == [
            "fault:malformed", "fault:wrong_dimension", "fault:wrong_count", "ok"]


def test_dropped_connections_and_slow_answers():
    script = [
        {"match": {"nth": [1]}, "action": {"drop": "close"}},
        {"match": {"nth": [2]}, "action": {"drop": "reset"}},
        {"match": {"nth": [3]}, "action": {"drop": "partial"}},
        {"match": {"nth": [4]}, "action": {"slow": 1.0}},
        {"match": {"nth": [5]}, "action": {"slow": 0.2}},
    ]
    with FakeOpenAI(dim=8, script=script) as srv:
        for _ in range(2):
            with pytest.raises(requests.exceptions.ConnectionError):
                embed(srv, ["a" * 4000, "b" * 4000])
        # urllib3 1.x does not check Content-Length; http.client does.
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
        conn.request("POST", "/v1/embeddings", body=json.dumps({"model": "m", "input": ["a"]}))
        resp = conn.getresponse()
        assert resp.status == 200
        with pytest.raises(http.client.IncompleteRead):
            resp.read()
        conn.close()
        with pytest.raises(requests.exceptions.Timeout):
            embed(srv, ["slow"], timeout=0.3)
        r = embed(srv, ["slow but in time"], timeout=5)
        assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.2
        by_n = {rec["n"]: rec for rec in srv.wait_idle()}
        assert by_n[1]["outcome"] == "fault:drop_close" and not by_n[1]["delivered"]
        assert by_n[2]["outcome"] == "fault:drop_reset"
        assert by_n[3]["outcome"] == "fault:drop_partial" and not by_n[3]["delivered"]
        assert by_n[4]["outcome"] == "fault:slow" and not by_n[4]["delivered"]
        assert by_n[5]["outcome"] == "fault:slow" and by_n[5]["delivered"]


def test_probability_faults_are_reproducible_with_a_seed():
    def outcomes(seed):
        script = [{"match": {"probability": 0.5}, "action": {"status": 503}}]
        with FakeOpenAI(dim=4, script=script, seed=seed) as srv:
            s = requests.Session()
            return [embed(srv, ["a"], s).status_code for _ in range(30)]
    a, b, c = outcomes(7), outcomes(7), outcomes(8)
    assert a == b and a != c
    assert 5 < a.count(503) < 25


def test_log_helpers():
    def rec(n, start, end, texts, outcome="ok", delivered=True):
        return {"n": n, "start": start, "end": end, "texts": texts, "outcome": outcome,
                "delivered": delivered, "admitted": True,
                "valid": outcome in ("ok", "fault:slow")}
    clean = [rec(1, 0, 1, ["a", "b"], "fault:500", True), rec(2, 1, 2, ["a", "b"]),
             rec(3, 0, 3, ["c"]), rec(4, 3, 4, ["d"], "ok", False), rec(5, 4, 5, ["d"])]
    assert delivered_ok_twice(clean) == set()
    assert delivered_ok_twice(clean + [rec(6, 6, 7, ["b", "e"], "fault:429")]) == {"b"}
    assert delivered_ok_twice(clean + [rec(6, 1.5, 2.5, ["c"])]) == {"c"}
    # 500 with a delivered body is not an embedding: "a" may follow; a slow 200 is one.
    assert delivered_ok_twice(clean + [rec(6, 6, 7, ["f"], "fault:slow"),
                                       rec(7, 8, 9, ["f"])]) == {"f"}
    assert time_weighted_in_flight(clean, 0, 4) == pytest.approx((1 + 1 + 3 + 1) / 4)
    assert time_weighted_in_flight(clean + [dict(rec(6, 0, 4, ["x"], "cap"), admitted=False)],
                                   0, 4) == pytest.approx(6 / 4)


def test_cli_writes_port_file_and_json_log(tmp_path):
    port_file, log = tmp_path / "port", tmp_path / "log.jsonl"
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"rules": [{"match": {"nth": [1]},
                                             "action": {"status": 429, "retry_after": 1}}]}))
    proc = subprocess.Popen([sys.executable, os.path.join(TOOLS, "fake_openai_server.py"),
                             "--dim", "5", "--api-key", "k", "--script", str(script),
                             "--port-file", str(port_file), "--log", str(log), "--hash-texts"],
                            stdout=subprocess.PIPE)
    try:
        deadline = time.time() + 10
        while not port_file.exists() and time.time() < deadline:
            time.sleep(0.02)
        port = int(port_file.read_text())
        url = f"http://127.0.0.1:{port}/v1/embeddings"
        body = {"model": "m", "input": ["hi"]}
        hdr = {"Authorization": "Bearer k"}
        assert requests.post(url, json=body, headers=hdr, timeout=5).status_code == 429
        r = requests.post(url, json=body, headers=hdr, timeout=5)
        assert r.json()["data"][0]["embedding"] == expected_vector("hi", 5)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert proc.stdout.read().decode().startswith(f"listening port={port}")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(x["status"], x["outcome"]) for x in lines] == [(429, "fault:429"), (200, "ok")]
    assert lines[1]["texts"] == [text_hash("hi")]
