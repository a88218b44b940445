"""``asem mcp`` end to end: the real server process, driven by the MCP SDK's own client session."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import StdioServerParameters
from mcp.client.session import ClientSession
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from asem_cli import make_parser
from asem_server._mcp import TOOLS
from conftest import free_port

ENV = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PATH": os.environ.get("PATH", "")}


def _payload(result: Any) -> Any:
    assert not result.is_error, result.content
    return result.structured_content["result"]


async def _exercise(session: ClientSession) -> dict[str, Any]:
    await session.initialize()
    names = sorted(t.name for t in (await session.list_tools()).tools)
    added = _payload(await session.call_tool("add_memory", {"text": "I live in Paris.", "timestamp": "2023-05-08"}))
    other = _payload(await session.call_tool("add_memory", {"text": "My dog is called Rex."}))
    hits = _payload(await session.call_tool("search_memory", {"query": "Where do I live?", "k": 2}))
    rewarded = _payload(await session.call_tool("memory_feedback", {"reward": 1.0, "note_ids": [added[0]["note_id"]]}))
    bad_reward = await session.call_tool("memory_feedback", {"reward": 3.0, "note_ids": [added[0]["note_id"]]})
    unknown = await session.call_tool("memory_history", {"note_id": "no-such-note"})
    empty_query = await session.call_tool("search_memory", {"query": ""})
    deleted = (await session.call_tool("delete_memory", {"note_id": other[0]["note_id"]})).structured_content
    history = _payload(await session.call_tool("memory_history", {"note_id": other[0]["note_id"]}))
    after = _payload(await session.call_tool("search_memory", {"query": "dog", "k": 5}))
    elsewhere = _payload(await session.call_tool("search_memory", {"query": "Where do I live?", "user_id": "someone-else"}))
    return locals()


def _check(seen: dict[str, Any]) -> None:
    assert seen["names"] == sorted(TOOLS)
    assert seen["added"][0]["op"] == "ADD"
    assert seen["hits"][0]["note"]["content"] == "I live in Paris."
    assert seen["rewarded"][0]["q"] == pytest.approx(0.55)
    for name in ("bad_reward", "unknown", "empty_query"):  # errors come back as tool errors, the server lives on
        assert seen[name].is_error, name
    assert "InvalidInputError" in seen["bad_reward"].content[0].text
    assert "NoteNotFoundError" in seen["unknown"].content[0].text
    assert seen["deleted"]["op"] == "DELETE" and seen["deleted"]["note"]["valid"] is False
    assert [v["op"] for v in seen["history"]] == ["ADD", "DELETE"]
    assert all(h["note"]["content"] != "My dog is called Rex." for h in seen["after"])
    assert seen["elsewhere"] == []


def test_mcp_over_stdio(tmp_path: Path) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "asem_cli", "mcp", "--path", str(tmp_path / "store"), "--user-id", "maya"], env=ENV)

    async def run() -> dict[str, Any]:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            return await _exercise(session)

    _check(anyio.run(run))
    # the writes are in the store: the CLI reads them afterwards
    out = subprocess.run(
        [sys.executable, "-m", "asem_cli", "list", "--path", str(tmp_path / "store"), "--user-id", "maya", "--all", "--json"],
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    )
    assert sorted(n["content"] for n in json.loads(out.stdout)) == ["I live in Paris.", "My dog is called Rex."]


def test_mcp_over_streamable_http(tmp_path: Path) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "asem_cli", "mcp", "--transport", "streamable-http", "--port", str(port), "--path", str(tmp_path / "s"), "--user-id", "maya"]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                time.sleep(0.3)

        async def run() -> dict[str, Any]:
            async with streamable_http_client(f"http://127.0.0.1:{port}/mcp") as streams, ClientSession(streams[0], streams[1]) as session:
                return await _exercise(session)

        _check(anyio.run(run))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_readme_mcp_client_config_starts_this_server() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```json\n(.*?)```", readme, flags=re.DOTALL)
    assert block is not None
    entry = json.loads(block.group(1))["mcpServers"]["asem"]
    args = make_parser().parse_args(entry["args"])
    assert entry["command"] == "asem" and args.command == "mcp" and args.user_id == "me" and args.transport == "stdio"
