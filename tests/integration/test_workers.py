"""--workers N: one port, shared data directory, cross-process single flight."""
import concurrent.futures as cf

from ragpdf_client import Server, lorem_page, make_pdf


def test_three_workers_concurrent_duplicate_uploads(data_dir):
    s = Server(data_dir=data_dir, workers=3).start()
    try:
        docs = [make_pdf([lorem_page(400 + i * 5 + p, 40) for p in range(5)]) for i in range(4)]
        users = [f"user{i}" for i in range(12)]

        def upload(user):
            # Every user uploads every document at the same moment.
            r = s.upload([(f"d{i}.pdf", d) for i, d in enumerate(docs)], username=user)
            return r.status_code, r.json()

        with cf.ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(upload, users))
        ids = None
        for code, body in results:
            assert code == 200, body
            assert body["status"] == "success", body
            got = [f["file_id"] for f in body["files"]]
            ids = ids or got
            assert got == ids
            for f in body["files"]:
                assert f["status"] in ("ready_for_chat", "completed"), f
        # Parsed and embedded exactly once per document: exactly one response
        # per document did the work; all others reused it.
        for i in range(len(docs)):
            fresh = [b["files"][i] for _, b in results if not b["files"][i]["reused"]]
            assert len(fresh) == 1, fresh
        log = s.read_log()
        assert "database is locked" not in log
        # The uploads really were spread over several worker processes.
        import re
        pids = set(re.findall(r"pid=(\d+) http method=POST path=/file/upload", log))
        assert len(pids) >= 2, pids
        for fid in ids:
            assert log.count(f"status=ready_for_chat") >= 1
            assert log.count(f"file file_id={fid} model=lexical-hash-384 status=ready_for_chat") == 1
        # Every uploader owns every file: deleting as all but the last keeps it.
        for fid in ids:
            s.wait_status(fid, ("completed",))
        for user in users[:-1]:
            for res in s.delete(ids, user).json()["results"]:
                assert res.get("removed") is False, res
        for res in s.delete(ids, users[-1]).json()["results"]:
            assert res["removed"] is True, res
    finally:
        s.stop()
