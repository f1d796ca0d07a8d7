"""Uploads through the real binary: per-file results, isolation, reuse, owners."""
import os

from ragpdf_client import SHARED, corpus_rows, lorem_page, make_pdf, sha256

KNOWN = "The zebra quartet rehearsed Schubert under the lighthouse at midnight."


def encrypted_pdf():
    for row in corpus_rows():
        if row["pdfinfo"] == "needs_password":
            path = os.path.join(SHARED, "pdf", row["path"])
            return os.path.basename(path), open(path, "rb").read()
    raise AssertionError("corpus has no encrypted PDF")


def test_mixed_upload_reports_each_file_and_isolates_failures(server):
    pdf_a = make_pdf([lorem_page(1), lorem_page(2) + "\n" + KNOWN, lorem_page(3)])
    pdf_b = make_pdf([lorem_page(4)])
    csv = b"city,country,population\nLyon,France,522000\nPorto,Portugal,232000\n"
    enc_name, enc = encrypted_pdf()
    garbage = os.urandom(4096)
    files = [("a.pdf", pdf_a), ("b.pdf", pdf_b), ("cities.csv", csv), (enc_name, enc),
             ("noise.bin", garbage), ("fake.pdf", b"not a pdf at all" * 10)]
    r = server.upload(files)
    assert r.status_code == 200, r.text
    body = r.json()
    by_name = {f["filename"]: f for f in body["files"]}
    assert len(body["files"]) == 6
    assert body["status"] == "partial"
    assert body["multi_file_mode"] is True

    a = by_name["a.pdf"]
    assert a["file_id"] == sha256(pdf_a)
    assert a["status"] == "ready_for_chat" or a["status"] == "completed"
    assert a["kind"] == "document" and a["pages"] == 3 and a["chunks"] > 0
    assert by_name["b.pdf"]["status"] in ("ready_for_chat", "completed")
    c = by_name["cities.csv"]
    assert c["kind"] == "tabular" and c["status"] in ("ready_for_chat", "completed")
    assert by_name[enc_name]["error"]["code"] == "encrypted_pdf"
    assert by_name["noise.bin"]["error"]["code"] == "unsupported_format"
    assert by_name["fake.pdf"]["error"]["code"] == "invalid_pdf"
    # Successful files are listed for chat clients, failed ones are not.
    assert body["file_ids"] == [a["file_id"], by_name["b.pdf"]["file_id"], c["file_id"]]
    assert body["original_filenames"] == ["a.pdf", "b.pdf", "cities.csv"]

    # Failed files left nothing searchable behind.
    bad = by_name["fake.pdf"]["file_id"]
    st = server.status(bad).json()
    assert st["status"] == "error" and st["can_chat"] is False
    n = server.neighbors("not a pdf", [bad], mode="keyword").json()
    assert n["results"] == [] and n["skipped_file_ids"] == [bad]

    # Background work finishes: the files become completed.
    for f in (a, by_name["b.pdf"], c):
        server.wait_status(f["file_id"], ("completed",))


def test_single_file_field_and_text_formats(server):
    r = server.upload([("notes.md", b"# Title\n\nSome *markdown* text about kites.\n")],
                      field="file")
    assert r.status_code == 200, r.text
    f = r.json()["files"][0]
    assert f["status"] in ("ready_for_chat", "completed") and f["kind"] == "document"
    r = server.upload([("latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1") * 3)], field="file")
    f = r.json()["files"][0]
    assert f["status"] == "error" and f["error"]["code"] == "invalid_encoding"


