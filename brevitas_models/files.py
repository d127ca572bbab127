"""Writing output files so that a crash never leaves a half-written file under its name.
The one home of atomic writes for the whole project (flow/ writes through it too)."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable


def write_atomic(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call write(tmp) on a temporary file beside `path`, then rename it to `path`
    (readable by everyone, as a plain file would be); on an error nothing is left."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """`data` to `path` atomically, creating its folder."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, lambda tmp: Path(tmp).write_bytes(data))


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    return write_bytes_atomic(path, text.encode())


def write_json_atomic(path: str | os.PathLike, data) -> Path:
    """Indented JSON; refuses NaN and infinities, which are not JSON."""
    return write_text_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n")
