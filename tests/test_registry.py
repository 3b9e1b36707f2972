"""The registry of settings (issue 21, point 5): one :class:`~mechdesign.SettingSpec` per setting, one line
per setting in :mod:`mechdesign.registry`, and everything else reads the registry.

* every registered spec has each field filled, and ``problemfile``'s ``KINDS``/``KIND_VERBS``/``KIND_WORDS``
  are what the registry says;
* a toy setting, defined here (one "file": the classes, reader and spec below) and registered with one line,
  is read from a TOML file, solved through the CLI to JSON (the output contract), served by ``mechdesign
  analytic`` through its closed-form hook, listed by ``mechdesign problems`` and described by ``mechdesign
  schema`` (the file validates against the printed schema); once unregistered, its files are refused again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from mechdesign import SettingSpec
from mechdesign import _validate as V
from mechdesign.app.cli import main
from mechdesign.problemfile import KIND_VERBS, KIND_WORDS, KINDS, REGISTRY, load_problem, problem_kind
from mechdesign.problemtables import only_keys, required_key, subtable
from mechdesign.registry import SETTINGS, register, unregister
from mechdesign.settings.base import CONTRACT_KEYS, STATUSES, SolveOptions, resolves_options
from mechdesign.settings.results import ResultBase, contract
from mechdesign.settings.spec import ClosedForm

# ------------------------------------------------------------------------------------ the toy setting's "file"
TOY = "toy_posted_price"


@dataclass
class ToyResult(ResultBase):
    """The best posted price of a unit good to buyers with listed values (each buys iff value >= price)."""

    name: str
    values: np.ndarray
    prob: np.ndarray
    cost: float
    price: float

    @property
    def status(self) -> str:
        return "optimal"  # every candidate price (each listed value) was compared: exact

    @property
    def buys(self) -> np.ndarray:
        return self.values >= self.price

    @property
    def profit(self) -> float:
        return float(self.prob[self.buys].sum() * (self.price - self.cost))

    @property
    def surplus(self) -> float:
        return float(self.prob[self.buys] @ (self.values[self.buys] - self.cost))

    def summary(self) -> str:
        return f"toy posted price {self.name}: price {self.price:g}, profit {self.profit:g} ({self.status})"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"value": self.values, "prob": self.prob, "quality": self.buys.astype(float),
                             "transfer": np.where(self.buys, self.price, 0.0)})

    def to_dict(self) -> dict[str, object]:
        return contract({"name": self.name, "kind": TOY}, self.status, self.profit, self.surplus,
                        self.surplus - self.profit, self.to_frame().to_dict(orient="records"), None, None, None,
                        {"name": "enumeration of the listed values"}, options=dict(self.options))


def best_price(values: np.ndarray, prob: np.ndarray, cost: float) -> float:
    """The posted price that maximises ``(p - cost) P(value >= p)``, among the listed values."""
    return float(max(values, key=lambda p: (p - cost) * prob[values >= p].sum()))


@dataclass
class ToyProblem:
    """Buyers with listed values and probabilities; a seller with a unit cost posts one price."""

    values: np.ndarray
    prob: np.ndarray
    cost: float
    name: str = "toy"
    source: dict[str, object] = field(default_factory=dict)

    kind: ClassVar[str] = TOY
    options: ClassVar[tuple[str, ...]] = ()

    @resolves_options
    def solve(self, options: SolveOptions | None = None, /, **kwargs: Any) -> ToyResult:
        return ToyResult(self.name, self.values, self.prob, self.cost, best_price(self.values, self.prob, self.cost))


def read_toy(data: Mapping[str, object], kind: str, name: str, source: str) -> ToyProblem:
    only_keys(data, ("problem", "types", "seller"), "")
    types_t = subtable(data, "types", "")
    only_keys(types_t, ("values", "prob"), "types.")
    values = V.vector("types.values", required_key(types_t, "values", "types."))
    prob = V.weights("types.prob", required_key(types_t, "prob", "types."), length=len(values))
    seller = subtable(data, "seller", "")
    only_keys(seller, ("cost",), "seller.")
    return ToyProblem(values, prob, V.as_float("seller.cost", required_key(seller, "cost", "seller.")), name=name,
                      source={"file": source})


def toy_closed_form(problem: ToyProblem, n: int | None) -> ClosedForm:
    price = best_price(problem.values, problem.prob, problem.cost)
    return ClosedForm(f"best posted price {price:g}", {"problem": {"name": problem.name, "kind": TOY},
                                                       "analytic": {"price": price}})


TOY_SPEC = SettingSpec(
    kind=TOY, word="toy posted-price", problem=ToyProblem, result=ToyResult, reader=read_toy,
    verbs=("solve", "analytic"), type_kinds=(),
    schema={"paper": "none (a test's toy)", "tables": "types (values, prob), seller", "types": "no `kind`",
            "keys": ("problem", "types", "seller"), "required": ("types", "seller"),
            "file": {"properties": {"types": {"$ref": "#/$defs/toy_types"}}},
            "properties": {"seller": {"$ref": "#/$defs/toy_seller", "description": "The seller (toy problems)."}},
            "defs": {"toy_types": {"type": "object", "title": "[types] (toy)", "description": "Listed values.",
                                   "properties": {"values": {"type": "array", "items": {"type": "number"},
                                                             "description": "The buyers' values."},
                                                  "prob": {"type": "array", "items": {"type": "number"},
                                                           "description": "Their probabilities."}},
                                   "required": ["values", "prob"], "additionalProperties": False},
                     "toy_seller": {"type": "object", "title": "[seller]", "description": "The unit cost.",
                                    "properties": {"cost": {"type": "number", "description": "Unit cost."}},
                                    "required": ["cost"], "additionalProperties": False}},
            "sections": (("toy_types", "types", TOY), ("toy_seller", "seller", TOY))},
    defaults={}, closed_form=toy_closed_form)

TOY_FILE = f"""[problem]
name = "toy_market"
kind = "{TOY}"
description = "three buyers, one posted price"

