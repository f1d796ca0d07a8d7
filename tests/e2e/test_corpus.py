"""Every PDF of ../shared/data/pdf through the real server: each one parses or
yields its documented error code; none crashes or hangs the server."""
import collections
import concurrent.futures as cf
import os
import sys

import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from ragpdf_client import SHARED, Server, corpus_rows  # noqa: E402

DOCUMENTED = {"encrypted_pdf", "invalid_pdf", "no_text", "empty_file", "parse_timeout",
              "parse_failed"}


def test_pdf_corpus_through_server(tmp_path):
    rows = corpus_rows()
    assert len(rows) > 700
    s = Server(data_dir=str(tmp_path / "data"),
               extra_args=["--parse-timeout-s", "10", "--log-level", "warn"]).start()
    try:
        batches = [rows[i:i + 25] for i in range(0, len(rows), 25)]

        def upload(batch):
            files = []
            for row in batch:
                with open(os.path.join(SHARED, "pdf", row["path"]), "rb") as f:
                    files.append(("files", (os.path.basename(row["path"]), f.read())))
            r = requests.post(s.url + "/file/upload", files=files, data={"username": "corpus"},
                              timeout=600)
            assert r.status_code == 200, r.text
            out = r.json()["files"]
            assert len(out) == len(batch)
            return list(zip(batch, out))

        with cf.ThreadPoolExecutor(max_workers=4) as pool:
            results = [pair for chunk in pool.map(upload, batches) for pair in chunk]

        outcome = collections.Counter()
        unexpected = []
        text_expected = text_ok = 0
        for row, f in results:
            code = f["error"]["code"] if "error" in f else "ok"
            outcome[(row["pdfinfo"], code)] += 1
            assert code == "ok" or code in DOCUMENTED, (row, f)
            if code == "ok":
                assert f["status"] in ("ready_for_chat", "completed") and f["chunks"] > 0
            if row["pdfinfo"] == "needs_password":
                # poppler may open some with an empty user password
                if code not in ("ok", "encrypted_pdf"):
                    unexpected.append((row["path"], code))
            if row["pdfinfo"] == "ok" and int(row["text_chars_first5"] or 0) > 0:
                text_expected += 1
                text_ok += code == "ok"
                if code != "ok":
                    unexpected.append((row["path"], code))
        for key, n in sorted(outcome.items()):
            print(f"{key[0]:>15} -> {key[1]:<15} {n}")
        print("unexpected:", unexpected)
        assert text_ok >= 0.98 * text_expected, (text_ok, text_expected)
        assert outcome[("needs_password", "encrypted_pdf")] >= 25
        # The server is still healthy and answers quickly.
        assert requests.get(s.url + "/health", timeout=5).status_code == 200
        assert s.proc.poll() is None
    finally:
        s.stop()
