import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from ragpdf_client import Server  # noqa: E402


@pytest.fixture
def server(tmp_path):
    s = Server(data_dir=str(tmp_path / "data")).start()
    yield s
    s.stop()


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    yield str(d)
    shutil.rmtree(str(d), ignore_errors=True)
