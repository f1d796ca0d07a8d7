"""`ragpdf fetch-model` against a fake Hugging Face hub on loopback: the URL
scheme, HTTP Range resumption and SHA-256 verification (no internet here)."""
import hashlib
import http.server
import json
import os
import subprocess
import threading
import urllib.parse

import pytest

from ragpdf_client import BINARY, ROOT

MAKER = os.path.join(ROOT, "tests", "tools", "make_random_bert.py")
REPO = "org/tiny-bert"
LFS = {"model.safetensors"}


class FakeHub:
    """Serves /api/models/REPO/revision/REV?blobs=true and
    /REPO/resolve/REV/FILE (LFS files redirect to a CDN path on another host
    name, as the hub does), with single-range support."""

    def __init__(self, files):
        self.files = files  # {name: bytes}
        self.requests = []  # (path, Range header, Authorization header)
        self.listed = set(files) | {"pytorch_model.bin", "README.md"}
        self.listing_sha = {n: hashlib.sha256(files[n]).hexdigest() for n in LFS}
        self.etag_sha = dict(self.listing_sha)
        self.drop_once = set()  # names whose next body is cut in the middle
        self.api_status = 200
        self.revision = "main"
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                hub.requests.append((self.path, self.headers.get("Range"),
                                     self.headers.get("Authorization")))
                url = urllib.parse.urlsplit(self.path)
                rev = urllib.parse.quote(hub.revision, safe="")
                if url.path == f"/api/models/{REPO}/revision/{rev}" and url.query == "blobs=true":
                    return self.api()
                prefix = f"/{REPO}/resolve/{rev}/"
                if url.path.startswith(prefix):
                    name = urllib.parse.unquote(url.path[len(prefix):])
                    if name in LFS:
                        self.send_response(302)
                        self.send_header("Location", f"http://localhost:{hub.port}/cdn/{name}")
                        self.send_header("X-Linked-Etag", f'"{hub.etag_sha[name]}"')
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return None
                    return self.serve(name)
                if url.path.startswith("/cdn/"):
                    return self.serve(url.path[len("/cdn/"):])
                self.send_error(404)
                return None

            def api(self):
                if hub.api_status != 200:
                    self.send_error(hub.api_status, "Repository not found")
                    return
                siblings = []
                for name in sorted(hub.listed):
                    data = hub.files.get(name, b"x")
                    entry = {"rfilename": name, "size": len(data), "blobId": "0" * 40}
                    if name in hub.listing_sha:
                        entry["lfs"] = {"sha256": hub.listing_sha[name], "size": len(data),
                                        "pointerSize": 134}
                    siblings.append(entry)
                body = json.dumps({"id": REPO, "sha": "1" * 40, "siblings": siblings}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def serve(self, name):
                data = hub.files.get(name)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng:
                    assert rng.startswith("bytes=") and rng.endswith("-"), rng
                    start = int(rng[len("bytes="):-1])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range",
                                     f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if name in hub.drop_once:
                    hub.drop_once.discard(name)
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def fetched(self, name):
        """Requests that fetched `name` (hub path or CDN path)."""
        return [r for r in self.requests
                if r[0].endswith("/resolve/" + self.revision_path() + "/" + name)
                or r[0] == "/cdn/" + name]

    def revision_path(self):
        return urllib.parse.quote(self.revision, safe="")


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("src-model"))
    subprocess.run(["/usr/bin/python3", MAKER, "make", d, "--layers", "1", "--hidden", "32",
                    "--heads", "2", "--intermediate", "48", "--vocab", "120"],
                   check=True, capture_output=True)
    files = {}
    for root, _, names in os.walk(d):
        for n in names:
            path = os.path.join(root, n)
            files[os.path.relpath(path, d)] = open(path, "rb").read()
    return d, files


@pytest.fixture
def hub(model_files):
    h = FakeHub(dict(model_files[1]))
    yield h
    h.close()


def fetch(hub, dest, *args, token="secret-token"):
    env = dict(os.environ, HF_ENDPOINT=hub.url)
    env.pop("HF_TOKEN", None)
    if token:
        env["HF_TOKEN"] = token
    return subprocess.run([BINARY, "fetch-model", REPO, "--dest", str(dest), *args],
                          capture_output=True, text=True, timeout=120, env=env)


def test_fetches_listed_files_with_the_documented_urls(hub, model_files, tmp_path):
    src, files = model_files
    dest = tmp_path / "m"
    out = fetch(hub, dest)
    assert out.returncode == 0, out.stderr
    for name, data in files.items():
        assert (dest / name).read_bytes() == data, name
    assert not (dest / "pytorch_model.bin").exists() and not (dest / "README.md").exists()
    assert not list(dest.rglob("*.part"))

    paths = [r[0] for r in hub.requests]
    assert paths[0] == f"/api/models/{REPO}/revision/main?blobs=true"
    resolved = sorted(p[len(f"/{REPO}/resolve/main/"):] for p in paths
                      if p.startswith(f"/{REPO}/resolve/main/"))
    assert resolved == sorted(files)  # only the files ragpdf needs, by the URL scheme
    for path, _, auth in hub.requests:
        if path.startswith("/cdn/"):
            assert auth is None  # the token does not follow a redirect to another host
        else:
            assert auth == "Bearer secret-token", path

    # The downloaded directory is a working model.
    line = "tok5 tok6 tok7\n"
    a = subprocess.run([BINARY, "embed", "--model", str(dest)], input=line, capture_output=True,
                       text=True, timeout=60)
    b = subprocess.run([BINARY, "embed", "--model", src], input=line, capture_output=True,
                       text=True, timeout=60)
    assert a.returncode == 0 and a.stdout == b.stdout and a.stdout.startswith("[")


