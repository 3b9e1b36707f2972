"""MkDocs hook: the pages generated from the code, so that they cannot drift from it.

* ``cli.md``: the command-line reference, written from ``mechdesign.app.cli._parser()`` (every command,
  its usage, description and options with choices and defaults);
* ``problem-files.md``: regenerated from the JSON Schema (``mechdesign.app.schema.reference_markdown``); the
  committed copy must be identical (a stale copy is a warning, so ``mkdocs build --strict`` fails);
* ``problem-file.schema.json``: the schema itself;
* ``benchmarks.md``: ``benchmarks/RESULTS.md``; ``changelog.md``: ``CHANGELOG.md``;
* ``reference/index.md``: the top-level API (``mechdesign.__all__``) grouped by the module that defines it.

Links to ``../benchmarks/RESULTS.md`` (right on GitHub) are pointed at the site's page.
Inline code is kept from breaking inside a word (``nobreak_inline_code``, with ``docs/stylesheets/extra.css``).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
from pathlib import Path

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.gen_pages")
ROOT = Path(__file__).resolve().parents[2]


def _opt_row(action: argparse.Action) -> str:
    if action.option_strings:
        names = ", ".join(f"`{o}`" for o in action.option_strings)
        if action.nargs != 0:
            meta = action.metavar or (action.dest.upper() if not action.choices else None)
            if meta:
                names += f" `{meta}`" + (" ..." if action.nargs in ("+", "*") else "")
    else:
        names = f"`{action.metavar or action.dest}`" + (" ..." if action.nargs in ("+", "*") else "")
    choices = " \\| ".join(f"`{c}`" for c in action.choices) if action.choices else ""
    default = action.default
    if default in (None, False, argparse.SUPPRESS) or isinstance(action, argparse._HelpAction) or default == []:
        dflt = ""
    else:
        dflt = f"`{default}`"
    required = "yes" if getattr(action, "required", False) or not action.option_strings else ""
    text = (action.help or "").replace("|", "\\|").replace("%%", "%")
    return f"| {names} | {choices} | {dflt} | {required} | {text} |"


def cli_reference() -> str:
    """The ``mechdesign`` command reference as Markdown, from the argparse parser itself."""
    os.environ.setdefault("COLUMNS", "100")
    from mechdesign.app.cli import _parser

    parser = _parser()
    parser.prog = "mechdesign"
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in sub._choices_actions}
    out = ["# Command line", "",
           "<!-- Generated from mechdesign.app.cli._parser() by docs/_hooks/gen_pages.py. -->", "",
           parser.description or "", "",
           "```text", parser.format_usage().strip(), "```", "",
           ("Exit codes: 0 success (a certified optimal menu for `solve`), 1 a solver, audit or certificate failure "
           "(or an inconsistent menu for `calibrate`, IC/IR violations for `audit`), 2 bad input (one line, no "
           "traceback, no partial output). `mechdesign --version` prints the version."), "",
           "| command | what it does |", "|---|---|"]
    for name in sub.choices:
        out.append(f"| [`{name}`](#mechdesign-{name}) | {helps.get(name, '')} |")
    out.append("")
    for name, sp in sub.choices.items():
        sp.prog = f"mechdesign {name}"
        out += [f"## `mechdesign {name}`", "", sp.description or helps.get(name, "") or "", "",
                "```text", sp.format_usage().strip().removeprefix("usage: "), "```", "",
                "| argument | choices | default | required | help |", "|---|---|---|---|---|"]
        for action in sp._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            out.append(_opt_row(action))
        out.append("")
    return "\n".join(out)


def api_index() -> str:
    """``mechdesign.__all__`` grouped by defining module, each name linked to its documentation."""
    import mechdesign as md

    groups: dict[str, list[str]] = {}
    for name in md.__all__:
        obj = getattr(md, name)
        groups.setdefault(getattr(obj, "__module__", "mechdesign"), []).append(name)
    out = ["# API reference", "",
           (f"`import mechdesign as md` (version {md.__version__}) exposes the names below; each is documented "
           "on the page of the module that defines it. The pages follow the layout of the package: "
           "settings (one per paper setting, with `SolveOptions`), the engine (program, chain solver, "
           "certificate, audit), the closed forms (`analytic`), the primitives (technology, types), problem "
           "files, validation and exceptions."), "",
           "::: mechdesign", "    options:", "      members: false", "      show_root_heading: false", "",
           "| module | names |", "|---|---|"]
    for module in sorted(groups):
        names = ", ".join(f"[`{n}`][{module}.{n}]" for n in sorted(groups[module], key=str.lower))
        out.append(f"| `{module}` | {names} |")
    return "\n".join(out) + "\n"


def _benchmarks() -> str:
    text = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    text = text.replace("[results/](results/)", "`benchmarks/results/` (in the repository)")
    # links to the per-suite tables in benchmarks/results/ name the file instead (they are not site pages)
    text = re.sub(r"\[([^\]]+)\]\((results/[^)]+)\)", r"\1 (`benchmarks/\2` in the repository)", text)
    return ("<!-- benchmarks/RESULTS.md, included by docs/_hooks/gen_pages.py -->\n\n" + text)


def on_files(files: Files, config) -> Files:  # type: ignore[no-untyped-def]
    from mechdesign.app import schema

    generated = {
        "cli.md": cli_reference(),
        "problem-file.schema.json": schema.schema_json(),
        "benchmarks.md": _benchmarks(),
        "changelog.md": (ROOT / "CHANGELOG.md").read_text(),
        "reference/index.md": api_index(),
    }
    reference = schema.reference_markdown()
    committed = Path(config["docs_dir"]) / "problem-files.md"
    if not committed.exists() or committed.read_text() != reference:
        log.warning("docs/problem-files.md differs from the schema's reference: run "
                    "`mechdesign schema --markdown > docs/problem-files.md`")
    generated["problem-files.md"] = reference
    for uri, content in generated.items():
        old = files.get_file_from_path(uri)
        if old is not None:
            files.remove(old)
        files.append(File.generated(config, uri, content=content))
    return files


#: docstrings (in modules this site does not own) that put prose after a numpy ``Parameters`` section without
#: a new section header, so the numpy parser reads the prose as parameters; their warnings are dropped here,
#: by file and line, and every other docstring warning still fails the strict build
KNOWN_DOCSTRING_ISSUES = (
)


class _KnownDocstringIssues(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not any(where in msg for where in KNOWN_DOCSTRING_ISSUES)


def on_config(config):  # type: ignore[no-untyped-def]
    logging.getLogger("mkdocs.plugins.griffe").addFilter(_KnownDocstringIssues())
    return config


_LINKS = re.compile(r"\]\((?:\.\./)?benchmarks/RESULTS\.md\)")


_RST_ROLE = re.compile(r":(?:math|func|class|data|mod|meth|attr|obj|exc):(?=<code>)")


_PRE = re.compile(r"(<pre\b.*?</pre>)", re.DOTALL)
_INLINE_CODE = re.compile(r"<code>([^<]+)</code>")


def _nobr_tokens(match: re.Match[str]) -> str:
    words = match.group(1).split(" ")
    return "<code>" + " ".join(f'<span class="md-nobr">{w}</span>' if w else w for w in words) + "</code>"


def nobreak_inline_code(html: str) -> str:
    """Inline code (``<code>`` outside ``<pre>``) with each space-separated token in ``span.md-nobr``.

    ``docs/stylesheets/extra.css`` keeps such a span on one line, so a code span wraps between its words
    but never inside one (``single_mode|l``, ``-|-allowance``); code blocks are left alone (they scroll).
    """
    parts = _PRE.split(html)
    return "".join(part if part.startswith("<pre") else _INLINE_CODE.sub(_nobr_tokens, part) for part in parts)


def on_page_content(html: str, page, config, files) -> str:  # type: ignore[no-untyped-def]
    """The docstrings' reStructuredText roles (``:math:`x```, ``:func:`f```) are shown as plain code; inline
    code never breaks inside a word (:func:`nobreak_inline_code`)."""
    if page.file.src_uri.startswith("reference/"):
        html = _RST_ROLE.sub("", html)
    return nobreak_inline_code(html)


def on_page_markdown(markdown: str, page, config, files) -> str:  # type: ignore[no-untyped-def]
    depth = page.file.src_uri.count("/")
    return _LINKS.sub("](" + "../" * depth + "benchmarks.md)", markdown)
