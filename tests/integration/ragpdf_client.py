"""Helpers for tests that drive the real ragpdf binary over loopback HTTP."""
import os
import signal
import socket
import subprocess
import tempfile
import time
import zlib

import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("RAGPDF_BINARY", os.path.join(ROOT, "build", "ragpdf"))
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A ragpdf process on a free loopback port with its own data directory."""

    def __init__(self, data_dir=None, workers=1, extra_args=(), env=None):
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="ragpdf-test-")
        os.makedirs(self.data_dir, exist_ok=True)
        self.workers = workers
        self.extra_args = list(extra_args)
        self.env = env or {}
        self.port = free_port()
        self.proc = None
        self.log_path = os.path.join(self.data_dir, f"server-{self.port}.log")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=30):
        env = dict(os.environ)
        env.update(self.env)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--port", str(self.port), "--data-dir", self.data_dir,
             "--workers", str(self.workers)] + self.extra_args,
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early: {self.read_log()[-2000:]}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    if self.workers == 1 or self._all_workers_listening():
                        return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become healthy")

    def _all_workers_listening(self):
        return self.read_log().count("listening host=") >= self.workers

    def read_log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
        return self.proc.returncode if self.proc else None

    def kill(self):
        """SIGKILL: the process dies without any cleanup, as in a crash."""
        return self.stop(sig=signal.SIGKILL)

    # --- API helpers -------------------------------------------------------

    def upload(self, files, username="alice", existing_file_ids=None, model_choice=None,
               wait=True, field="files", timeout=600):
        parts = [(field, (name, data)) for name, data in files]
        data = {"username": username}
        if existing_file_ids:
            data["existing_file_ids"] = ",".join(existing_file_ids)
        if model_choice:
            data["model_choice"] = model_choice
        if not wait:
            data["wait"] = "false"
        return requests.post(self.url + "/file/upload", files=parts or None, data=data,
                             timeout=timeout)

    def status(self, file_id, **params):
        return requests.get(f"{self.url}/embeddings/status/{file_id}", params=params, timeout=30)

    def check(self, file_ids, model_choice=None):
        body = {"file_ids": file_ids}
        if model_choice:
            body["model_choice"] = model_choice
        return requests.post(self.url + "/embeddings/check", json=body, timeout=30)

    def neighbors(self, text, file_ids, n=5, mode=None, model_choice=None):
        body = {"text": text, "file_ids": file_ids, "n_neighbors": n}
        if mode:
            body["mode"] = mode
        if model_choice:
            body["model_choice"] = model_choice
        return requests.post(self.url + "/file/neighbors", json=body, timeout=60)

    def delete(self, file_ids, username):
        return requests.delete(self.url + "/delete",
                               json={"file_ids": file_ids, "username": username}, timeout=60)

    def metric(self, name, labels=""):
        text = requests.get(self.url + "/metrics", timeout=10).text
        key = f"{name}{{{labels}}}" if labels else name
        for line in text.splitlines():
            if line.startswith(key + " "):
                return float(line.split()[-1])
        return 0.0

    def wait_status(self, file_id, wanted=("completed",), timeout=60, **params):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = self.status(file_id, **params).json()
            if last["status"] in wanted:
                return last
            time.sleep(0.05)
        raise AssertionError(f"{file_id} stayed {last}")


def _pdf_escape(text):
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages):
    """A valid PDF whose page i shows the lines of pages[i] in Helvetica."""
    objects = []  # (number, bytes)
    n_pages = len(pages)
    font_num = 3 + 2 * n_pages
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    for i, text in enumerate(pages):
        lines = text.split("\n")
        ops = ["BT", "/F1 11 Tf", "14 TL", "50 780 Td"]
        for line in lines:
            ops.append(f"({_pdf_escape(line)}) Tj T*")
        ops.append("ET")
        stream = zlib.compress("\n".join(ops).encode("latin-1"))
        page = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] "
                f"/Resources << /Font << /F1 {font_num} 0 R >> >> /Contents {4 + 2 * i} 0 R >>")
        objects.append(page.encode())
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream +
                       b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                   b"/Encoding /WinAnsiEncoding >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for num, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1,
                                                                               xref)
    return bytes(out)


def lorem_page(seed, sentences=30):
    """Deterministic filler prose (distinct per seed) for realistic chunking."""
    words = ("river mountain engine protocol garden theory market signal harvest "
             "library quantum ledger canvas orbit vessel meadow circuit lantern "
             "archive compass glacier harbor timber velvet").split()
    out = []
    x = seed * 7919 + 13
    for s in range(sentences):
        n = 8 + (x % 9)
        sent = []
        for _ in range(n):
            x = (x * 1103515245 + 12345) % (2 ** 31)
            sent.append(words[x % len(words)])
        out.append(" ".join(sent).capitalize() + ".")
    lines, line = [], ""
    for sent in out:
        for w in sent.split():
            if len(line) + len(w) > 90:
                lines.append(line)
                line = ""
            line = (line + " " + w).strip()
    lines.append(line)
    return "\n".join(lines)


def sha256(data):
    import hashlib
    return hashlib.sha256(data).hexdigest()


def corpus_rows():
    """Rows of ../shared/data/pdf/MANIFEST.tsv as dicts."""
    path = os.path.join(SHARED, "pdf", "MANIFEST.tsv")
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f if line.strip()]
