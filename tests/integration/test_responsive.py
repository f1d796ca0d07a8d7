"""The event loop never blocks on parsing or embedding: while a large upload
is being ingested, /health and /embeddings/status still answer at once."""
import statistics
import threading
import time

import requests

from ragpdf_client import lorem_page, make_pdf, sha256


def test_health_and_status_answer_during_large_upload(server):
    pdfs = [make_pdf([lorem_page(600 + i * 100 + p, 60) for p in range(60)]) for i in range(8)]
    ids = [sha256(d) for d in pdfs]
    done = threading.Event()
    result = {}

    def upload():
        result["r"] = server.upload([(f"p{i}.pdf", d) for i, d in enumerate(pdfs)])
        done.set()

    t = threading.Thread(target=upload)
    t.start()
    latencies, saw_in_progress = [], False
    while not done.is_set():
        t0 = time.perf_counter()
        assert requests.get(server.url + "/health", timeout=5).status_code == 200
        st = server.status(ids[-1]).json()["status"]
        latencies.append(time.perf_counter() - t0)
        saw_in_progress |= st == "in_progress"
        time.sleep(0.01)
    t.join()
    assert result["r"].status_code == 200
    assert saw_in_progress, "the upload finished before it could be observed"
    print(f"probes={len(latencies)} median={statistics.median(latencies) * 1000:.1f} ms "
          f"max={max(latencies) * 1000:.1f} ms")
    # Generous bound for a shared 2-core machine: a blocked loop would stall
    # for the whole ingest (seconds), not a fraction of a second.
    assert max(latencies) < 1.0
