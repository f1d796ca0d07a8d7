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
    # One file at a time and many pages, so the kill lands mid-ingest.
    s = Server(data_dir=data_dir,
               extra_args=["--max-concurrent-tasks", "1", "--lease-ms", "1500"]).start()
    pdfs = [make_pdf([lorem_page(300 + i * 100 + p, 60) for p in range(80)]) for i in range(10)]
    r = s.upload([(f"big{i}.pdf", d) for i, d in enumerate(pdfs)], wait=False)
    assert r.status_code == 202, r.text
    ids = [f["file_id"] for f in r.json()["files"]]
    # Kill as soon as the first file is searchable while others are in flight.
    deadline = time.time() + 60
    while time.time() < deadline:
        states = [s.status(fid).json()["status"] for fid in ids]
        if any(st in ("ready_for_chat", "completed") for st in states):
            break
        time.sleep(0.01)
    s.kill()
    assert "in_progress" in states, states

    # A new process takes over the dead one's leases once they expire and
    # finishes every file from the staged bytes.
    s2 = Server(data_dir=data_dir, env={"RAGPDF_LEASE_MS": "1500"}).start()
    try:
        for fid in ids:
            st = s2.wait_status(fid, ("completed", "error"), timeout=180)
            assert st["status"] == "completed", st
        assert "recover file_id=" in s2.read_log()
        r = s2.neighbors("river mountain", ids, n=3, mode="keyword").json()
        assert len(r["results"]) == 3 and r["skipped_file_ids"] == []
    finally:
        s2.stop()
