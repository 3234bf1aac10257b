"""A key kept in the instance folder, created once however many processes ask for it at the same
moment (gunicorn's workers all start together on a fresh folder).

The key is written whole to a private temporary file which is then hard-linked to its name: the link
either creates the name with the complete key, or fails because another process's key is already
there — which the loser then reads. So no process ever dies on FileExistsError, and none reads a
half-written key.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def read_or_create(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    """The key in `path` (owner-only), made by `make()` when there is none; and whether this call made it."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")   # mode 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(make())
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(temp, path)
                created = True
            except FileExistsError:
                created = False        # another process won the race: its key is complete, use it
        finally:
            os.unlink(temp)
        if created:
            return path.read_text().strip(), True
    return path.read_text().strip(), False
