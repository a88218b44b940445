"""The folder lock of a local store: one writing process at a time (re-entrant within a process)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from ._errors import StoreLockedError

__all__ = ["LOCK_FILE", "acquire_folder_lock", "first_hold", "release_folder_lock"]

LOCK_FILE = ".asem.lock"

_LOCKS: dict[str, tuple[Any, int]] = {}
_LOCKS_GUARD = threading.Lock()


def acquire_folder_lock(folder: Path, timeout: float) -> str:
    """Take this process's exclusive lock on a local store folder (re-entrant within the process).

    Chroma's embedded store must not be written by two processes at once; a second process waits
    up to ``timeout`` seconds, then gets :class:`StoreLockedError`.

    Returns:
        The key to pass to :func:`release_folder_lock`.
    """
    key = str(folder.resolve())
    with _LOCKS_GUARD:
        held = _LOCKS.get(key)
        if held is not None:
            _LOCKS[key] = (held[0], held[1] + 1)
            return key
        try:
            import fcntl
        except ImportError:  # pragma: no cover - no advisory locks on this platform
            _LOCKS[key] = (None, 1)
            return key
        fh = open(folder / LOCK_FILE, "a+")  # noqa: SIM115 - held open while the store is open
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    owner = fh.read().strip() or "another process"
                    fh.close()
                    msg = f"the store at {folder} is open in process {owner}; close it there, or share the store through a Chroma server (ASEM(url=...))"
                    raise StoreLockedError(msg) from None
                time.sleep(0.05)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        _LOCKS[key] = (fh, 1)
        return key


def release_folder_lock(key: str) -> None:
    """Release one hold of a folder lock taken by :func:`acquire_folder_lock`."""
    with _LOCKS_GUARD:
        held = _LOCKS.get(key)
        if held is None:
            return
        fh, count = held
        if count > 1:
            _LOCKS[key] = (fh, count - 1)
            return
        del _LOCKS[key]
        if fh is not None:
            fh.close()  # closing the file drops the flock


def first_hold(key: str) -> bool:
    """True when this process holds the folder lock of ``key`` exactly once (no other open store of this process shares it)."""
    with _LOCKS_GUARD:
        held = _LOCKS.get(key)
        return held is not None and held[1] == 1