def test_dropped_connection_is_resumed_with_a_range_request(hub, model_files, tmp_path):
    _, files = model_files
    hub.drop_once.add("model.safetensors")
    dest = tmp_path / "m"
    out = fetch(hub, dest)
    assert out.returncode == 0, out.stderr
    assert (dest / "model.safetensors").read_bytes() == files["model.safetensors"]
    cdn = [r for r in hub.requests if r[0] == "/cdn/model.safetensors"]
    assert len(cdn) == 2 and cdn[0][1] is None
    resumed_at = int(cdn[1][1][len("bytes="):-1])
    assert resumed_at == len(files["model.safetensors"]) // 2
    assert "retrying" in out.stderr


def test_existing_part_file_is_resumed(hub, model_files, tmp_path):
    _, files = model_files
    dest = tmp_path / "m"
    dest.mkdir()
    weights = files["model.safetensors"]
    (dest / "model.safetensors.part").write_bytes(weights[:1000])
    out = fetch(hub, dest)
    assert out.returncode == 0, out.stderr
    assert (dest / "model.safetensors").read_bytes() == weights
    assert [r[1] for r in hub.requests if r[0] == "/cdn/model.safetensors"] == ["bytes=1000-"]
    assert not (dest / "model.safetensors.part").exists()


def test_complete_part_file_is_finished_without_a_body(hub, model_files, tmp_path):
    _, files = model_files
    dest = tmp_path / "m"
    dest.mkdir()
    (dest / "model.safetensors.part").write_bytes(files["model.safetensors"])
    out = fetch(hub, dest)
    assert out.returncode == 0, out.stderr
    assert (dest / "model.safetensors").read_bytes() == files["model.safetensors"]


def test_checksum_mismatch_fails_and_keeps_nothing(hub, tmp_path):
    hub.listing_sha["model.safetensors"] = "ab" * 32
    dest = tmp_path / "m"
    out = fetch(hub, dest)
    assert out.returncode == 1
    assert "model.safetensors" in out.stderr and "checksum mismatch" in out.stderr
    assert not (dest / "model.safetensors").exists()
    assert not (dest / "model.safetensors.part").exists()


def test_etag_checksum_is_used_when_the_listing_has_none(hub, tmp_path):
    del hub.listing_sha["model.safetensors"]
    hub.etag_sha["model.safetensors"] = "cd" * 32
    out = fetch(hub, tmp_path / "m")
    assert out.returncode == 1 and "cdcdcdcd" in out.stderr, out.stderr


def test_present_file_with_right_checksum_is_kept(hub, tmp_path):
    dest = tmp_path / "m"
    assert fetch(hub, dest).returncode == 0
    hub.requests.clear()
    out = fetch(hub, dest)
    assert out.returncode == 0, out.stderr
    assert not [r for r in hub.requests if "model.safetensors" in r[0]]
    assert "present, checksum ok" in out.stderr


def test_revision_is_percent_encoded(hub, model_files, tmp_path):
    hub.revision = "refs/pr/1"
    out = fetch(hub, tmp_path / "m", "--revision", "refs/pr/1", token=None)
    assert out.returncode == 0, out.stderr
    assert hub.requests[0][0] == f"/api/models/{REPO}/revision/refs%2Fpr%2F1?blobs=true"
    assert all(r[2] is None for r in hub.requests)  # no HF_TOKEN: no Authorization


def test_clear_errors(hub, tmp_path):
    hub.api_status = 404
    out = fetch(hub, tmp_path / "a")
    assert out.returncode == 1 and "404" in out.stderr and "revision" in out.stderr
    hub.api_status = 200
    hub.listed.discard("model.safetensors")
    out = fetch(hub, tmp_path / "b")
    assert out.returncode == 1 and "model.safetensors" in out.stderr
    n = len(hub.requests)
    bad = subprocess.run([BINARY, "fetch-model", "../etc", "--dest", str(tmp_path / "c")],
                         capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, HF_ENDPOINT=hub.url))
    assert bad.returncode == 1 and "not a Hugging Face model id" in bad.stderr
    assert len(hub.requests) == n
    help_text = subprocess.run([BINARY, "fetch-model", "--help"], capture_output=True, text=True,
                               timeout=60).stdout
    assert "/api/models/HF_ID/revision/REVISION" in help_text
    assert "resolve/REVISION/FILE" in help_text