def test_reupload_by_other_user_reuses_embeddings(server):
    pdf = make_pdf([lorem_page(11), lorem_page(12)])
    first = server.upload([("report.pdf", pdf)], username="alice").json()["files"][0]
    assert first["reused"] is False
    embedded = server.metric("ragpdf_chunks_embedded_total")
    assert embedded == first["chunks"]

    second = server.upload([("copy-of-report.pdf", pdf)], username="bob").json()["files"][0]
    assert second["file_id"] == first["file_id"]
    assert second["reused"] is True
    assert second["chunks"] == first["chunks"]
    # Nothing was parsed or embedded again.
    assert server.metric("ragpdf_chunks_embedded_total") == embedded

    # Bob is an owner now: alice deleting leaves the file to bob.
    server.wait_status(first["file_id"], ("completed",))
    r = server.delete([first["file_id"]], "alice").json()
    assert r["results"][0]["removed"] is False
    assert server.status(first["file_id"]).json()["status"] == "completed"
    r = server.delete([first["file_id"]], "bob").json()
    assert r["results"][0]["removed"] is True
    assert server.status(first["file_id"]).json()["status"] == "not_started"


def test_existing_file_ids(server):
    pdf = make_pdf([lorem_page(21)])
    fid = server.upload([("x.pdf", pdf)], username="alice").json()["files"][0]["file_id"]
    unknown = "0" * 64
    r = server.upload([], username="carol", existing_file_ids=[fid, unknown])
    assert r.status_code == 200, r.text
    files = {f["file_id"]: f for f in r.json()["files"]}
    assert files[fid]["reused"] is True and files[fid]["filename"] == "x.pdf"
    assert files[unknown]["error"]["code"] == "not_found"
    # carol became an owner (in the background): her delete is accepted.
    server.wait_status(fid, ("completed",))
    for _ in range(50):
        res = server.delete([fid], "carol").json()["results"][0]
        if "error" not in res:
            break
    assert res["removed"] is False


def test_wait_false_returns_in_progress_then_completes(server):
    pdf = make_pdf([lorem_page(31), lorem_page(32)])
    r = server.upload([("later.pdf", pdf)], wait=False)
    assert r.status_code == 202, r.text
    f = r.json()["files"][0]
    assert f["status"] == "in_progress"
    done = server.wait_status(f["file_id"], ("completed",))
    assert done["can_chat"] is True


