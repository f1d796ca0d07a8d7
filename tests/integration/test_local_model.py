"""provider = "local": a random-weight BERT (tests/tools/make_random_bert.py)
served by the real binary, and `ragpdf embed` on the same model."""
import json
import os
import sqlite3
import struct
import subprocess

import pytest
import requests

from ragpdf_client import BINARY, ROOT, Server, free_port, make_pdf

MAKER = os.path.join(ROOT, "tests", "tools", "make_random_bert.py")
HIDDEN = 48
MAX_POSITIONS = 128


def words(seed, n):
    """n vocabulary words (tok5..tok299), deterministic per seed."""
    x = seed * 7919 + 17
    out = []
    for _ in range(n):
        x = (x * 1103515245 + 12345) % (2 ** 31)
        out.append(f"tok{5 + x % 295}")
    return out


def page(seed, n_words=160):
    w = words(seed, n_words)
    return "\n".join(" ".join(w[i:i + 12]) for i in range(0, len(w), 12))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("tiny-bert"))
    subprocess.run(["/usr/bin/python3", MAKER, "make", d, "--layers", "2", "--hidden", str(HIDDEN),
                    "--heads", "3", "--intermediate", "80", "--vocab", "300",
                    "--max-positions", str(MAX_POSITIONS), "--seed", "7"],
                   check=True, capture_output=True)
    return d


@pytest.fixture
def config_file(tmp_path, model_dir):
    cfg = tmp_path / "models.toml"
    cfg.write_text(f'[[models]]\nname = "prefixed"\nprovider = "local"\npath = "{model_dir}"\n'
                   f'query_prefix = "tok8 "\ndocument_prefix = "tok7 "\nmax_batch_tokens = 2048\n')
    return str(cfg)


