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
    metrics = requests.get(server.url + "/metrics", timeout=10).text
    assert "ragpdf_http_requests_total" in metrics