[types]
values = [1.0, 2.0, 3.0]
prob = [0.2, 0.5, 0.3]

[seller]
cost = 0.5
"""


@pytest.fixture
def toy() -> Iterator[SettingSpec]:
    """The toy setting, registered for one test (one line) and removed after it."""
    register(TOY_SPEC)
    try:
        yield TOY_SPEC
    finally:
        unregister(TOY)


# ----------------------------------------------------------------------------------------------------- tests
def test_every_spec_is_filled_and_problemfile_reads_the_registry() -> None:
    assert list(SETTINGS) == ["single_model", "contractible", "value_scale", "multimodel", "leader_fringe",
                              "multidim"]
    for kind, spec in SETTINGS.items():
        assert spec.kind == kind == spec.problem.kind
        for f in fields(spec):
            value = getattr(spec, f.name)
            if f.name in ("closed_form", "type_kinds", "types_words", "defaults"):
                continue  # optional: no closed form, own [types] table, types said by their class, no options
            assert value not in (None, "", (), {}), f"{kind}: {f.name} is empty"
        assert ("analytic" in spec.verbs) == (spec.closed_form is not None)
        assert set(spec.defaults) <= set(spec.options), kind
        for key in ("paper", "tables", "keys", "required", "file"):
            assert spec.schema[key], f"{kind}: schema fragment {key} is empty"
    assert tuple(KINDS) == tuple(SETTINGS)
    assert dict(KIND_VERBS) == {k: s.verbs for k, s in SETTINGS.items()}
    assert dict(KIND_WORDS) == {k: s.word for k, s in SETTINGS.items()}
    assert REGISTRY is SETTINGS


def test_register_refuses_a_second_setting_of_a_kind(toy: SettingSpec) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(toy)
    with pytest.raises(ValueError, match="analytic"):  # a spec says what it serves, consistently
        SettingSpec(**{**{f.name: getattr(toy, f.name) for f in fields(toy)}, "closed_form": None})


def test_toy_setting_solves_through_the_cli(toy: SettingSpec, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "toy_market.toml"
    path.write_text(TOY_FILE)
    problem = load_problem(path)
    assert isinstance(problem, ToyProblem) and problem_kind(problem) == TOY and TOY in KINDS
    out = tmp_path / "toy.json"
    assert main(["solve", str(path), "--json", str(out)]) == 0
    assert "price 2" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert set(CONTRACT_KEYS) <= set(data) and data["status"] in STATUSES
    assert data["status"] == "optimal" and data["problem"] == {"name": "toy_market", "kind": TOY}
    # price 2: (2 - 0.5) * 0.8 = 1.2 beats (1 - 0.5) * 1 = 0.5 and (3 - 0.5) * 0.3 = 0.75
    assert [row["transfer"] for row in data["menu"]] == [0.0, 2.0, 2.0]
    assert data["profit"] == pytest.approx(1.2)
    # an option the toy does not honour is refused, named as written
    assert main(["solve", str(path), "--ic", "all"]) == 2
    assert "--ic" in capsys.readouterr().err
    # the closed-form hook serves `mechdesign analytic`; verbs it does not list are refused, naming its own
    closed = tmp_path / "closed.json"
    assert main(["analytic", str(path), "--json", str(closed)]) == 0
    assert json.loads(closed.read_text())["analytic"] == {"price": 2.0}
    capsys.readouterr()
    assert main(["plot", str(path), "--out", str(tmp_path / "toy.png")]) == 2
    err = capsys.readouterr().err
    assert "toy posted-price problems are served by `mechdesign solve`, `mechdesign analytic`" in err


def test_toy_setting_is_listed_and_described(toy: SettingSpec, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "toy_market.toml").write_text(TOY_FILE)
    assert main(["problems", "--dir", str(tmp_path)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert [str(tmp_path / "toy_market.toml"), TOY, "three"] in [r[:3] for r in rows]
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert TOY in schema["$defs"]["problem"]["properties"]["kind"]["enum"]
    assert schema["properties"]["seller"]["x-kinds"] == [TOY]
    assert set(schema["$defs"]["toy_types"]["properties"]) == {"values", "prob"}
    assert schema["$defs"]["toy_seller"]["required"] == ["cost"]
    assert main(["schema", "--markdown"]) == 0
    page = capsys.readouterr().out
    assert f"| `{TOY}` | none (a test's toy) |" in page and "## `[seller]`" in page
    jsonschema = pytest.importorskip("jsonschema")
    import tomllib

    validator = jsonschema.Draft202012Validator(schema)
    good = tomllib.loads(TOY_FILE)
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "seller": {"cost": 0.5, "tax": 1.0}})  # unknown key, as the reader
    assert not validator.is_valid({**good, "models": []})  # another kind's table


def test_unregistered_kind_is_refused_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "toy_market.toml"
    path.write_text(TOY_FILE)
    assert TOY not in KINDS
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert "problem.kind" in err and repr(TOY) in err and "'single_model'" in err
