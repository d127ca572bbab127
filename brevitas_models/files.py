"""Writing output files so that a crash never leaves a half-written file under its name.
The one home of atomic writes for the whole project (flow/ writes through it too)."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable


def sha256_file(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes, hex (read in blocks: checkpoints and archives are big)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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


class OutputPathError(ValueError):
    """An output path that cannot be written; the message names the option and the path."""


def check_writable_dir(path: str | os.PathLike, option: str, keep: bool = True) -> Path:
    """Refuse, before any long work, an output folder that is a file, cannot be created
    (e.g. under /proc) or cannot be written (a read-only file system, no permission): by
    creating it and a file in it, which is what the job will do. keep=False removes again
    the folders this call created."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputPathError(f"{option} {p}: is a file, not a folder")
    created = [q for q in [*reversed(p.parents), p] if not q.exists()]
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputPathError(f"{option} {p}: cannot create the folder: "
                              f"{e.strerror or e}") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".tmp-probe-", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputPathError(f"{option} {p}: cannot write in it: {e.strerror or e}") from None
    finally:
        if not keep:
            for q in reversed(created):
                try:
                    q.rmdir()
                except OSError:
                    pass
    return p


def check_writable_file(path: str | os.PathLike, option: str) -> Path:
    """Refuse an output file that is a folder or whose folder cannot be written (as
    check_writable_dir; the file is written later, atomically, beside where it goes)."""
    p = Path(path)
    if p.is_dir():
        raise OutputPathError(f"{option} {p}: is a folder, not a file")
    check_writable_dir(p.parent, option, keep=False)
    return p