def embed_cli(lines, *args):
    """`ragpdf embed` on `lines`; returns the parsed vectors."""
    out = subprocess.run([BINARY, "embed", *args], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == len(lines)
    return rows


def stored_chunks(data_dir, file_id, model):
    """(texts, vectors) the server committed for (file, model)."""
    db = sqlite3.connect(os.path.join(data_dir, "ragpdf.db"))
    try:
        texts = [r[0] for r in db.execute(
            "SELECT text FROM chunks WHERE file_id = ? AND model = ? ORDER BY chunk_index",
            (file_id, model))]
        dim, count, blob = db.execute(
            "SELECT dimension, count, data FROM vectors WHERE file_id = ? AND model = ?",
            (file_id, model)).fetchone()
    finally:
        db.close()
    flat = struct.unpack(f"<{dim * count}f", blob)
    return texts, [list(flat[i * dim:(i + 1) * dim]) for i in range(count)]


def assert_close(a, b, tol=1e-5):
    assert len(a) == len(b)
    worst = max(abs(x - y) for x, y in zip(a, b))
    assert worst <= tol, worst


def one_line(text):
    # BERT's tokenizer treats every whitespace run as one separator, so a
    # chunk's newlines can become spaces without changing its token ids.
    return " ".join(text.split())


@pytest.fixture
def server(tmp_path, model_dir, config_file):
    s = Server(data_dir=str(tmp_path / "data"),
               extra_args=["--model", f"tiny={model_dir}", "--config", config_file]).start()
    yield s
    s.stop()


def test_available_models_lists_local_models(server):
    body = requests.get(server.url + "/available-models", timeout=10).json()
    models = {m["name"]: m for m in body["models"]}
    assert body["default_model"] == "prefixed"  # TOML models first, then --model ones
    assert [m["name"] for m in body["models"]][:2] == ["prefixed", "tiny"]
    tiny = models["tiny"]
    assert tiny["provider"] == "local"
    assert tiny["dimension"] == HIDDEN
    assert tiny["max_tokens"] == MAX_POSITIONS - 2  # [CLS] and [SEP]
    assert models["prefixed"]["max_tokens"] == MAX_POSITIONS - 3  # and a 1-token prefix
    assert "lexical-hash-384" in models


def test_upload_search_and_cli_agree_with_stored_vectors(server, model_dir):
    pdf = make_pdf([page(1), page(2), page(3)])
    other = make_pdf([page(4)])
    r = server.upload([("a.pdf", pdf), ("b.pdf", other)], model_choice="tiny")
    assert r.status_code == 200, r.text
    files = r.json()["files"]
    assert all("error" not in f for f in files), files
    fid = files[0]["file_id"]
    server.wait_status(fid, ("ready_for_chat", "completed"), model_choice="tiny")

    texts, vectors = stored_chunks(server.data_dir, fid, "tiny")
    assert len(texts) >= 3 and len(vectors) == len(texts)
    assert all(len(v) == HIDDEN for v in vectors)
    # The CLI (model by directory) computes the very vectors the server stored.
    cli = embed_cli([one_line(t) for t in texts], "--model", model_dir)
    for got, want in zip(cli, vectors):
        assert_close(got, want)
    norms = [sum(x * x for x in v) ** 0.5 for v in cli]
    assert all(abs(n - 1) < 1e-5 for n in norms)

    # A query identical to a chunk finds that chunk with cosine ~1.
    target = 1
    r = server.neighbors(one_line(texts[target]), [fid, files[1]["file_id"]], n=3, mode="vector",
                         model_choice="tiny")
    assert r.status_code == 200, r.text
    top = r.json()["results"][0]
    assert top["file_id"] == fid and top["chunk_index"] == target
    assert top["score"] > 0.9999

    metrics = requests.get(server.url + "/metrics", timeout=10).text
    assert 'ragpdf_local_batches_total{model="tiny"}' in metrics
    assert server.metric("ragpdf_local_padded_tokens_total", 'model="tiny"') >= \
        server.metric("ragpdf_local_real_tokens_total", 'model="tiny"') > 0


def test_prefixes_from_config_reach_server_and_cli(server, model_dir, config_file):
    pdf = make_pdf([page(11), page(12)])
    fid = server.upload([("p.pdf", pdf)], model_choice="prefixed").json()["files"][0]["file_id"]
    server.wait_status(fid, ("ready_for_chat", "completed"), model_choice="prefixed")
    texts, vectors = stored_chunks(server.data_dir, fid, "prefixed")
    lines = [one_line(t) for t in texts]
    # Documents carry "tok7 ", by name through the config or spelled out by hand.
    by_name = embed_cli(lines, "--model", "prefixed", "--config", config_file)
    by_hand = embed_cli(["tok7 " + t for t in lines], "--model", model_dir)
    for a, b, want in zip(by_name, by_hand, vectors):
        assert_close(a, want)
        assert_close(b, want)
    queries = embed_cli(lines[:1], "--model", "prefixed", "--config", config_file, "--query")
    assert_close(queries[0], embed_cli(["tok8 " + lines[0]], "--model", model_dir)[0])
    assert max(abs(x - y) for x, y in zip(queries[0], by_name[0])) > 1e-3


def test_model_pairs_from_environment(tmp_path, model_dir):
    s = Server(data_dir=str(tmp_path / "data"),
               env={"RAGPDF_MODEL": f"one={model_dir},two={model_dir}"}).start()
    try:
        body = requests.get(s.url + "/available-models", timeout=10).json()
        names = [m["name"] for m in body["models"]]
        assert names[:2] == ["one", "two"] and body["default_model"] == "one"
    finally:
        s.stop()


def serve_exit(tmp_path, *args):
    out = subprocess.run([BINARY, "serve", "--port", str(free_port()), "--data-dir",
                          str(tmp_path / "data"), *args],
                         capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout + out.stderr


def test_bad_model_fails_startup_with_one_clear_message(tmp_path, model_dir):
    code, log = serve_exit(tmp_path, "--model", f"broken={tmp_path / 'missing'}")
    assert code != 0
    assert "broken" in log and "missing" in log
    code, log = serve_exit(tmp_path, "--model", "no-path")
    assert code == 2 and "NAME=PATH" in log
    # A model directory whose weights are gone names the file.
    partial = tmp_path / "partial"
    (partial / "1_Pooling").mkdir(parents=True)
    for name in ("config.json", "vocab.txt", "tokenizer_config.json", "modules.json",
                 "1_Pooling/config.json"):
        (partial / name).write_bytes(open(os.path.join(model_dir, name), "rb").read())
    code, log = serve_exit(tmp_path, "--model", f"partial={partial}")
    assert code != 0 and "model.safetensors" in log


def test_embed_cli_edge_cases(tmp_path, model_dir):
    empty = subprocess.run([BINARY, "embed", "--model", model_dir], input="",
                           capture_output=True, text=True, timeout=60)
    assert empty.returncode == 0 and empty.stdout == ""
    # Many lines of mixed lengths in one run: one vector each, in order.
    lines = [" ".join(words(i, 1 + (i * 37) % 150)) for i in range(700)] + ["", "x" * 300]
    rows = embed_cli(lines, "--model", model_dir)
    assert all(len(r) == HIDDEN for r in rows)
    again = embed_cli(lines[10:12], "--model", model_dir)
    assert_close(rows[10], again[0])
    assert_close(rows[11], again[1])
    unknown = subprocess.run([BINARY, "embed", "--model", str(tmp_path / "nope")], input="a\n",
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "neither" in unknown.stderr
