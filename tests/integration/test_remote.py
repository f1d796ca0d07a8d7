"""Remote embedding providers through the real binary, against a fault-injecting
OpenAI-compatible server on loopback (tests/tools/fake_openai_server.py).

Every test checks, from ragpdf's own database and exported blobs and from the
fake server's request log: each file ends completed or with the right error
code (none left in_progress); stored vectors are exactly the fake server's
deterministic ones; no chunk is missing; no text whose vector was delivered
is ever sent again.
"""
import array
import collections
import json
import os
import re
import sqlite3
import sys

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from fake_openai_server import (FakeOpenAI, delivered_ok_twice, expected_vector,  # noqa: E402
                                time_weighted_in_flight)
from ragpdf_client import Server, lorem_page, make_pdf, sha256  # noqa: E402

MODEL = "remote-fake"
DIM = 48
KEY = "sk-fake-test-key"
KEY_ENV = "RAGPDF_TEST_REMOTE_KEY"
TAG_RE = re.compile(r"zz(\d\d)(?!\d)")

# Small limits so that faults cost little time; each test may override.
BASE_MODEL = {
    "provider": "openai",
    "model": "fake-embed",
    "api_key_env": KEY_ENV,
    "dimensions": DIM,
    "max_tokens": 512,
    "max_inputs_per_request": 4,
    "timeout_s": 5,
    "min_concurrency": 1,
    "max_concurrency": 8,
    "retry_budget": 40,
    "max_retries_per_batch": 10,
    "latency_target_ms": 2000,
    "backoff_base_ms": 20,
    "backoff_max_ms": 400,
}


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(v)


