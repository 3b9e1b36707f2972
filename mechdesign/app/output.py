"""Output files of the ``mechdesign`` command: checked before any work, written all together or not at all.

Every verb that writes files (``--json``, ``--csv``, ``--plot``, ``--out``) calls
:func:`check_output_paths` before it solves anything, so that a path it cannot write fails in a
second, not after the solve; and it writes through :func:`write_outputs`, which writes every file to a
temporary file beside its target and moves them into place only when every writer has succeeded. A
failure leaves no partial output: no file of the run is created or replaced.

Paths that are not regular files are never replaced: a symbolic link is written through (atomically, at
the file it points to, so the link stays a link), and a named pipe (FIFO) or a character device (a
terminal, ``/dev/stdout``, ``/dev/null``) is written directly, after every other writer has succeeded.
Other kinds (sockets, block devices) are refused.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from mechdesign.exceptions import ProblemSpecError

#: a writer receives the temporary path to write (its suffix is the target's, so that writers that
#: infer the format from the extension, like matplotlib's ``savefig``, still work)
Writer = Callable[[Path], object]


def _option(key: str) -> str:
    """``json`` -> ``--json``; ``time_limit`` -> ``--time-limit``; keys that already look like options stay."""
    return key if key.startswith("-") else "--" + key.replace("_", "-")


def check_output_paths(**paths: str | Path | None) -> None:
    """Check, before any solving, that each output path can be written.

    Keyword names are the options (``json=args.json, csv=args.csv``; ``None`` values are skipped). Each
    path must not be an existing folder, its folder must exist and be writable, and no two options may
    name the same file.

    Raises
    ------
    ProblemSpecError
        Naming the option and the path, e.g. ``--csv = 'missing/x.csv' is invalid: its folder
        'missing' does not exist.``
    """
    seen: dict[Path, str] = {}
    for key, raw in paths.items():
        if raw is None:
            continue
        option = _option(key)
        text = str(raw)
        if not text.strip():
            raise ProblemSpecError(option, text, "must be a file path")
        path = Path(text)
        if path.is_dir():
            raise ProblemSpecError(option, text, "is a folder; give a file path inside it")
        if option in IMAGE_OPTIONS:
            check_image_suffix(option, text)
        target, direct = destination(path)
        if target.exists() and not direct and not target.is_file():
            raise ProblemSpecError(option, text, "is neither a regular file, a named pipe nor a character device "
                                   "(a socket or a block device); give a file path")
        if direct and not os.access(target, os.W_OK):
            raise ProblemSpecError(option, text, "is not writable")
        folder = target.parent
        if not folder.exists():
            raise ProblemSpecError(option, text, f"its folder {str(folder)!r} does not exist (create it first)")
        if not folder.is_dir():
            raise ProblemSpecError(option, text, f"{str(folder)!r} is not a folder")
        if not direct and not os.access(folder, os.W_OK | os.X_OK):
            raise ProblemSpecError(option, text, f"its folder {str(folder)!r} is not writable")
        if path.exists() and not os.access(path, os.W_OK):
            raise ProblemSpecError(option, text, "the file exists and is not writable")
        resolved = path.resolve()
        if resolved in seen:
            raise ProblemSpecError(option, text, f"is also the path of {seen[resolved]}; give each output its own file")
        seen[resolved] = option


#: options whose file is an image (matplotlib chooses the format by the file's extension)
IMAGE_OPTIONS = ("--plot", "--out")


def check_image_suffix(option: str, path: str | Path) -> None:
    """Refuse an image path whose extension matplotlib cannot write (``--plot x.txt``); no extension
    (``/dev/stdout``) writes a PNG."""
    from matplotlib.backend_bases import FigureCanvasBase

    suffix = Path(path).suffix.lower().lstrip(".")
    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    if suffix and suffix not in formats:
        raise ProblemSpecError(_option(option), str(path), f"has the extension .{suffix}, which is not an image "
                               "format; use .png (or " + ", ".join("." + f for f in formats if f != "png") + ")")


def check_output_folder(option: str, folder: str | Path) -> None:
    """Check that ``folder`` is a writable folder or can be created (its nearest existing parent is a
    writable folder); for options like ``bench --out DIR``."""
    if not str(folder).strip():
        raise ProblemSpecError(_option(option), str(folder), "must be a folder path")
    path = Path(folder)
    if path.exists():
        if not path.is_dir():
            raise ProblemSpecError(_option(option), str(folder), "exists and is not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise ProblemSpecError(_option(option), str(folder), "is not a writable folder")
        return
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ProblemSpecError(_option(option), str(folder), f"cannot be created: {str(parent)!r} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ProblemSpecError(_option(option), str(folder),
                               f"cannot be created: {str(parent)!r} is not writable")


def destination(path: Path) -> tuple[Path, bool]:
    """Where an output for ``path`` goes: ``(file, direct)``. A symbolic link resolves to the file it points
    to (which is replaced atomically, the link kept); ``direct`` is true for a named pipe or a character
    device, which is written in place, never replaced."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = os.stat(target).st_mode
    except OSError:  # not there yet (or unreadable: the checks and the write report it)
        return target, False
    return target, stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def _scratch(target: Path) -> Path:
    """A new empty file in the temporary folder with ``target``'s suffix (for outputs written directly)."""
    fd, name = tempfile.mkstemp(prefix="mechdesign-", suffix=target.suffix)
    os.close(fd)
    return Path(name)


def _temporary(target: Path) -> Path:
    """A new empty file beside ``target`` with the same suffix (created with the usual permissions)."""
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp{target.suffix}")
        try:
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"cannot create a temporary file beside {str(target)!r}")  # pragma: no cover


def write_outputs(writers: Mapping[str | Path, Writer]) -> list[Path]:
    """Write every output, or none of them.

    ``writers`` maps each target path to a callable that writes the file at the path it is given (a
    temporary file beside the target, with the target's suffix). When every writer has succeeded, the
    temporaries are moved into place with :func:`os.replace` (atomic for each file; through symbolic links,
    and written directly into pipes and character devices, see :func:`destination`); if any writer
    raises, every temporary is removed, no target is created or changed, and the exception propagates.

    Returns the target paths, in the order given (print ``wrote PATH`` for each).
    """
    staged: list[tuple[Path, Path, bool]] = []
    try:
        for target, write in writers.items():
            dest, direct = destination(Path(target))
            tmp = _scratch(dest) if direct else _temporary(dest)
            staged.append((tmp, dest, direct))
            write(tmp)
        for tmp, dest, direct in staged:  # pipes and devices first: a failed write there replaces nothing
            if direct:
                try:
                    with open(tmp, "rb") as src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out)
                except OSError as exc:  # e.g. /dev/full: name the path
                    raise OSError(exc.errno, exc.strerror, str(dest)) from None
        for tmp, dest, direct in staged:
            if not direct:
                os.replace(tmp, dest)
    finally:
        for tmp, _, _ in staged:
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
    return [Path(target) for target in writers]
