"""The verbs of the ``mechdesign`` command, one module each, every one a ``run(args) -> int``.

:mod:`mechdesign.app.cli` holds the parser and ``main`` (errors, exit codes); ``calibrate`` and ``schema``
live in :mod:`mechdesign.app.calibrate` and :mod:`mechdesign.app.schema`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def wrote(paths: Sequence[Path]) -> None:
    """Print ``wrote PATH`` for every file written."""
    for path in paths:
        print(f"wrote {path}")
