"""MkDocs hook: execute the tutorials (jupytext percent scripts in ``docs/tutorials/``) and render them.

Each ``docs/tutorials/NN-name.py`` is read with jupytext, executed top to bottom in a fresh Jupyter kernel
(nbclient, in a temporary working folder) and written as the page ``tutorials/NN-name.md``: the markdown
cells, the code, its printed output, tables and figures (PNG files beside the page). A cell that raises
stops the build with the tutorial's name and the error, so ``mkdocs build`` fails when a tutorial does; a
tutorial that prints a warning is also reported (strict builds fail on it). ``gallery.md`` shows the last
figure of every tutorial. Results are kept per source text for the life of the process (``mkdocs serve``).
The ``.py`` sources are published beside the pages, to download and run.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import tempfile
import time
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.tutorials")
_CACHE: dict[str, tuple[str, str, list[tuple[str, bytes]]]] = {}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TIMEOUT_S = 600  # per cell


def _table(html: str) -> str:
    """A pandas table as plain HTML that the theme styles (no class, border or scoped style)."""
    html = re.sub(r"<style scoped>.*?</style>", "", html, flags=re.DOTALL)
    html = re.sub(r'<table border="\d+" class="dataframe">', "<table>", html)
    html = re.sub(r'\s*style="text-align: right;"', "", html)
    return '<div class="md-typeset__scrollwrap"><div class="md-typeset__table">\n' + html.strip() + "\n</div></div>"


def _fence(text: str, lang: str = "text") -> str:
    text = _ANSI.sub("", text).rstrip("\n")
    return f"```{lang}\n{text}\n```"


def render(nb, stem: str) -> tuple[str, str, list[tuple[str, bytes]]]:  # type: ignore[no-untyped-def]
    """(title, markdown, images) of an executed notebook."""
    parts: list[str] = []
    images: list[tuple[str, bytes]] = []
    title = stem
    for cell in nb.cells:
        src = cell.source.strip("\n")
        if cell.cell_type == "markdown":
            m = re.match(r"#\s+(.+)", src)
            if m and title == stem:
                title = m.group(1).strip()
            parts.append(src)
            continue
        if cell.cell_type != "code" or not src:
            continue
        parts.append(_fence(src, "python"))
        stream = ""
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                if out.name == "stderr" and "Warning" in out.text:
                    log.warning(f"tutorial {stem}: a cell printed a warning: {out.text.strip()[:300]}")
                stream += out.text
                continue
            if stream:
                parts.append(_fence(stream))
                stream = ""
            if out.output_type == "error":  # only with allow_errors; never in the build
                parts.append(_fence("\n".join(out.traceback)))
                continue
            data = out.get("data", {})
            if "image/png" in data:
                name = f"{stem}-{len(images) + 1}.png"
                images.append((name, base64.b64decode(data["image/png"])))
                parts.append(f"![{title}: figure {len(images)}]({name})")
            elif "text/html" in data and "<table" in data["text/html"]:
                parts.append(_table(data["text/html"]))
            elif "text/markdown" in data:
                parts.append(data["text/markdown"])
            elif "text/plain" in data:
                parts.append(_fence(data["text/plain"]))
        if stream:
            parts.append(_fence(stream))
    source = f"{stem}.py"
    note = (f'!!! info "Run it yourself"\n    This page is [`{source}`]({source}), a jupytext script executed when the '
            f"documentation is built. Run it as a script (`python {source}`), or open it as a notebook "
            f"(`jupytext --to ipynb {source}`).")
    body = "\n\n".join(parts)
    body = re.sub(r"^(# .+)$", lambda m: m.group(1) + "\n\n" + note, body, count=1, flags=re.MULTILINE)
    return title, body + "\n", images


def execute(path: Path) -> tuple[str, str, list[tuple[str, bytes]]]:
    import jupytext
    import nbclient
    from nbclient.exceptions import CellExecutionError

    nb = jupytext.read(path)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mechdesign-tutorial-") as tmp:
        env_before = os.environ.get("MPLBACKEND")
        os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
        try:
            client = nbclient.NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3",
                                             resources={"metadata": {"path": tmp}})
            client.execute()
        except CellExecutionError as exc:
            raise PluginError(f"tutorial {path.name} failed:\n{_ANSI.sub('', str(exc))}") from None
        finally:
            if env_before is None:
                os.environ.pop("MPLBACKEND", None)
            else:
                os.environ["MPLBACKEND"] = env_before
    log.info(f"tutorial {path.name} executed in {time.perf_counter() - start:.1f} s")
    return render(nb, path.stem)


def on_files(files: Files, config) -> Files:  # type: ignore[no-untyped-def]
    folder = Path(config["docs_dir"]) / "tutorials"
    gallery = ["# Gallery", "",
               ("The last figure of each [tutorial](tutorials/index.md), made when this site was built. Click a "
               "title for the code that draws it."), ""]
    for path in sorted(folder.glob("[0-9][0-9]-*.py")):
        key = hashlib.sha256(path.read_bytes()).hexdigest()
        if key not in _CACHE:
            _CACHE[key] = execute(path)
        title, body, images = _CACHE[key]
        files.append(File.generated(config, f"tutorials/{path.stem}.md", content=body))
        for name, data in images:
            files.append(File.generated(config, f"tutorials/{name}", content=data))
        if not images:
            raise PluginError(f"tutorial {path.name} draws no figure (each tutorial ends with one)")
        gallery += [f"## [{title}](tutorials/{path.stem}.md)", "", f"![{title}](tutorials/{images[-1][0]})", ""]
    files.append(File.generated(config, "gallery.md", content="\n".join(gallery)))
    return files
