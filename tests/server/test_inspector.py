"""The memory inspector in a real browser (Debian's Chromium driven by Playwright), and ``asem --server``.

``asem serve`` runs as its own process over a store made from a LoCoMo conversation. The page is
loaded, a scope opened, a question searched, -1 pressed until the order changes, a note's history
opened. Without Chromium the test is skipped, unless ``ASEM_REQUIRE_BROWSER=1`` (CI sets it).
Set ``ASEM_SCREENSHOTS=DIR`` to keep the screenshots (the README's come from ``docs/``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from asem_core import ASEM
from asem_core.locomo import ingest_sessions, load_locomo
from conftest import LOCOMO, free_port

KEY = "inspector-test-key"
ENV = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PATH": os.environ.get("PATH", "")}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[tuple[str, str]]:
    """``asem serve`` over the first three sessions of a LoCoMo conversation: (url, user id)."""
    if not LOCOMO.is_dir():
        pytest.skip("LoCoMo data not found beside the checkout")
    conv = load_locomo(LOCOMO / "conv-30.json")[0]
    store = tmp_path_factory.mktemp("inspector") / "store"
    with ASEM(path=store, embedder=embedder) as mem:
        items = [t.as_item() for t in conv.turns if t.session <= 3]
        list(ingest_sessions(mem, items, batch=64, user_id=conv.sample_id))
    port = free_port()
    cmd = [sys.executable, "-m", "asem_cli", "serve", "--path", str(store), "--port", str(port), "--api-key", KEY]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 90
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail(f"asem serve did not start: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
            time.sleep(0.3)
    yield f"http://127.0.0.1:{port}", conv.sample_id
    proc.terminate()
    proc.wait(timeout=30)


def _order(page) -> list[str]:
    return page.eval_on_selector_all("#results tbody tr", "rows => rows.map(r => r.dataset.id)")


def test_inspector_in_a_real_browser(served: tuple[str, str], tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("ASEM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium not found at {CHROMIUM} (install Debian's chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    url, user = served
    shots = Path(os.environ.get("ASEM_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url + "/")
        page.fill("#api-key", KEY)
        page.fill("#user-id", user)
        page.click("#load")
        page.wait_for_function("document.querySelectorAll('#notes tbody tr').length > 20")
        total = page.locator("#notes tbody tr").count()
        assert page.locator("#graph canvas").count() > 0  # the link graph is drawn
        page.fill("#note-filter", "studio")
        assert 0 < page.locator("#notes tbody tr").count() < total
        page.fill("#note-filter", "")
        assert "notes per scope" in page.inner_text("#stats") and f'"user_id":"{user}"' in page.inner_text("#stats")

        page.fill("#query", "Why did Jon decide to start his dance studio?")
        page.click("#search")
        page.wait_for_selector("#results tbody tr")
        before = _order(page)
        assert len(before) == 10
        page.screenshot(path=str(shots / "inspector-search.png"), full_page=False)
        for press in range(1, 6):  # -1 on the top hit until another note takes its place
            top = _order(page)[0]
            page.click("#results tbody tr:first-child button.fb-down")
            page.wait_for_function(f"document.querySelector('#status').textContent.includes('q of {top[:8]}')")
            page.wait_for_function(f"document.querySelector('#results tbody tr').dataset.id !== '{top}' || {press} >= 5")
            if _order(page)[0] != top:
                break
        after = _order(page)
        assert after != before and after[0] != before[0]

        page.click(f"#results tbody tr[data-id='{before[0]}'] td:nth-child(2)")
        page.wait_for_selector("#history .version")
        assert page.locator("#history .version").count() >= 1
        assert page.locator("#ops tbody tr").count() >= 2  # its ADD and the feedback just given
        assert page.locator("#utility svg circle").count() >= 2  # utility over time
        assert before[0] in page.inner_text("#detail-id")
        page.screenshot(path=str(shots / "inspector-note.png"), full_page=True)
        page.goto(url + "/docs")  # the API docs render from the package's own Swagger UI, offline
        page.wait_for_selector(".opblock")
        assert page.locator(".opblock").count() >= 15
        browser.close()
    assert not errors, errors
    assert (shots / "inspector-search.png").stat().st_size > 10_000


def test_cli_talks_to_a_running_server(served: tuple[str, str], tmp_path: Path) -> None:
    url, user = served
    base = [sys.executable, "-m", "asem_cli"]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args, "--server", url, "--api-key", KEY, "--json"], capture_output=True, text=True, env=ENV, timeout=120, check=False)

    found = cli("search", "Why did Jon decide to start his dance studio?", "--user-id", user, "-k", "3")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert len(hits) == 3 and all(h["note"]["scope"]["user_id"] == user for h in hits)
    assert "Loading" not in found.stderr  # no model load in the CLI process
    note_id = hits[0]["note"]["id"]
    assert json.loads(cli("get", note_id, "--user-id", user).stdout)["id"] == note_id
    assert json.loads(cli("history", note_id, "--user-id", user).stdout)[0]["op"] == "ADD"
    missing = cli("get", "nope", "--user-id", user)
    assert missing.returncode == 1 and json.loads(missing.stdout)["error"] == "NoteNotFoundError"
    assert any(s["user_id"] == user for s in json.loads(cli("scopes").stdout))
    out = tmp_path / "dump.jsonl"
    exported = json.loads(cli("export", str(out), "--user-id", user).stdout)
    assert exported["notes"] > 20 and sum(1 for line in out.read_text().splitlines() if "note" in json.loads(line)) == exported["notes"]