def test_request_errors(server):
    import requests
    r = requests.post(server.url + "/file/upload", files=[("files", ("a.txt", b"hi"))], timeout=10)
    assert r.status_code == 400 and r.json()["error"]["code"] == "missing_field"
    r = server.upload([("a.txt", b"hello")], model_choice="no-such-model")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = requests.get(server.url + "/nope", timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = requests.post(server.url + "/embeddings/check", data=b"{not json", timeout=10,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"


def test_upload_over_limit_is_413_and_stores_nothing(tmp_path):
    from ragpdf_client import Server
    s = Server(data_dir=str(tmp_path / "d"), extra_args=["--max-upload-mb", "1"]).start()
    try:
        big = os.urandom(2 * 1024 * 1024)
        r = s.upload([("big.txt", big)])
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
        assert s.status(sha256(big)).json()["status"] == "not_started"
        leftovers = []
        for root, _, names in os.walk(os.path.join(s.data_dir, "tmp")):
            leftovers += names
        assert leftovers == []
    finally:
        s.stop()


def _vm(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(key)


def test_one_gib_upload_streams_with_bounded_memory(tmp_path):
    """A 1 GiB chunked upload must not raise the server's RSS anywhere near 1 GiB."""
    import requests
    from ragpdf_client import Server
    s = Server(data_dir=str(tmp_path / "d"), extra_args=["--max-upload-mb", "2048"]).start()
    try:
        boundary = "ragpdfboundary7d93"
        block = os.urandom(1 << 20)
        total = 1 << 30

        def body():
            yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n"
                   f"alice\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
                   f"filename=\"huge.bin\"\r\n\r\n").encode()
            for _ in range(total // len(block)):
                yield block
            yield f"\r\n--{boundary}--\r\n".encode()

        before = _vm(s.proc.pid, "VmRSS")
        r = requests.post(s.url + "/file/upload", data=body(), timeout=600,
                          headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert r.status_code == 200, r.text
        f = r.json()["files"][0]
        # The whole GiB arrived and was hashed (unsupported type, so nothing is kept).
        assert f["error"]["code"] == "unsupported_format"
        import hashlib
        expected = hashlib.sha256()
        for _ in range(total // len(block)):
            expected.update(block)
        assert f["file_id"] == expected.hexdigest()
        peak = _vm(s.proc.pid, "VmHWM")
        print(f"rss_before={before >> 20} MiB peak_after_1GiB={peak >> 20} MiB")
        assert peak - before < 64 * 1024 * 1024, (before, peak)
    finally:
        s.stop()


def make_xlsx(rows):
    """A minimal XLSX (shared strings for text cells) built with zipfile."""
    import io
    import zipfile
    strings, sheet_rows = [], []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{chr(65 + c)}{r}"
            if isinstance(value, (int, float)):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                strings.append(value)
                cells.append(f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>')
        sheet_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml",
                   '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="xml" ContentType="application/xml"/></Types>')
        z.writestr("xl/workbook.xml",
                   f'<workbook xmlns="{ns}" xmlns:r="{rel}"><sheets>'
                   '<sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'relationships"><Relationship Id="rId1" Type="' + rel +
                   '/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml",
                   f'<worksheet xmlns="{ns}"><sheetData>{"".join(sheet_rows)}</sheetData>'
                   '</worksheet>')
        sst = "".join(f"<si><t>{s}</t></si>" for s in strings)
        z.writestr("xl/sharedStrings.xml", f'<sst xmlns="{ns}">{sst}</sst>')
    return buf.getvalue()


def test_tables_are_chunked_searchable_and_stored_as_sql(server):
    import sqlite3
    xlsx = make_xlsx([["product", "region", "units"], ["Teapot", "Nordic", 120],
                      ["Kettle", "Iberia", 75]])
    tsv = b"name\tcolour\nOrchid\tviolet\nFern\tgreen\n"
    r = server.upload([("sales.xlsx", xlsx), ("plants.tsv", tsv)])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["is_tabular"] is True
    files = {f["filename"]: f for f in body["files"]}
    for name in ("sales.xlsx", "plants.tsv"):
        assert files[name]["kind"] == "tabular"
        assert files[name]["status"] in ("ready_for_chat", "completed"), files[name]
    hit = server.neighbors("Kettle Iberia", [files["sales.xlsx"]["file_id"]], n=1,
                           mode="keyword").json()["results"][0]["text"]
    # Header names travel with every value.
    assert "product: Kettle" in hit and "region: Iberia" in hit
    # The table is also a real SQL table in tabular_data.db.
    db = sqlite3.connect(os.path.join(server.data_dir, "tabular_data.db"))
    (table,) = db.execute("SELECT table_name FROM table_registry WHERE file_id = ?",
                          (files["sales.xlsx"]["file_id"],)).fetchone()
    rows = db.execute(f'SELECT product, region, units FROM "{table}" ORDER BY product').fetchall()
    assert rows == [("Kettle", "Iberia", "75"), ("Teapot", "Nordic", "120")]


def test_config_file_and_environment_precedence(tmp_path):
    """TOML sets a default, the environment overrides it, a flag overrides both."""
    from ragpdf_client import Server
    cfg = tmp_path / "ragpdf.toml"
    cfg.write_text("[server]\nmax_upload_mb = 1\nlog_level = \"warn\"\n")
    payload = [("two.txt", b"x" * (2 * 1024 * 1024))]

    s = Server(data_dir=str(tmp_path / "a"), extra_args=["--config", str(cfg)]).start()
    try:
        assert s.upload(payload).status_code == 413
    finally:
        s.stop()
    s = Server(data_dir=str(tmp_path / "b"), extra_args=["--config", str(cfg)],
               env={"RAGPDF_MAX_UPLOAD_MB": "4"}).start()
    try:
        assert s.upload(payload).status_code == 200
    finally:
        s.stop()
    s = Server(data_dir=str(tmp_path / "c"),
               extra_args=["--config", str(cfg), "--max-upload-mb", "1"],
               env={"RAGPDF_MAX_UPLOAD_MB": "4"}).start()
    try:
        assert s.upload(payload).status_code == 413
    finally:
        s.stop()
