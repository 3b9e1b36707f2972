"""``mechdesign problems``: list the shipped problems, or the problem files of a folder (the kind of a file
without ``problem.kind`` is the registry's first, :func:`mechdesign.problemfile.default_kind`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mechdesign.exceptions import ProblemFileError


def run(args: argparse.Namespace) -> int:
    import tomllib

    from mechdesign.problemfile import OBSERVED_KINDS, default_kind, observed_kind
    from mechdesign.shipped import problem_names, shipped_dir

    if args.dir is None:
        folder = shipped_dir()
        rows = [(name, folder / f"{name}.toml") for name in problem_names(folder)]
    else:
        if not args.dir.strip():
            raise ProblemFileError("--dir '' is empty; give the folder of problem files "
                                   "(omit --dir for the shipped ones)")
        folder = Path(args.dir)
        if folder.exists() and not folder.is_dir():
            raise ProblemFileError(f"--dir {args.dir!r} is a file; give the folder of problem files")
        if not folder.is_dir():
            raise ProblemFileError(f"folder {args.dir!r} does not exist (omit --dir to list the shipped problems)")
        rows = [(str(folder / f"{name}.toml"), folder / f"{name}.toml") for name in problem_names(folder)]
    table = []
    for label, path in rows:
        try:
            data = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ProblemFileError(f"problem file {str(path)!r} is not valid TOML: {exc}") from None
        observed = observed_kind(data)
        if observed is not None:
            key, _, how = OBSERVED_KINDS[observed]
            page = data[key] if isinstance(data[key], dict) else {}
            what = " ".join(str(page[k]) for k in ("provider", "product", "effective_date") if k in page)
            table.append((label, observed, f"{what}; {how.format(name=label)}".lstrip("; ")))
            continue
        meta = data.get("problem", {})
        meta = meta if isinstance(meta, dict) else {}
        table.append((label, str(meta.get("kind", default_kind())), str(meta.get("description", ""))))
    width = max([len("name")] + [len(r[0]) for r in table])
    kwidth = max([len("kind")] + [len(r[1]) for r in table])
    print(f"{'name':{width}s}  {'kind':{kwidth}s}  description")
    for label, kind, desc in table:
        print(f"{label:{width}s}  {kind:{kwidth}s}  {desc}")
    pages = sum(kind in OBSERVED_KINDS for _, kind, _ in table)
    where = "shipped problems" if args.dir is None else "problem files"
    print(f"\n{len(table) - pages} {where} and {pages} observed price files in {folder}"
          + ("; solve a problem with `mechdesign solve NAME`, calibrate a price page with "
             "`mechdesign calibrate NAME`" if args.dir is None else ""))
    return 0