def write_config(path, models, server=None):
    lines = ["[server]"]
    for k, v in (server or {}).items():
        lines.append(f"{k} = {toml_value(v)}")
    for m in models:
        lines.append("[[models]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in m.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def ragpdf(tmp_path):
    """start(fake_url_or_None, **model_keys) -> a running Server using that model."""
    started = []

    def start(base_url=None, models=None, chunk_tokens=48, tasks=8, env=None, **keys):
        if models is None:
            models = [dict({"name": MODEL}, **dict(BASE_MODEL, base_url=base_url, **keys))]
        n = len(started)
        cfg = write_config(tmp_path / f"ragpdf-{n}.toml", models,
                           {"max_concurrent_tasks": tasks, "log_level": "info"})
        s = Server(data_dir=str(tmp_path / f"data-{n}"),
                   extra_args=["--config", cfg, "--chunk-tokens", str(chunk_tokens)],
                   env=dict({KEY_ENV: KEY}, **(env or {})))
        started.append(s)
        return s.start()

    yield start
    for s in started:
        s.stop()


def doc(index, pages=2, sentences=24):
    """A PDF whose every word ends with the file's tag zz<index> (so any chunk
    and any request can be traced to its file) and whose lines have unique ids."""
    tag = f"zz{index:02d}"
    out = []
    for p in range(pages):
        words = [w + tag for w in lorem_page(1000 + index * 37 + p, sentences).split()]
        lines = [words[i:i + 7] for i in range(0, len(words), 7)]  # short: never clipped
        out.append("\n".join(" ".join([f"p{p}l{i}{tag}"] + line) for i, line in enumerate(lines)))
    return tag, (f"{tag}.pdf", make_pdf(out))


def tag_of(text):
    tags = set(TAG_RE.findall(text))
    assert len(tags) == 1, f"chunk with tags {tags}: {text[:80]!r}"
    return "zz" + tags.pop()


def upload(server, files, timeout=120):
    """Uploads all files in one request; returns {filename: entry}. Nothing may hang."""
    r = server.upload(files, model_choice=MODEL, timeout=timeout)
    assert r.status_code == 200, r.text
    by_name = {f["filename"]: f for f in r.json()["files"]}
    assert len(by_name) == len(files)
    for f in by_name.values():
        assert f["status"] in ("ready_for_chat", "completed", "error"), f
    return by_name


def assert_outcomes(server, by_name, expected):
    """expected: {filename: None (must complete) or an error code}."""
    for name, code in expected.items():
        f = by_name[name]
        if code is None:
            assert f["status"] in ("ready_for_chat", "completed"), f
            server.wait_status(f["file_id"], ("completed",), timeout=30, model_choice=MODEL)
        else:
            assert f["status"] == "error", f
            assert f["error"]["code"] == code, f
            st = server.status(f["file_id"], model_choice=MODEL).json()
            assert st["status"] == "error", st


def db(server):
    return sqlite3.connect(f"file:{os.path.join(server.data_dir, 'ragpdf.db')}?mode=ro", uri=True)


def stored(server, file_id, model=MODEL):
    """(chunk texts in chunk order, vectors as lists) from ragpdf's database."""
    con = db(server)
    try:
        texts = [r[0] for r in con.execute(
            "SELECT text FROM chunks WHERE file_id = ? AND model = ? ORDER BY chunk_index",
            (file_id, model))]
        row = con.execute("SELECT dimension, count, data FROM vectors WHERE file_id = ? AND "
                          "model = ?", (file_id, model)).fetchone()
    finally:
        con.close()
    if row is None:
        return texts, None
    dim, count, data = row
    assert count == len(texts) and len(data) == 4 * count * dim, (dim, count, len(data))
    values = array.array("f")
    values.frombytes(data)
    if sys.byteorder != "little":
        values.byteswap()
    return texts, [list(values[i * dim:(i + 1) * dim]) for i in range(count)]


def exported(server, file_id, model=MODEL):
    base = os.path.join(server.data_dir, "blobs", "embeddings", file_id, model + ".f32")
    with open(base, "rb") as f:
        data = f.read()
    with open(base + ".json") as f:
        meta = json.load(f)
    return data, meta


def max_diff(a, b):
    assert len(a) == len(b), (len(a), len(b))
    return max(abs(x - y) for x, y in zip(a, b))


def assert_exact_vectors(server, file_id, dim=DIM):
    """Stored and exported vectors equal expected_vector(chunk text); returns the texts."""
    texts, vectors = stored(server, file_id)
    assert texts and vectors is not None and len(vectors) == len(texts)
    for i, (t, v) in enumerate(zip(texts, vectors)):
        assert len(v) == dim
        assert max_diff(v, expected_vector(t, dim)) <= 1e-6, f"chunk {i} of {file_id}"
    data, meta = exported(server, file_id)
    assert meta["dimension"] == dim and meta["count"] == len(texts)
    assert meta["dtype"] == "float32" and meta["byte_order"] == "little"
    values = array.array("f")
    values.frombytes(data)
    assert len(values) == dim * len(texts)
    assert max_diff(values, [x for v in vectors for x in v]) == 0
    return texts


def assert_nothing_stored(server, file_id):
    texts, vectors = stored(server, file_id)
    assert texts == [] and vectors is None


def assert_embedded_exactly_once(log, texts):
    """Each stored chunk got its vector in exactly one delivered 200, and no text
    whose vector was delivered was sent again."""
    delivered = collections.Counter(
        t for rec in log if rec["valid"] and rec["delivered"] for t in rec["texts"])
    missing = [t for t in texts if delivered[t] == 0]
    twice = [t for t in texts if delivered[t] > 1]
    assert not missing, f"{len(missing)} chunks never embedded, e.g. {missing[0][:60]!r}"
    assert not twice, f"{len(twice)} chunks embedded twice, e.g. {twice[0][:60]!r}"
    again = delivered_ok_twice(log)
    assert not again, f"{len(again)} texts resent after a delivered 200"


def requests_for(log, tag):
    return [rec for rec in log if rec["texts"] and tag_of(rec["texts"][0]) == tag]


def retries_for(log, tag):
    """(retries, most attempts of one sub-batch) for the file tagged `tag`."""
    recs = requests_for(log, tag)
    attempts = collections.Counter(tuple(rec["texts"]) for rec in recs)
    return len(recs) - len(attempts), max(attempts.values(), default=0)


def metric_sum(server, name, required=False, **labels):
    """Sum over the series of `name` whose labels include `labels` (0 if none;
    with required=True the series must exist)."""
    text = requests.get(server.url + "/metrics", timeout=10).text
    total, seen = 0.0, False
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        series, value = line.rsplit(" ", 1)
        if all(f'{k}="{v}"' in series for k, v in labels.items()):
            total += float(value)
            seen = True
    assert seen or not required, f"no series {name} {labels} in /metrics"
    return total


def check_clean_files(server, by_name, log, names):
    """All `names` completed with exact vectors, each chunk embedded exactly once."""
    all_texts = []
    for name in names:
        texts = assert_exact_vectors(server, by_name[name]["file_id"])
        assert {tag_of(t) for t in texts} == {name[:-4]}
        all_texts += texts
    assert len(set(all_texts)) == len(all_texts)
    assert_embedded_exactly_once(log, all_texts)
    return all_texts


# --- tests --------------------------------------------------------------------


def test_clean_run_stores_exact_vectors(ragpdf):
    with FakeOpenAI(dim=DIM, api_key=KEY) as fake:
        server = ragpdf(fake.url)
        docs = [doc(i) for i in range(3)]
        by_name = upload(server, [f for _, f in docs])
        assert_outcomes(server, by_name, {f[0]: None for _, f in docs})
        log = fake.wait_idle()
        texts = check_clean_files(server, by_name, log, [f[0] for _, f in docs])
        assert all(rec["outcome"] == "ok" for rec in log)
        assert all(1 <= rec["n_inputs"] <= 4 for rec in log)
        assert all(rec["model"] == "fake-embed" for rec in log)
        assert sum(rec["n_inputs"] for rec in log) == len(texts)
        assert metric_sum(server, "ragpdf_remote_requests_total", model=MODEL) == len(log)
        assert metric_sum(server, "ragpdf_remote_in_flight", required=True, model=MODEL) == 0
        limit = metric_sum(server, "ragpdf_remote_concurrency_limit", required=True, model=MODEL)
        assert 1 <= limit <= 8
        # The API key never reaches the log.
        assert KEY not in server.read_log()


def test_base64_encoding_format(ragpdf):
    with FakeOpenAI(dim=DIM, api_key=KEY) as fake:
        server = ragpdf(fake.url, encoding_format="base64")
        _, f = doc(2, pages=1)
        by_name = upload(server, [f])
        assert_outcomes(server, by_name, {f[0]: None})
        log = fake.wait_idle()
        check_clean_files(server, by_name, log, [f[0]])
        assert log and all(rec["encoding_format"] == "base64" for rec in log)


def estimated_tokens(text):
    return -(-len(text.encode()) // 3)  # ragpdf's estimate for remote models: bytes / 3


def test_token_limits_per_request_and_per_minute(ragpdf):
    tpm = 60000  # 1000 estimated tokens per second, 1 s of burst
    with FakeOpenAI(dim=DIM, api_key=KEY) as fake:
        server = ragpdf(fake.url, max_inputs_per_request=64, max_tokens_per_request=200,
                        tokens_per_minute=tpm)
        _, f = doc(3, pages=2)
        by_name = upload(server, [f])
        assert_outcomes(server, by_name, {f[0]: None})
        log = sorted(fake.wait_idle(), key=lambda r: r["start"])
        check_clean_files(server, by_name, log, [f[0]])
        sizes = [sum(estimated_tokens(t) for t in rec["texts"]) for rec in log]
        assert all(n <= 200 or rec["n_inputs"] == 1 for n, rec in zip(sizes, log))
        assert max(rec["n_inputs"] for rec in log) > 1  # requests were batched
        total = sum(sizes)
        assert total > 2 * tpm / 60, total  # enough to outlast the burst
        span = log[-1]["start"] - log[0]["start"]
        assert span >= 0.8 * (total - sizes[-1] - tpm / 60) / (tpm / 60), (span, total)


def test_azure_openai_provider(ragpdf):
    with FakeOpenAI(dim=DIM, api_key=KEY) as fake:
        model = dict({"name": MODEL}, **BASE_MODEL)
        del model["model"]
        model.update(provider="azure-openai", endpoint=fake.endpoint, deployment="emb-dep",
                     api_version="2024-02-01")
        server = ragpdf(models=[model])
        _, f = doc(1)
        by_name = upload(server, [f])
        assert_outcomes(server, by_name, {f[0]: None})
        log = fake.wait_idle()
        check_clean_files(server, by_name, log, [f[0]])
        assert log and all(rec["deployment"] == "emb-dep" and rec["api_version"] == "2024-02-01"
                           and rec["outcome"] == "ok" for rec in log)


def test_429_without_retry_after_resends_only_the_refused_sub_batches(ragpdf):
    script = [{"match": {"probability": 0.3}, "action": {"status": 429}, "limit": 25}]
    with FakeOpenAI(dim=DIM, api_key=KEY, script=script, seed=4) as fake:
        server = ragpdf(fake.url)
        docs = [doc(i) for i in range(4)]
        by_name = upload(server, [f for _, f in docs])
        assert_outcomes(server, by_name, {f[0]: None for _, f in docs})
        log = fake.wait_idle()
        check_clean_files(server, by_name, log, [f[0] for _, f in docs])
        refused = [rec for rec in log if rec["status"] == 429]
        assert len(refused) >= 10
        # Every refusal was retried, and counted.
        assert metric_sum(server, "ragpdf_remote_retries_total", model=MODEL) == len(refused)
        assert metric_sum(server, "ragpdf_remote_requests_total", model=MODEL,
                          status="429") == len(refused)


def test_retry_after_is_honoured(ragpdf):
    """Fixed concurrency 1: the request after a 429 is its retry; measure the gap."""
    hint = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"}
    script = [
        {"match": {"nth": [2]}, "action": {"status": 429, "retry_after": 1}},
        {"match": {"nth": [5]}, "action": {"status": 429, "retry_after_date": 2}},
        {"match": {"nth": [8]}, "action": {"status": 429, "headers": hint}},
        {"match": {"nth": [11]}, "action": {"status": 503, "retry_after": 1}},
    ]
    with FakeOpenAI(dim=DIM, api_key=KEY, script=script) as fake:
        server = ragpdf(fake.url, min_concurrency=1, max_concurrency=1)
        _, f = doc(5, pages=3)
        by_name = upload(server, [f])
        assert_outcomes(server, by_name, {f[0]: None})
        log = sorted(fake.wait_idle(), key=lambda r: r["start"])
        assert len(log) > 12
        check_clean_files(server, by_name, log, [f[0]])
        assert max(rec["in_flight"] for rec in log) == 1
        for i, rec in enumerate(log[:-1]):
            nxt = log[i + 1]
            if rec["n"] in (2, 8, 11):
                assert nxt["start"] - rec["end"] >= 0.95, (rec["n"], nxt["start"] - rec["end"])
            if rec["n"] == 5:
                assert nxt["start"] >= rec["retry_at"] - 0.05, (rec["retry_at"], nxt["start"])
            if rec["status"] in (429, 503):  # the refused texts were sent again, later
                assert any(r["texts"] == rec["texts"] for r in log[i + 1:])


def test_retry_after_holds_the_refused_sub_batch_under_concurrency(ragpdf):
    script = [{"match": {"every": 7, "offset": 3}, "action": {"status": 429, "retry_after": 1},
               "limit": 3}]
    with FakeOpenAI(dim=DIM, api_key=KEY, script=script) as fake:
        server = ragpdf(fake.url, min_concurrency=4, max_concurrency=4)
        docs = [doc(i) for i in (6, 7)]
        by_name = upload(server, [f for _, f in docs])
        assert_outcomes(server, by_name, {f[0]: None for _, f in docs})
        log = fake.wait_idle()
        check_clean_files(server, by_name, log, [f[0] for _, f in docs])
        refused = [rec for rec in log if rec["status"] == 429]
        assert len(refused) == 3
        for rec in refused:
            retry = min((r for r in log if r["texts"] == rec["texts"] and r["start"] > rec["end"]),
                        key=lambda r: r["start"])
            assert retry["start"] - rec["end"] >= 0.95
            # The wait pauses the whole provider (the quota is the account's):
            # apart from requests already on their way, nothing starts meanwhile.
            paused = [r for r in log if rec["end"] + 0.1 < r["start"] < rec["end"] + 0.9]
            assert paused == [], [(r["n"], r["start"] - rec["end"]) for r in paused]


def test_5xx_bursts_slow_answers_and_dropped_connections(ragpdf):
    script = [
        {"match": {"from": 3, "count": 4}, "action": {"status": 500}},
        {"match": {"from": 12, "count": 3}, "action": {"status": 503}},
        {"match": {"nth": [16]}, "action": {"status": 502}},
        {"match": {"nth": [18, 25]}, "action": {"slow": 2.5}},
        {"match": {"nth": [20]}, "action": {"drop": "close"}},
        {"match": {"nth": [22]}, "action": {"drop": "reset"}},
        {"match": {"nth": [27]}, "action": {"drop": "partial"}},
        {"match": {"nth": [29]}, "action": {"status": 504}},
    ]
    with FakeOpenAI(dim=DIM, api_key=KEY, script=script) as fake:
        server = ragpdf(fake.url, timeout_s=1)
        docs = [doc(i) for i in range(10, 14)]
        by_name = upload(server, [f for _, f in docs])
        assert_outcomes(server, by_name, {f[0]: None for _, f in docs})
        log = fake.wait_idle()
        assert len(log) > 30
        check_clean_files(server, by_name, log, [f[0] for _, f in docs])
        # The slow answers came after ragpdf had given up (timeout 1 s).
        slow = [rec for rec in log if rec["outcome"] == "fault:slow"]
        assert len(slow) == 2 and not any(rec["delivered"] for rec in slow)
        faults = [rec for rec in log if not (rec["valid"] and rec["delivered"])]
        assert len(faults) == 4 + 3 + 1 + 2 + 3 + 1
        # libcurl itself re-sends a request whose reused connection closed
        # before any answer, unseen by ragpdf's retry accounting: dropped
        # connections may be missing from the count.
        retries = metric_sum(server, "ragpdf_remote_retries_total", model=MODEL)
        assert len(faults) - 3 <= retries <= len(faults)


def test_retry_budget_is_respected_and_each_failure_has_its_code(ragpdf):
    """One sub-batch per file: a file that always fails is tried 1 + budget times."""
    budget, per_batch = 3, 10
    script = [
        {"match": {"text_contains": "zz21"}, "action": {"status": 429}},
        {"match": {"text_contains": "zz22"}, "action": {"status": 503}},
        {"match": {"text_contains": "zz23"}, "action": {"slow": 3}},
        {"match": {"text_contains": "zz24"}, "action": {"drop": "partial"}},
        {"match": {"text_contains": "zz27"}, "action": {"drop": "reset"}},
    ]
    with FakeOpenAI(dim=DIM, api_key=KEY, script=script) as fake:
        server = ragpdf(fake.url, timeout_s=1, retry_budget=budget, max_retries_per_batch=per_batch,
                        max_inputs_per_request=256)
        docs = [doc(i, pages=1) for i in (20, 21, 22, 23, 24, 27)]
        by_name = upload(server, [f for _, f in docs])
        assert_outcomes(server, by_name, {
            "zz20.pdf": None,
            "zz21.pdf": "embedding_rate_limited",
            "zz22.pdf": "embedding_unavailable",
            "zz23.pdf": "embedding_timeout",
            "zz24.pdf": "embedding_timeout",
            "zz27.pdf": "embedding_timeout",
        })
        log = fake.wait_idle()
        check_clean_files(server, by_name, log, ["zz20.pdf"])
        for tag in ("zz21", "zz22", "zz23", "zz24", "zz27"):
            assert len({tuple(r["texts"]) for r in requests_for(log, tag)}) == 1
            attempts = len(requests_for(log, tag))
            if tag == "zz27":
                # libcurl (< 8.16, no CURLOPT_FORBID_RETRY_ON_REUSE) silently
                # re-sends, up to 5 times, a request whose reused connection
                # died before any answer: the API may see more attempts.
                assert 1 + budget <= attempts <= 6 * (1 + budget), attempts
            else:
                assert attempts == 1 + budget, (tag, attempts)
            assert_nothing_stored(server, by_name[tag + ".pdf"]["file_id"])
        assert metric_sum(server, "ragpdf_remote_retries_total", model=MODEL) == 5 * budget


def test_retry_budget_spans_a_files_sub_batches(ragpdf):
    """Many sub-batches failing at once share one budget: retries actually sent
    never exceed it, and nothing is sent once the call has failed."""
    budget = 3
    script = [{"match": {"text_contains": "zz26"}, "action": {"status": 503}}]
    with FakeOpenAI(dim=DIM, api_key=KEY, script=script) as fake:
        server = ragpdf(fake.url, retry_budget=budget, max_retries_per_batch=10,
                        max_inputs_per_request=2)
        docs = [doc(25, pages=1), doc(26, pages=1)]
        by_name = upload(server, [f for _, f in docs])
        assert_outcomes(server, by_name, {"zz25.pdf": None, "zz26.pdf": "embedding_unavailable"})
        log = fake.wait_idle()
        check_clean_files(server, by_name, log, ["zz25.pdf"])
        retries, _ = retries_for(log, "zz26")
        assert retries <= budget
        # The retries counted by ragpdf are exactly the ones the server saw.
        assert metric_sum(server, "ragpdf_remote_retries_total", model=MODEL) == retries
        # Each sub-batch was sent at most once besides the budgeted retries.
        failing = requests_for(log, "zz26")
        first_attempts = len({tuple(rec["texts"]) for rec in failing})
        assert len(failing) <= first_attempts + budget, len(failing)


def test_per_batch_retry_limit(ragpdf):
    script = [{"match": {"text_contains": "zz31"}, "action": {"status": 500}}]
    with FakeOpenAI(dim=DIM, api_key=KEY, script=script) as fake:
        server = ragpdf(fake.url, retry_budget=50, max_retries_per_batch=2)
        docs = [doc(30, pages=1), doc(31, pages=1)]
        by_name = upload(server, [f for _, f in docs])
        assert_outcomes(server, by_name, {"zz30.pdf": None, "zz31.pdf": "embedding_unavailable"})
        log = fake.wait_idle()
        _, most = retries_for(log, "zz31")
        assert most == 3  # one attempt and two retries of the failing sub-batch


def test_bad_responses_fail_only_their_file(ragpdf):
    script = [
        {"match": {"text_contains": "zz41"}, "action": {"malformed": True}},
        {"match": {"text_contains": "zz42"}, "action": {"wrong_dimension": 5}},
        {"match": {"text_contains": "zz43"}, "action": {"wrong_count": -1}},
        {"match": {"text_contains": "zz44"}, "action": {"wrong_count": 1}},
    ]
    with FakeOpenAI(dim=DIM, api_key=KEY, script=script) as fake:
        server = ragpdf(fake.url)
        docs = [doc(i, pages=1) for i in range(40, 45)]
        by_name = upload(server, [f for _, f in docs])
        expected = {f"zz{i}.pdf": "embedding_bad_response" for i in range(41, 45)}
        assert_outcomes(server, by_name, dict(expected, **{"zz40.pdf": None}))
        log = fake.wait_idle()
        check_clean_files(server, by_name, log, ["zz40.pdf"])
        for name in expected:
            assert_nothing_stored(server, by_name[name]["file_id"])
        assert server.proc.poll() is None


def test_wrong_configured_dimension_is_a_bad_response(ragpdf):
    """The API answers DIM-long vectors but the config expects another size."""
    with FakeOpenAI(dim=DIM, api_key=KEY, honour_dimensions=False) as fake:
        server = ragpdf(fake.url, dimensions=DIM * 2)
        _, f = doc(46, pages=1)
        by_name = upload(server, [f])
        assert_outcomes(server, by_name, {f[0]: "embedding_bad_response"})
        assert_nothing_stored(server, by_name[f[0]]["file_id"])


def test_client_errors_fail_at_once_with_their_code(ragpdf):
    script = [
        {"match": {"text_contains": "zz51"}, "action": {"status": 400}},
        {"match": {"text_contains": "zz52"}, "action": {"status": 403}},
        {"match": {"text_contains": "zz53"}, "action": {"status": 404}},
        {"match": {"text_contains": "zz54"}, "action": {"status": 422}},
    ]
    with FakeOpenAI(dim=DIM, api_key=KEY, script=script) as fake:
        server = ragpdf(fake.url)
        docs = [doc(i, pages=1) for i in range(50, 55)]
        by_name = upload(server, [f for _, f in docs])
        assert_outcomes(server, by_name, {
            "zz50.pdf": None,
            "zz51.pdf": "embedding_bad_request",
            "zz52.pdf": "embedding_auth_failed",
            "zz53.pdf": "embedding_bad_request",
            "zz54.pdf": "embedding_bad_request",
        })
        log = fake.wait_idle()
        check_clean_files(server, by_name, log, ["zz50.pdf"])
        for tag in ("zz51", "zz52", "zz53", "zz54"):
            assert retries_for(log, tag)[0] == 0, tag  # never retried
            assert_nothing_stored(server, by_name[tag + ".pdf"]["file_id"])
        assert metric_sum(server, "ragpdf_remote_retries_total", model=MODEL) == 0


def test_wrong_api_key_is_auth_failed_for_every_file(ragpdf):
    with FakeOpenAI(dim=DIM, api_key=KEY) as fake:
        server = ragpdf(fake.url, env={KEY_ENV: "sk-wrong"})
        docs = [doc(i, pages=1) for i in (60, 61)]
        by_name = upload(server, [f for _, f in docs])
        assert_outcomes(server, by_name, {f[0]: "embedding_auth_failed" for _, f in docs})
        log = fake.wait_idle()
        assert log and all(rec["status"] == 401 for rec in log)
        assert len({tuple(rec["texts"]) for rec in log}) == len(log)  # nothing retried
        assert "sk-wrong" not in server.read_log()


def test_in_flight_settles_at_the_servers_cap(ragpdf):
    """A server that refuses more than K requests at once: ragpdf finds K."""
    k = 4
    with FakeOpenAI(dim=DIM, api_key=KEY, latency_ms=50, max_in_flight=k) as fake:
        server = ragpdf(fake.url, min_concurrency=1, max_concurrency=32, max_inputs_per_request=2,
                        retry_budget=1000, max_retries_per_batch=100)
        docs = [doc(i, pages=3) for i in range(70, 78)]
        by_name = upload(server, [f for _, f in docs])
        assert_outcomes(server, by_name, {f[0]: None for _, f in docs})
        log = fake.wait_idle()
        check_clean_files(server, by_name, log, [f[0] for _, f in docs])
        admitted = [rec for rec in log if rec["admitted"]]
        refused = [rec for rec in log if rec["outcome"] == "cap"]
        assert len(admitted) >= 200, len(admitted)
        t0 = min(rec["start"] for rec in log)
        t1 = max(rec["end"] for rec in log)
        mid, late = t0 + 0.5 * (t1 - t0), t0 + 0.9 * (t1 - t0)
        in_flight = time_weighted_in_flight(log, mid, late)
        late_refused = [rec for rec in refused if mid <= rec["start"] <= late]
        late_all = [rec for rec in log if mid <= rec["start"] <= late]
        print(f"requests={len(log)} refused={len(refused)} "
              f"late_refused={len(late_refused)}/{len(late_all)} in_flight={in_flight:.2f}")
        assert k - 2 <= in_flight <= k
        assert len(refused) <= 0.2 * len(log)
        assert len(late_refused) <= 0.2 * len(late_all)
        limit = metric_sum(server, "ragpdf_remote_concurrency_limit", required=True, model=MODEL)
        assert 1 <= limit <= 32
        assert metric_sum(server, "ragpdf_remote_retries_total", model=MODEL) == len(refused)


def test_requests_per_minute_quota(ragpdf):
    rpm = 300  # 5 per second
    with FakeOpenAI(dim=DIM, api_key=KEY) as fake:
        server = ragpdf(fake.url, requests_per_minute=rpm, max_inputs_per_request=2)
        _, f = doc(80, pages=2)
        by_name = upload(server, [f])
        assert_outcomes(server, by_name, {f[0]: None})
        log = sorted(fake.wait_idle(), key=lambda r: r["start"])
        assert len(log) >= 20
        # After any initial burst the rate stays at the quota: the last 10
        # requests start no faster than 5/s.
        span = log[-1]["start"] - log[-11]["start"]
        assert span >= 10 / (rpm / 60) * 0.9, span


# --- one ragpdf serving embeddings to another --------------------------------


def v1_embeddings(server, texts, model="lexical-hash-384", **extra):
    r = requests.post(server.url + "/v1/embeddings", json={"model": model, "input": texts, **extra},
                      timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_v1_embeddings_serves_what_the_server_stores(tmp_path):
    s = Server(data_dir=str(tmp_path / "d")).start()
    try:
        pdf = make_pdf([lorem_page(90), lorem_page(91)])
        f = s.upload([("own.pdf", pdf)]).json()["files"][0]
        s.wait_status(f["file_id"], ("completed",))
        texts, vectors = stored(s, f["file_id"], model="lexical-hash-384")
        assert len(texts) >= 2
        body = v1_embeddings(s, texts)
        assert body["object"] == "list" and body["usage"]["prompt_tokens"] > 0
        assert [d["index"] for d in body["data"]] == list(range(len(texts)))
        for v, d in zip(vectors, body["data"]):
            assert max_diff(v, d["embedding"]) <= 1e-6
        single = v1_embeddings(s, texts[0])
        assert len(single["data"]) == 1
        assert max_diff(single["data"][0]["embedding"], vectors[0]) <= 1e-6
        import base64
        b64 = v1_embeddings(s, texts[:2], encoding_format="base64")
        for v, d in zip(vectors, b64["data"]):
            raw = array.array("f")
            raw.frombytes(base64.b64decode(d["embedding"]))
            assert max_diff(v, raw) <= 1e-6
    finally:
        s.stop()


def test_one_ragpdf_embeds_through_another(ragpdf, tmp_path):
    second = Server(data_dir=str(tmp_path / "second")).start()
    try:
        model = dict({"name": MODEL}, **BASE_MODEL)
        model.update(base_url=second.url + "/v1", model="lexical-hash-384", dimensions=384,
                     max_tokens=512, max_inputs_per_request=8)
        first = ragpdf(models=[model])
        pdf = make_pdf([lorem_page(95), lorem_page(96), lorem_page(97)])
        by_name = upload(first, [("chained.pdf", pdf)])
        assert_outcomes(first, by_name, {"chained.pdf": None})
        fid = by_name["chained.pdf"]["file_id"]
        assert fid == sha256(pdf)
        texts, vectors = stored(first, fid)
        assert len(texts) >= 3 and len(vectors[0]) == 384
        direct = v1_embeddings(second, texts)["data"]
        for i, (v, d) in enumerate(zip(vectors, direct)):
            assert max_diff(v, d["embedding"]) <= 1e-6, i
        # Search on the first server embeds the query through the second.
        hits = first.neighbors(texts[1], [fid], n=1, mode="vector", model_choice=MODEL)
        assert hits.status_code == 200, hits.text
        assert hits.json()["results"][0]["text"] == texts[1]
    finally:
        second.stop()
