"""The shipped problem files, reachable by name from any directory.

The problem files live in the repository's top-level ``problems/`` folder; ``pip install`` installs them
into the package as ``mechdesign/problems/`` (``[tool.setuptools.package-dir]`` in ``pyproject.toml``), so
``mechdesign solve single_model_cobb_douglas`` works wherever it is run. A source checkout or an editable
install reads the repository's ``problems/`` directly.

A problem's *name* is its path under that folder without ``.toml``: ``single_model_cobb_douglas``,
``observed/<file>``.
"""

from __future__ import annotations

import difflib
import os
from importlib import resources
from pathlib import Path, PurePath

from mechdesign.exceptions import ProblemFileError

#: the file every shipped set holds (used to recognise a problems folder)
_MARKER = "single_model_cobb_douglas.toml"


def _candidates() -> list[Path]:
    out: list[Path] = []
    try:  # installed (wheel): the package data mechdesign/problems/
        inside = resources.files("mechdesign") / "problems"
        if isinstance(inside, Path):
            out.append(inside)
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - mechdesign is always importable here
        pass
    out.append(Path(__file__).resolve().parents[1] / "problems")  # source checkout, editable install
    return out


def shipped_dir() -> Path:
    """The folder of the shipped problem files: the installed package data, else the repository's ``problems/``.

    Raises
    ------
    ProblemFileError
        Neither exists (a broken installation).
    """
    cands = _candidates()
    for cand in cands:
        if (cand / _MARKER).is_file():
            return cand
    raise ProblemFileError("the shipped problem files were not found (looked in "
                           + ", ".join(str(c) for c in cands) + "); reinstall mechdesign")


def problem_names(folder: str | os.PathLike[str]) -> list[str]:
    """Names (paths under ``folder`` without ``.toml``, ``/``-separated) of the problem files in ``folder`` and
    its subfolders: top-level files first, each group sorted."""
    root = Path(folder)
    names = [p.relative_to(root).with_suffix("").as_posix() for p in root.rglob("*.toml") if p.is_file()]
    return sorted(names, key=lambda n: (n.count("/"), n))


def shipped_names() -> list[str]:
    """Names of the shipped problems, e.g. ``single_model_cobb_douglas`` (``mechdesign problems`` lists them)."""
    return problem_names(shipped_dir())


def _name_of(text: str) -> str:
    # a leading problems/: the repository-relative paths of the docs, run from elsewhere
    return PurePath(text).as_posix().removesuffix(".toml").removeprefix("problems/")


def _suggestions(key: str, names: list[str]) -> list[str]:
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
    base = key.rsplit("/", 1)[-1]
    bases = {n.rsplit("/", 1)[-1] for n in names}
    near = set(difflib.get_close_matches(base, sorted(bases), n=3, cutoff=0.6))
    close += [n for n in names if n.rsplit("/", 1)[-1] in near and n not in close]
    return close


def resolve(name_or_path: str | os.PathLike[str]) -> Path:
    """The problem file that ``name_or_path`` names.

    An existing path wins (returned as given; a directory too, so that the reader reports it as one); else
    a shipped problem's name, with or without ``.toml`` (``single_model_cobb_douglas``,
    ``observed/<name>``; a leading ``problems/`` is accepted too).

    Raises
    ------
    ProblemFileError
        Neither: the message lists the shipped names, close matches first.
    """
    p = Path(name_or_path)
    if p.exists():
        return p
    text = os.fspath(name_or_path)
    key = _name_of(text)
    try:
        folder = shipped_dir()
    except ProblemFileError:
        names: list[str] = []
    else:
        names = problem_names(folder)
        if key in names:
            return folder / f"{key}.toml"
    close = _suggestions(key, names)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    listed = close + [n for n in names if n not in close]
    shipped = f" Shipped problems: {', '.join(listed)}." if listed else ""
    raise ProblemFileError(f"problem file {text!r} does not exist and is not a shipped problem's name{hint}"
                           f"{shipped} Give a path to a .toml file or a name (`mechdesign problems` lists them).")
