"""Shared fixtures: the real offline MiniLM embedder and real Chroma stores."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from asem_core import ASEM, SentenceTransformerEmbedder

LOCOMO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "locomo"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "demo_conversation.json"


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    emb = SentenceTransformerEmbedder()
    emb.embed(["warm up"])
    return emb


@pytest.fixture(params=["embedded", "server"])
def mem(request: pytest.FixtureRequest, embedder: SentenceTransformerEmbedder) -> Iterator[ASEM]:
    """The core suite runs twice: on an in-process Chroma and through a real `chroma run` server."""
    if request.param == "server":
        url = request.getfixturevalue("server")
        yield ASEM(url=url, embedder=embedder, namespace=uuid.uuid4().hex[:12])
    else:
        yield ASEM.ephemeral(embedder=embedder)


@pytest.fixture()
def locomo_dir() -> Path:
    if not LOCOMO.is_dir():
        pytest.skip("LoCoMo data not found beside the checkout (../shared/data/locomo)")
    return LOCOMO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(path: Path, port: int) -> subprocess.Popen:
    """Start `chroma run` on 127.0.0.1:port and wait until it accepts connections."""
    chroma = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail("chroma run did not start within 60 s")


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    port = free_port()
    proc = start_server(tmp_path_factory.mktemp("chroma"), port)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)
