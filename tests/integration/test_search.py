"""/embeddings/check, /embeddings/status and /file/neighbors on real data."""
from ragpdf_client import lorem_page, make_pdf

SENTENCE = "Saffron kites drift above the basalt observatory every autumn."


def upload_with_sentence(server):
    pages = [lorem_page(101), lorem_page(102) + "\n" + SENTENCE + "\n" + lorem_page(103, 10),
             lorem_page(104)]
    pdf = make_pdf(pages)
    other = make_pdf([lorem_page(105), lorem_page(106)])
    files = server.upload([("doc.pdf", pdf), ("other.pdf", other)]).json()["files"]
    return files[0]["file_id"], files[1]["file_id"]


def test_check_and_status(server):
    fid, other = upload_with_sentence(server)
    missing = "f" * 64
    r = server.check([fid, other, missing])
    assert r.status_code == 200, r.text
    body = r.json()
    results = {x["file_id"]: x for x in body["results"]}
    assert results[fid]["embeddings_exist"] is True
    assert results[missing]["embeddings_exist"] is False
    assert results[missing]["status"] == "not_started"
    s = body["summary"]
    assert s["total_files"] == 3 and s["files_with_embeddings"] == 2
    assert s["files_missing_embeddings"] == 1 and s["all_files_ready"] is False
    assert s["model_choice"] == results[fid]["model_type"]

    st = server.status(fid).json()
    assert st["file_id"] == fid and st["can_chat"] is True
    assert st["status"] in ("ready_for_chat", "completed") and st["message"]
    assert server.status("nothex").status_code == 400


def test_neighbors_find_known_sentence_in_every_mode(server):
    fid, other = upload_with_sentence(server)
    for mode in ("vector", "keyword", "hybrid"):
        r = server.neighbors("saffron kites basalt observatory", [fid, other], n=3, mode=mode)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["results"], mode
        top = body["results"][0]
        assert SENTENCE in top["text"], (mode, top)
        assert top["file_id"] == fid
        assert top["page_start"] <= 2 <= top["page_end"]
        assert body["neighbors"][0] == top["text"]
        scores = [x["score"] for x in body["results"]]
        assert scores == sorted(scores, reverse=True)


def test_neighbors_default_mode_and_single_file_id(server):
    fid, _ = upload_with_sentence(server)
    import requests
    r = requests.post(server.url + "/file/neighbors",
                      json={"text": "basalt observatory", "file_id": fid, "n_neighbors": 2},
                      timeout=30)
    assert r.status_code == 200, r.text
    assert SENTENCE in r.json()["results"][0]["text"]
    assert len(r.json()["results"]) <= 2


def test_neighbors_bad_requests(server):
    fid, _ = upload_with_sentence(server)
    assert server.neighbors("", [fid]).status_code == 400
    assert server.neighbors("x", [fid], mode="fuzzy").status_code == 400
    assert server.neighbors("x", [fid], n=0).status_code == 400


def test_available_models_and_health(server):
    import requests
    m = requests.get(server.url + "/available-models", timeout=10).json()
    assert m["default_model"] == m["models"][0]["name"]
    assert m["models"][0]["dimension"] > 0 and m["models"][0]["max_tokens"] > 0
    h = requests.get(server.url + "/health", timeout=10)
    assert h.status_code == 200 and h.json()["status"] == "ok"
    upload_with_sentence(server)
    metrics = requests.get(server.url + "/metrics", timeout=10).text
    for name in ("ragpdf_http_requests_total", "ragpdf_uploads_total", "ragpdf_files_total",
                 "ragpdf_chunks_embedded_total", "ragpdf_stage_duration_seconds_bucket",
                 "ragpdf_files_queued", "ragpdf_files_in_flight",
                 "ragpdf_background_tasks_running"):
        assert name in metrics, name
    assert 'ragpdf_files_total{status="ready_for_chat"} 2' in metrics


def test_second_model_is_a_second_set_and_delete_removes_everything(tmp_path):
    import os
    import requests
    from ragpdf_client import Server
    cfg = tmp_path / "models.toml"
    cfg.write_text('[[models]]\nname = "lexical-hash-768"\nprovider = "builtin"\n'
                   'dimension = 768\n')
    s = Server(data_dir=str(tmp_path / "d"), extra_args=["--config", str(cfg)]).start()
    try:
        models = requests.get(s.url + "/available-models", timeout=10).json()
        assert models["default_model"] == "lexical-hash-768"
        dims = {m["name"]: m["dimension"] for m in models["models"]}
        assert dims == {"lexical-hash-768": 768, "lexical-hash-384": 384}

        pdf = make_pdf([lorem_page(501), SENTENCE])
        first = s.upload([("m.pdf", pdf)]).json()["files"][0]
        fid = first["file_id"]
        assert s.check([fid], "lexical-hash-384").json()["results"][0]["embeddings_exist"] is False
        # The same file under a second model: embedded again from its stored bytes.
        s.wait_status(fid, ("completed",), model_choice="lexical-hash-768")
        second = s.upload([], existing_file_ids=[fid], model_choice="lexical-hash-384")
        f2 = second.json()["files"][0]
        assert f2["reused"] is False and f2["status"] in ("ready_for_chat", "completed"), f2
        for model in ("lexical-hash-384", "lexical-hash-768"):
            assert s.check([fid], model).json()["results"][0]["embeddings_exist"] is True
            r = s.neighbors("basalt observatory", [fid], n=1, mode="vector",
                            model_choice=model).json()
            assert SENTENCE in r["results"][0]["text"]
        s.wait_status(fid, ("completed",), model_choice="lexical-hash-384")
        blobs = os.path.join(s.data_dir, "blobs")
        assert os.path.exists(os.path.join(blobs, "raw", fid))
        assert len(os.listdir(os.path.join(blobs, "embeddings", fid))) == 4  # 2 x (.f32, .json)

        # The only owner deletes: every trace of the file is gone.
        assert s.delete([fid], "alice").json()["results"][0]["removed"] is True
        for model in ("lexical-hash-384", "lexical-hash-768"):
            assert s.status(fid, model_choice=model).json()["status"] == "not_started"
        assert not os.path.exists(os.path.join(blobs, "raw", fid))
        assert not os.path.exists(os.path.join(blobs, "embeddings", fid))
        assert s.neighbors("basalt", [fid], mode="keyword").json()["results"] == []
        import sqlite3
        db = sqlite3.connect(os.path.join(s.data_dir, "ragpdf.db"))
        for table in ("files", "owners", "file_models", "chunks", "vectors", "tasks"):
            (n,) = db.execute(f"SELECT count(*) FROM {table} WHERE file_id = ?", (fid,)).fetchone()
            assert n == 0, table
        (n,) = db.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'basalt'").fetchone()
        assert n == 0
    finally:
        s.stop()
