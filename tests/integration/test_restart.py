"""Durability: a restart keeps everything; a killed process loses nothing."""
import time

from ragpdf_client import Server, lorem_page, make_pdf

SENTENCE = "Cobalt herons nest beside the quiet tramway depot."


def test_restart_keeps_everything(data_dir):
    s = Server(data_dir=data_dir).start()
    pdf = make_pdf([lorem_page(201), SENTENCE + "\n" + lorem_page(202)])
    f = s.upload([("keep.pdf", pdf)]).json()["files"][0]
    s.wait_status(f["file_id"], ("completed",))
    assert s.stop() == 0

    s2 = Server(data_dir=data_dir).start()
    try:
        st = s2.status(f["file_id"]).json()
        assert st["status"] == "completed" and st["can_chat"] is True
        r = s2.neighbors("cobalt herons tramway", [f["file_id"]], n=1).json()
        assert SENTENCE in r["results"][0]["text"]
        again = s2.upload([("keep.pdf", pdf)], username="dave").json()["files"][0]
        assert again["reused"] is True
    finally:
        s2.stop()


def test_killed_during_ingest_recovers_after_restart(data_dir):
    # Slow the pipeline down with many pages so the kill lands mid-ingest.
    s = Server(data_dir=data_dir,
               extra_args=["--max-concurrent-tasks", "1", "--lease-ms", "1500"]).start()
    pdfs = [make_pdf([lorem_page(300 + i * 40 + p, 60) for p in range(40)]) for i in range(6)]
    r = s.upload([(f"big{i}.pdf", d) for i, d in enumerate(pdfs)], wait=False)
    assert r.status_code == 202, r.text
    ids = [f["file_id"] for f in r.json()["files"]]
    time.sleep(0.3)
    s.kill()

    # A new process takes over the dead one's leases (after they expire) and
    # finishes every file from the staged bytes.
    s2 = Server(data_dir=data_dir, env={"RAGPDF_LEASE_MS": "1500"}).start()
    try:
        for fid in ids:
            st = s2.wait_status(fid, ("completed", "error"), timeout=120)
            assert st["status"] == "completed", st
    finally:
        s2.stop()
