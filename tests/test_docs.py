"""The problem-file schema against the reader, the generated reference page, the CLI page and the tutorials.

The schema (:mod:`mechdesign.app.schema`) and the reader (:mod:`mechdesign.problemfile`) are written
separately; these tests drive one against the other so that they cannot drift apart:

* every shipped problem file and every example of the schema validates against the schema and loads;
* for every field the schema gives a range (numbers, integers, entries of lists), the value just outside
  each bound is refused by the reader in every document that has the field, and a value just inside is
  accepted in at least one;
* the schema refuses unknown keys, wrong types and keys a ``kind`` does not accept, as the reader does;
* ``docs/problem-files.md`` is exactly what ``mechdesign schema --markdown`` generates.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import mechdesign as md
from mechdesign.app import schema as S
from mechdesign.exceptions import ProblemSpecError
from mechdesign.shipped import shipped_dir, shipped_names

try:  # in the docs extra; without it the reader side of every test still runs
    import jsonschema
except ImportError:  # pragma: no cover - depends on the environment
    jsonschema = None

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = S.problem_schema()
needs_jsonschema = pytest.mark.skipif(jsonschema is None, reason="jsonschema is not installed (pip install -e .[docs])")


class _NoValidator:
    """Stands in for the validator when jsonschema is missing: the schema side of the checks is skipped."""

    def is_valid(self, doc: object) -> bool:
        return False

    def iter_errors(self, doc: object) -> list[Any]:
        return []


VALIDATOR: Any = jsonschema.Draft202012Validator(SCHEMA) if jsonschema is not None else _NoValidator()

Path_ = tuple[Any, ...]  # keys, list indices, or "*" (an entry of a list)


def _shipped() -> dict[str, dict[str, Any]]:
    # problems/observed/ holds posted price pages (read by `mechdesign calibrate`), not problem files
    return {name: tomllib.loads((shipped_dir() / f"{name}.toml").read_text()) for name in shipped_names()
            if not name.startswith("observed/")}


def _bases() -> dict[str, dict[str, Any]]:
    out = _shipped()
    out.update({f"example{i}": ex for i, ex in enumerate(S.EXAMPLES)})
    return out


def _resolve(node: dict[str, Any], stack: tuple[str, ...]) -> tuple[dict[str, Any], tuple[str, ...]] | None:
    """Follow ``$ref``s; ``None`` when a definition would be entered a third time (mixtures of mixtures)."""
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if stack.count(name) >= 2:
            return None
        stack = stack + (name,)
        node = {**{k: v for k, v in node.items() if k != "$ref"}, **SCHEMA["$defs"][name]}
    return node, stack


_RANGE_KEYS = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
Leaf = tuple[str, str, float, str]  # (where in the schema: definition.key, bound keyword, bound, type)


def _leaves(node: dict[str, Any], path: Path_, stack: tuple[str, ...], key: str,
            out: dict[Leaf, set[Path_]]) -> None:
    """Every ranged number of the schema with the document paths where it occurs, following properties,
    items, references and the subschemas of allOf / if-then-else / oneOf / anyOf."""
    got = _resolve(node, stack)
    if got is None:
        return
    node, stack = got
    origin = f"{stack[-1] if stack else 'root'}.{key}"
    for bound_key in _RANGE_KEYS:
        if bound_key in node and node.get("type", "number") in ("number", "integer"):
            out.setdefault((origin, bound_key, node[bound_key], node.get("type", "number")), set()).add(path)
    for name, sub in node.get("properties", {}).items():
        if isinstance(sub, dict):
            _leaves(sub, path + (name,), stack, name, out)
    if isinstance(node.get("items"), dict):
        items = node["items"]
        is_table = "$ref" in items or any("$ref" in a for a in items.get("allOf", []))
        # a list of tables (mixture components, models): its first table; otherwise an entry of the list
        _leaves(items, path + ((0,) if is_table else ("*",)), stack, key if not is_table else "", out)
    for sub_key in ("allOf", "oneOf", "anyOf"):
        for sub in node.get(sub_key, []):
            _leaves(sub, path, stack, key, out)
    for sub_key in ("then", "else"):
        if sub_key in node:
            _leaves(node[sub_key], path, stack, key, out)


def ranged_leaves() -> dict[Leaf, set[Path_]]:
    out: dict[Leaf, set[Path_]] = {}
    _leaves(SCHEMA, (), (), "", out)
    return dict(sorted(out.items(), key=lambda kv: str(kv[0])))


def _get(doc: Any, path: Path_) -> Any:
    for key in path:
        if key == "*":
            return doc
        if isinstance(key, int):
            if not isinstance(doc, list) or len(doc) <= key:
                return None
            doc = doc[key]
        else:
            if not isinstance(doc, dict) or key not in doc:
                return None
            doc = doc[key]
    return doc


def _array_meta(path: Path_) -> dict[str, Any]:
    """The schema of the list holding the ``*`` entry at ``path`` (for ``x-sum`` / ``x-increasing``)."""
    node: dict[str, Any] = SCHEMA
    found: dict[str, Any] = {}

    def walk(n: dict[str, Any], rest: Path_) -> None:
        got = _resolve(n, ())
        if got is None:
            return
        n = got[0]
        if rest and rest[0] == "*":
            found.update({k: v for k, v in n.items() if k.startswith("x-")})
            return
        if not rest:
            return
        for key in ("allOf", "oneOf", "anyOf"):
            for sub in n.get(key, []):
                walk(sub, rest)
        for key in ("then", "else"):
            if key in n:
                walk(n[key], rest)
        head = rest[0]
        if isinstance(head, int) and isinstance(n.get("items"), dict):
            walk(n["items"], rest[1:])
        elif head in n.get("properties", {}):
            walk(n["properties"][head], rest[1:])

    walk(node, path)
    return found


def _with_value(doc: dict[str, Any], path: Path_, value: float, side: str) -> dict[str, Any] | None:
    """A copy of ``doc`` with the leaf at ``path`` set to ``value``; for list entries the smallest entry
    (lower bounds) or the largest (upper bounds), keeping a required sum by moving the difference to
    another entry. ``None`` when the document has no such field."""
    out = copy.deepcopy(doc)
    if "*" not in path:
        parent = _get(out, path[:-1])
        if not isinstance(parent, dict) or path[-1] not in parent:
            return None
        parent[path[-1]] = value
        return out
    star = path.index("*")
    holder = _get(out, path[: star - 1])
    arr = _get(out, path[:star])
    if not isinstance(arr, list) or not arr:
        return None
    if star + 1 < len(path):  # a matrix: the first entry of the first row (or the last of the last)
        row = arr[0] if side == "lo" else arr[-1]
        if not isinstance(row, list) or not row:
            return None
        row[0 if side == "lo" else -1] = value
        meta = _array_meta(path[: star + 1])
        if "x-sum" in meta and len(row) > 1:
            old = _get(doc, path[:star])[0 if side == "lo" else -1][0 if side == "lo" else -1]
            row[-1 if side == "lo" else 0] += old - value
        return out
    idx = min(range(len(arr)), key=lambda i: arr[i]) if side == "lo" else max(range(len(arr)), key=lambda i: arr[i])
    old = arr[idx]
    arr[idx] = value
    meta = _array_meta(path[: star + 1])
    if "x-sum" in meta and len(arr) > 1:
        other = max((i for i in range(len(arr)) if i != idx), key=lambda i: arr[i])
        arr[other] += old - value
    assert holder is not None
    return out


def _loads(doc: dict[str, Any]) -> bool:
    try:
        md.problem_from_dict(doc, source="test.toml")
    except ProblemSpecError:
        return False
    return True


def _values(bound_key: str, bound: float, typ: str) -> tuple[str, float, float]:
    """(side, just outside, just inside) for one bound."""
    if typ == "integer":
        step: float = 1
    else:
        step = 1e-6 * max(1.0, abs(bound))
    if bound_key == "exclusiveMinimum":
        return "lo", bound, bound + (1 if typ == "integer" else 1e-3 * max(1.0, abs(bound)))
    if bound_key == "minimum":
        return "lo", bound - step, bound
    if bound_key == "exclusiveMaximum":
        return "hi", bound, bound - (1 if typ == "integer" else 1e-3 * max(1.0, abs(bound)))
    return "hi", bound + step, bound


LEAVES = ranged_leaves()


@needs_jsonschema
def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert len(LEAVES) >= 40


@pytest.mark.parametrize("name", sorted(_bases()))
def test_shipped_problems_and_examples_validate_and_load(name: str) -> None:
    doc = _bases()[name]
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(doc)]
    assert not errors, errors
    md.problem_from_dict(doc, source=f"{name}.toml")


@pytest.mark.parametrize("leaf", list(LEAVES), ids=lambda leaf: f"{leaf[0]}-{leaf[1]}")
def test_every_range_of_the_schema_is_the_readers(leaf: Leaf) -> None:
    """Just outside the bound: refused by the schema and the reader wherever the field occurs in a shipped
    problem or a schema example; just inside: accepted by the reader (and then the schema) in one at least."""
    _, bound_key, bound, typ = leaf
    side, outside, inside = _values(bound_key, bound, typ)
    used = accepted = 0
    for path in sorted(LEAVES[leaf], key=str):
        for name, base in _bases().items():
            bad = _with_value(base, path, outside, side)
            if bad is None:
                continue
            used += 1
            where = ".".join(map(str, path))
            assert not VALIDATOR.is_valid(bad), f"{name}: the schema accepts {outside} at {where}"
            assert not _loads(bad), f"{name}: the reader accepts {outside} at {where} ({bound_key} {bound})"
            good = _with_value(base, path, inside, side)
            assert good is not None
            if _loads(good):
                accepted += 1
                errors = [e.message for e in VALIDATOR.iter_errors(good)]
                assert not errors, f"{name}: the reader accepts {inside} at {where}; the schema does not: {errors}"
    assert used, f"no shipped problem or schema example has {leaf[0]}: add one to schema.EXAMPLES"
    assert accepted, f"the reader refuses {inside} for {leaf[0]} ({bound_key} {bound}) in every document"


@needs_jsonschema
@pytest.mark.parametrize("doc, where", [
    ({"technology": {"sigma": 0.5, "inference": {"alpha": [1.0], "cost": [1.0]}, "colour": 1},
      "types": {"kind": "discrete", "theta": [1.0], "prob": [1.0]}}, "unknown key"),
    ({"technology": {"sigma": "0.5", "inference": {"alpha": [1.0], "cost": [1.0]}},
      "types": {"kind": "discrete", "theta": [1.0], "prob": [1.0]}}, "a string for a number"),
    ({"technology": {"sigma": True, "inference": {"alpha": [1.0], "cost": [1.0]}},
      "types": {"kind": "discrete", "theta": [1.0], "prob": [1.0]}}, "a boolean for a number"),
    ({"technology": {"sigma": 0.5, "inference": {"alpha": [1.0], "cost": [1.0]}},
      "types": {"kind": "discrete", "theta": [1.0], "prob": [1.0], "n": 10}}, "a key the kind does not take"),
    ({"technology": {"sigma": 0.5, "inference": {"alpha": [1.0], "cost": [1.0]},
                     "finetuning": {"kind": "baseline", "b": 1.0, "gamma": 0.2, "cost": [1.0], "sigma_hat": 0.1}},
      "types": {"kind": "discrete", "theta": [1.0], "prob": [1.0]}}, "sigma_hat with baseline fine-tuning"),
    ({"technology": {"sigma": 0.5, "inference": {"alpha": [1.0], "cost": [1.0]}},
      "types": {"kind": "discrete", "theta": [1.0]}}, "a required key missing"),
    ({"problem": {"kind": "leader_fringe"}, "technology": {"sigma": 0.5},
      "leader": {"sigma_hat": 0.25, "cost": 0.125}, "fringe": {"cost": 0.1},
      "types": {"kind": "discrete", "theta": [1.0], "prob": [1.0]}}, "types a kind does not take"),
    ({"problem": {"kind": "multimodel"}, "technology": {"sigma": 0.5, "inference": {"alpha": [1.0], "cost": [1.0]}},
      "models": [{"sigma_hat": 0.1, "kappa": 0.5}], "types": {"kind": "discrete", "theta": [1.0], "prob": [1.0]}},
     "a token technology in a multi-model file"),
    ({"problem": {"kind": "contractible"}, "technology": {"sigma": 0.5, "inference": {"alpha": [1.0], "cost": [1.0]}},
      "types": {"kind": "task_profiles", "w": [[1.0]], "prob": [1.0]}, "solve": {"method": "conic"}},
     "solve.method for a contractible problem"),
    ({"technology": {"inference": {"exponents": [0.3], "cost": [1.0]}, "sigma": 0.3},
      "types": {"kind": "discrete", "theta": [1.0], "prob": [1.0]}}, "sigma with exponents"),
    ({"problem": {"kind": "multidim"}, "types": {"points": [[1.0, 1.0]], "prob": [1.0]}}, "multidim without cost"),
    ({"problem": {"kind": "multidim"}, "types": {"points": [[1.0, 1.0]], "prob": [1.0]}, "cost": {"kind": "tokens"}},
     "a token cost without a technology"),
    ({"problem": {"kind": "multidim"}, "technology": {"sigma": 0.5, "inference": {"alpha": [1.0], "cost": [1.0]}},
      "types": {"points": [[1.0, 1.0]], "prob": [1.0]}, "cost": {"kind": "quadratic"}},
     "a technology with a quadratic cost"),
    ({"problem": {"kind": "multidim"},
      "technology": {"sigma": 0.5, "inference": {"alpha": [1.0], "cost": [1.0]},
                     "finetuning": {"kind": "baseline", "b": 1.0, "gamma": 0.2, "cost": [1.0]}},
      "types": {"points": [[1.0, 1.0]], "prob": [1.0]}, "cost": {"kind": "tokens"}},
     "baseline fine-tuning with a token cost"),
    ({"problem": {"kind": "multidim"}, "types": {"kind": "grid", "grid": {"lo": [0.0], "hi": [1.0], "n": [4]}},
      "cost": {}}, "types.kind in a multidim file"),
    ({"problem": {"kind": "multidim"}, "types": {"grid": {"lo": [0.0], "hi": [1.0], "n": [2]}, "points": [[1.0]],
                                                 "prob": [1.0]}, "cost": {}}, "a grid and points"),
    ({"problem": {"kind": "multidim"}, "types": {"points": [[1.0, 1.0]]}, "cost": {}}, "points without prob"),
    ({"problem": {"kind": "multidim"}, "types": {"points": [[1.0, 1.0]], "prob": [1.0]},
      "cost": {"kind": "power", "c": [1.0, 1.0], "p": 2.0, "A": [[1.0, 0.0], [0.0, 1.0]]}}, "A with a power cost"),
    ({"problem": {"kind": "multidim"}, "types": {"points": [[1.0, 1.0]], "prob": [1.0]}, "cost": {},
      "solve": {"ic": "local"}}, "solve.ic = local for vector types"),
    ({"technology": {"sigma": 0.5, "inference": {"alpha": [1.0], "cost": [1.0]}},
      "types": {"kind": "discrete", "theta": [1.0], "prob": [1.0]}, "cost": {"kind": "quadratic"}},
     "a cost table in a single-model file"),
    ({"problem": {"kind": "multidim"}, "types": {"points": [[1.0, 1.0]], "prob": [1.0]},
      "cost": {"kind": "linear", "domain": "free"}}, "a linear cost free in sign"),
    ({"problem": {"kind": "multidim"}, "types": {"points": [[1.0, 1.0]], "prob": [1.0]},
      "cost": {"domain": "box"}}, "a quadratic cost (the default kind) on the box"),
    ({"problem": {"kind": "multidim"}, "types": {"points": [[1.0, 1.0]], "prob": [1.0]},
      "cost": {"kind": "power", "c": [1.0, 1.0], "p": 2.0, "domain": "nonneg"}}, "a domain with a power cost"),
    ({"problem": {"kind": "multidim"}, "types": {"points": [[1.0, 1.0]], "prob": [1.0]},
      "cost": {"kind": "linear", "k": [0.0, -0.1]}}, "a negative linear cost"),
])
def test_schema_refuses_what_the_reader_refuses(doc: dict[str, Any], where: str) -> None:
    assert not VALIDATOR.is_valid(doc), where
    with pytest.raises(ProblemSpecError):
        md.problem_from_dict(doc)


def test_reference_page_is_generated_from_the_schema() -> None:
    page = (ROOT / "docs" / "problem-files.md").read_text()
    assert page == S.reference_markdown(), (
        "docs/problem-files.md is out of date: run `mechdesign schema --markdown > docs/problem-files.md`")
    for name, _, _ in S.SECTIONS:  # every table and every key is on the page
        for key in SCHEMA["$defs"][name]["properties"]:
            assert f"| `{key}` |" in page


def test_schema_command_prints_the_schema() -> None:
    out = subprocess.run([sys.executable, "-m", "mechdesign.app.cli", "schema"], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == json.loads(json.dumps(SCHEMA))
    out = subprocess.run([sys.executable, "-m", "mechdesign.app.cli", "schema", "--markdown"], capture_output=True,
                         text=True, check=True).stdout
    assert out == S.reference_markdown()


def test_cli_reference_covers_every_command() -> None:
    pytest.importorskip("mkdocs")
    sys.path.insert(0, str(ROOT / "docs" / "_hooks"))
    try:
        import gen_pages  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    page = gen_pages.cli_reference()
    from mechdesign.app.cli import _parser

    parser = _parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in sub.choices:  # type: ignore[union-attr]
        assert f"## `mechdesign {name}`" in page


def test_tutorials_are_jupytext_percent_scripts() -> None:
    tutorials = sorted((ROOT / "docs" / "tutorials").glob("[0-9]*.py"))
    assert len(tutorials) >= 6
    for path in tutorials:
        text = path.read_text()
        assert "format_name: percent" in text.split("# %%")[0], path.name
        compile(text, str(path), "exec")  # at least valid Python; the docs build executes them


def test_version_is_single_sourced() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    meta = tomllib.loads(text)
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mechdesign.__version__"}
    cff = (ROOT / "CITATION.cff").read_text()
    assert f'version: "{md.__version__}"' in cff
    assert f"## [{md.__version__}]" in (ROOT / "CHANGELOG.md").read_text()
    assert not math.isnan(float(md.__version__.split(".")[0]))
