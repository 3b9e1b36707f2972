"""The definitions of the problem files' JSON Schema (draft 2020-12): field helpers, one ``$defs`` entry per
table, the examples, and :func:`problem_schema` that assembles them (see :mod:`mechdesign.app.schema`).

:func:`problem_schema` reads the registry of settings (:mod:`mechdesign.registry`): the values of
``problem.kind``, and for each kind one rule built from its spec's schema fragment (the tables its files may
and must have, their schemas, its ``types.kind`` values, whether ``[solve]`` may set ``method``), its
top-level tables and its own ``$defs``. The tables the shipped settings share (technology, types, solve, ...)
and those of the shipped settings are defined here with the field helpers; a new setting brings its own in
its fragment's ``defs``."""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

from mechdesign.engine.program import IC_STRATEGIES
from mechdesign.problemtables import MAX_TYPES
from mechdesign.registry import SETTINGS
from mechdesign.settings.base import DEFAULT_SOLVER
from mechdesign.settings.multidim import IC_STRATEGIES as MULTIDIM_IC
from mechdesign.settings.multidim import MAX_POINTS

SCHEMA_ID = "https://mechdesign.invalid/schema/problem-file.json"  # an identifier, not a location
DRAFT = "https://json-schema.org/draft/2020-12/schema"

Schema = dict[str, Any]

# ----------------------------------------------------------------------------------------------- field helpers



def _ic_defaults() -> str:
    """Each setting's default IC strategy (its spec's ``defaults["ic"]``), in words: the most common one,
    then the others with their kinds."""
    ics = {kind: str(spec.defaults["ic"]) for kind, spec in SETTINGS.items() if "ic" in spec.defaults}
    common = Counter(ics.values()).most_common(1)[0][0]
    others = ", ".join(f"{ic} for {SETTINGS[kind].word} problems" for kind, ic in ics.items() if ic != common)
    return f"{common} ({others})" if others else common

def _leaf(kind: str, desc: str, *, paper: str | None = None, default: object = None, kinds: tuple[str, ...] = (),
          constraints: tuple[str, ...] = (), **keywords: object) -> Schema:
    out: Schema = {"type": kind, "description": desc}
    if default is not None:
        out["default"] = default
    if paper:
        out["x-paper"] = paper
    if kinds:
        out["x-kinds"] = list(kinds)
    if constraints:
        out["x-constraints"] = list(constraints)
    out.update({k: v for k, v in keywords.items() if v is not None})
    return out


def number(desc: str, *, gt: float | None = None, ge: float | None = None, lt: float | None = None,
           le: float | None = None, **kw: Any) -> Schema:
    """A real number (TOML integer or float; booleans and strings are refused) with an optional range."""
    return _leaf("number", desc, exclusiveMinimum=gt, minimum=ge, exclusiveMaximum=lt, maximum=le, **kw)


def integer(desc: str, *, ge: int | None = None, le: int | None = None, **kw: Any) -> Schema:
    """An integer (a float with an integer value is accepted, as by the reader)."""
    return _leaf("integer", desc, minimum=ge, maximum=le, **kw)


def string(desc: str, **kw: Any) -> Schema:
    """A string."""
    return _leaf("string", desc, **kw)


def enum(desc: str, values: tuple[str, ...], **kw: Any) -> Schema:
    """One of a set of strings."""
    return _leaf("string", desc, enum=list(values), **kw)


def numbers(desc: str, *, gt: float | None = None, ge: float | None = None, lt: float | None = None,
            le: float | None = None, total: float | None = None, increasing: bool = False, min_items: int = 1,
            max_items: int | None = None, **kw: Any) -> Schema:
    """A list of numbers; the range applies to every entry."""
    item: Schema = {"type": "number"}
    for key, val in (("exclusiveMinimum", gt), ("minimum", ge), ("exclusiveMaximum", lt), ("maximum", le)):
        if val is not None:
            item[key] = val
    out = _leaf("array", desc, items=item, minItems=min_items, maxItems=max_items, **kw)
    if total is not None:
        out["x-sum"] = total
    if increasing:
        out["x-increasing"] = True
    return out


def matrix(desc: str, *, ge: float | None = None, total: float | None = None, **kw: Any) -> Schema:
    """A non-empty list of equal-length non-empty lists of numbers (rows)."""
    row: Schema = {"type": "array", "items": {"type": "number"}, "minItems": 1}
    if ge is not None:
        row["items"]["minimum"] = ge
    out = _leaf("array", desc, items=row, minItems=1, **kw)
    if total is not None:
        out["x-sum"] = total
    return out


def names(desc: str, **kw: Any) -> Schema:
    """Distinct non-empty labels, one per token class."""
    return _leaf("array", desc, items={"type": "string", "minLength": 1}, minItems=1, uniqueItems=True, **kw)


def ref(name: str, desc: str, **kw: Any) -> Schema:
    """A sub-table defined in ``$defs``."""
    out: Schema = {"$ref": f"#/$defs/{name}", "description": desc}
    if kw.get("kinds"):
        out["x-kinds"] = list(kw["kinds"])
    return out


def table(title: str, desc: str, props: dict[str, Schema], *, kinds: tuple[str, ...] = (),
          default_kind: str | None = None, required: dict[str, tuple[str, ...]] | tuple[str, ...] = (),
          toml: str = "", constraints: tuple[str, ...] = ()) -> Schema:
    """A TOML table: no unknown keys; with ``kinds``, the key ``kind`` selects which keys are accepted
    (each property's ``x-kinds``; none: every kind) and which are required (``required[kind]``)."""
    out: Schema = {"type": "object", "title": title, "description": desc, "properties": props,
                   "additionalProperties": False}
    if constraints:
        out["x-constraints"] = list(constraints)
    if toml:
        out["x-toml"] = toml.strip("\n")
    if not kinds:
        if required:
            out["required"] = list(required)
        return out
    assert isinstance(required, dict)
    rules: list[Schema] = []
    for k in kinds:
        allowed = [key for key, sch in props.items() if key == "kind" or k in sch.get("x-kinds", kinds)]
        then: Schema = {"propertyNames": {"enum": allowed}}
        if required.get(k):
            then["required"] = list(required[k])
        rules.append({"if": {"properties": {"kind": {"const": k}}, "required": ["kind"]}, "then": then})
        if k == default_kind:
            rules.append({"if": {"not": {"required": ["kind"]}}, "then": copy.deepcopy(then)})
    if default_kind is None:
        out["required"] = ["kind"]
    out["allOf"] = rules
    return out


# ----------------------------------------------------------------------------------------------------- tables

_SIGMA_HAT = "0 < σ̂ and σ + σ̂ < 1 (Assumption 1: the cost of quality is convex)"
_LENGTHS = "one entry per token class: `alpha` (or `exponents`), `cost` and `names` have the same length"


def _defs() -> dict[str, Schema]:
    d: dict[str, Schema] = {}
    d["problem"] = table(
        "[problem]", "What the file describes. Optional: without it the file is a single-model problem.",
        {"name": string("Name used in the output.", default="the file name without .toml"),
         "kind": enum("The paper setting; it decides which other tables the file has.",
                      tuple(SETTINGS), default=next(iter(SETTINGS))),
         "description": string("Free text, shown by `mechdesign problems`.", default="")},
        toml='[problem]\nname = "single_model_cobb_douglas"\nkind = "single_model"\ndescription = "free text"')
    d["technology"] = table(
        "[technology]",
        "The token technology g(x, z) = Ψ(x)Φ(z) of eq. (1) (single-model, contractible and value-scale "
        "problems, and multidimensional problems with `cost.kind = \"tokens\"`, whose fine-tuning is `none` or "
        "`ces`). Multi-model and leader-fringe files have only `sigma` here.",
        {"sigma": number("Returns to inference tokens: Ψ is homogeneous of degree σ. Required unless "
                         "`inference.exponents` gives σ as their sum.", paper="σ", gt=0.0, lt=1.0),
         "inference": ref("inference", "Inference tokens: the CES aggregator Ψ."),
         "finetuning": ref("finetuning", "Fine-tuning tokens: Φ; omit the table for Φ ≡ 1.")},
        required=("inference",),
        constraints=("`sigma` is required unless `inference.exponents` is given, and not allowed with it",),
        toml="[technology]\nsigma = 0.5")
    d["technology_sigma"] = table(
        "[technology] (multi-model and leader-fringe)",
        "§5: the models share σ; each model's fine-tuning is in its own table.",
        {"sigma": number("Returns to inference tokens, shared by every model (Lemma 2).", paper="σ",
                         gt=0.0, lt=1.0)},
        required=("sigma",))
    d["inference"] = table(
        "[technology.inference]",
        "Ψ(x) = (Σ_j α_j x_j^ρ)^{σ/ρ} (eq. 1, §2.1); ρ = 0 is Cobb-Douglas Π x_j^{σ α_j}.",
        {"names": names("Labels of the token classes (menu columns `X_<name>`).", default="x1, x2, ..."),
         "alpha": numbers("CES weights, one per class.", paper="α_j", gt=0.0, total=1.0),
         "rho": number("CES curvature; 0 is Cobb-Douglas, ρ → −∞ Leontief.", paper="ρ", lt=1.0, default=0.0),
         "cost": numbers("Marginal cost of a token of each class.", paper="c_j", gt=0.0),
         "exponents": numbers("Alternative to `technology.sigma` + `alpha`: Cobb-Douglas exponents σα_j; σ is "
                              "their sum.", paper="σα_j", gt=0.0,
                              constraints=("sum < 1", "not with `alpha`, `rho` or `technology.sigma`"))},
        required=("cost",), constraints=(_LENGTHS, "`alpha` or `exponents` is required"),
        toml='[technology.inference]\nnames = ["input", "output"]\nalpha = [0.6, 0.4]\nrho = 0.0\ncost = [1.0, 3.0]')
    ces, base = ("ces",), ("baseline",)
    d["finetuning"] = table(
        "[technology.finetuning]",
        "Φ(z): none (Φ ≡ 1), a homogeneous CES of degree σ̂ (`ces`; then C(Q) = C0 Q^{1/(σ+σ̂)}, Lemma 3) or "
        "the slides' (b + z)^γ (`baseline`; C(Q) from the first-order condition in z).",
        {"kind": enum("Form of Φ.", ("none", "ces", "baseline"), default="none if the table is empty, else ces",
                      paper="Φ"),
         "names": names("Labels of the fine-tuning classes (menu columns `Z_<name>`).", default="z1, ...",
                        kinds=ces + base),
         "sigma_hat": number("Degree of Φ.", paper="σ̂", gt=0.0, lt=1.0, kinds=ces, constraints=(_SIGMA_HAT,)),
         "alpha": numbers("CES weights over fine-tuning classes.", paper="α̂_k", gt=0.0, total=1.0,
                          default="equal", kinds=ces),
         "rho": number("CES curvature over fine-tuning classes.", paper="ρ̂", lt=1.0, default=0.0, kinds=ces),
         "cost": numbers("Marginal cost of a fine-tuning token (one class for `baseline`).", paper="ĉ_k",
                         gt=0.0, kinds=ces + base),
         "exponents": numbers("Alternative to `sigma_hat` + `alpha`: exponents σ̂α̂_k.", paper="σ̂α̂_k", gt=0.0,
                              kinds=ces, constraints=("σ + their sum < 1", "not with `alpha`, `rho`, `sigma_hat`")),
         "b": number("Baseline productivity.", paper="b", gt=0.0, kinds=base),
         "gamma": number("Sensitivity to fine-tuning.", paper="γ", gt=0.0, lt=1.0, kinds=base,
                         constraints=("γ < 1 − σ (g strictly concave, §2.1)",))},
        kinds=("none", "ces", "baseline"), default_kind="ces",
        required={"ces": ("cost",), "baseline": ("b", "gamma", "cost")},
        constraints=("`ces`: `sigma_hat` or `exponents` is required",),
        toml='[technology.finetuning]\nkind = "ces"\nnames = ["finetune"]\nsigma_hat = 0.25\ncost = [2.0]')
    d["types"] = table(
        "[types]",
        "The buyers' types. `distribution`: a continuous law of the aggregate type θ cut into `n` equal cells "
        "(each cell's midpoint with the cell's probability); `discrete`: scalar types; `task_profiles`: task-value "
        "profiles w_n reduced to θ(w) by eq. (7) (equal θ(w) merged, Prop 1); `separable`/`joint`: profiles "
        "w = θ_k d_r with sizes and directions (Def 6), independent or with a joint law (non-separable unless the "
        "matrix has rank one); `value_scale`: types (w, s) of eq. (54). Which kinds a problem accepts: "
        + "; ".join(f"{k}: {', '.join(s.type_kinds)}" for k, s in SETTINGS.items() if s.type_kinds)
        + ". Multidimensional problems have their own `[types]` (a grid or points, no `kind`).",
        {"kind": enum("Kind of types.", ("distribution", "discrete", "task_profiles", "separable", "joint",
                                         "value_scale"), default="distribution"),
         "n": integer("Number of equal cells of the distribution.", ge=2, le=MAX_TYPES, default=200, paper="N",
                      kinds=("distribution",)),
         "distribution": ref("distribution", "The continuous law of θ.", kinds=("distribution",)),
         "theta": numbers("Scalar types θ_1 < … < θ_N.", paper="θ_n", ge=0.0, increasing=True, kinds=("discrete",)),
         "prob": numbers("Probabilities of the types (or profiles).", paper="f_n", gt=0.0, total=1.0,
                         kinds=("discrete", "task_profiles"),
                         constraints=("one per `theta` (discrete) or per row of `w` (task_profiles)",)),
         "w": {"description": "Task-value profiles (task_profiles: one row per type, one entry per task segment) "
                              "or the law of the values w (value_scale: the table `[types.w]`).",
               "x-paper": "w", "x-kinds": ["task_profiles", "value_scale"],
               "oneOf": [matrix("Task-value profiles.", ge=0.0), {"$ref": "#/$defs/values"}]},
         "measures": numbers("Measures of the task segments.", paper="μ_t", gt=0.0, total=1.0, default="equal",
                             kinds=("task_profiles", "separable", "joint"),
                             constraints=("one per column of `w` / `directions`",)),
         "sizes": numbers("Sizes θ_k of the profiles w = θ_k d_r.", paper="θ_k", gt=0.0,
                          kinds=("separable", "joint")),
         "size_prob": numbers("Probabilities of the sizes.", gt=0.0, total=1.0, kinds=("separable",)),
         "directions": matrix("Directions d_r (rows, entries ≥ 0, each with a positive entry), normalised to "
                              "θ(d_r) = 1.", paper="d_r", ge=0.0, kinds=("separable", "joint")),
         "direction_prob": numbers("Probabilities of the directions.", gt=0.0, total=1.0, kinds=("separable",)),
         "joint": matrix("Joint probabilities: rows are sizes, columns directions; zero cells are dropped.",
                         ge=0.0, total=1.0, kinds=("joint",)),
         "s": ref("scales", "The task scales s.", kinds=("value_scale",))},
        kinds=("distribution", "discrete", "task_profiles", "separable", "joint", "value_scale"),
        default_kind="distribution",
        required={"distribution": ("distribution",), "discrete": ("theta", "prob"),
                  "task_profiles": ("w", "prob"), "separable": ("sizes", "size_prob", "directions", "direction_prob"),
                  "joint": ("sizes", "directions", "joint"), "value_scale": ("w", "s")},
        toml='[types]\nkind = "distribution"\nn = 200\n\n[types.distribution]\nkind = "uniform"\nlo = 0.0\nhi = 1.0')
    tp = d["types"]
    tp["allOf"] += [{"if": {"properties": {"kind": {"const": "task_profiles"}}, "required": ["kind"]},
                     "then": {"properties": {"w": {"type": "array"}}}},
                    {"if": {"properties": {"kind": {"const": "value_scale"}}, "required": ["kind"]},
                     "then": {"properties": {"w": {"type": "object"}}}}]
    d["distribution"] = table(
        "[types.distribution]",
        "A continuous law of θ on [lo, hi] (also `[types.w.distribution]` and each of a mixture's `components`). "
        "Virtual values (eq. 11) and Myerson ironing are computed from it; the exact discrete menu uses the "
        "discrete virtual values φ_n = θ_n − (θ_{n+1} − θ_n)(1 − F_n)/f_n, ironed by the convex hull of the "
        "revenue curve.",
        {"kind": enum("`uniform`; `beta`: Beta(a, b) rescaled to [lo, hi]; `power`: F(θ) = ((θ − lo)/(hi − lo))^k; "
                      "`mixture`: Σ weights_i f_i; `tabulated`: a density at `points`, linearly interpolated and "
                      "normalised.", ("uniform", "beta", "power", "mixture", "tabulated"), paper="F"),
         "lo": number("Lower end of the support.", ge=0.0, default=0.0, kinds=("uniform", "beta", "power"),
                      constraints=("lo < hi",)),
         "hi": number("Upper end of the support.", gt=0.0, default=1.0, kinds=("uniform", "beta", "power"),
                      constraints=("hi > lo",)),
         "a": number("First Beta shape parameter.", paper="a", gt=0.0, kinds=("beta",)),
         "b": number("Second Beta shape parameter.", paper="b", gt=0.0, kinds=("beta",)),
         "k": number("Exponent of the power law.", paper="k", gt=0.0, kinds=("power",)),
         "weights": numbers("Mixture weights.", gt=0.0, total=1.0, kinds=("mixture",),
                            constraints=("one per component",)),
         "components": {"type": "array", "minItems": 1, "x-kinds": ["mixture"],
                        "description": "Components (inline tables, no nested mixtures, one common support).",
                        "items": {"allOf": [{"$ref": "#/$defs/distribution"},
                                            {"properties": {"kind": {"not": {"const": "mixture"}}}}]}},
         "points": numbers("Points where the density is given.", ge=0.0, increasing=True, min_items=2,
                           kinds=("tabulated",)),
         "values": numbers("Density at `points` (not all zero; need not integrate to one).", ge=0.0,
                           kinds=("tabulated",), constraints=("one per point", "not all zero"))},
        kinds=("uniform", "beta", "power", "mixture", "tabulated"),
        required={"beta": ("a", "b"), "power": ("k",), "mixture": ("weights", "components"),
                  "tabulated": ("points", "values")},
        toml='[types.distribution]\nkind = "beta"\na = 2.0\nb = 2.0\nlo = 0.0\nhi = 1.0')
    d["values"] = table(
        "[types.w]",
        "Value-scale types (eq. 54): the value w of the tasks a type performs, independent of its scale s. "
        "`flat_virtual_value`: the probabilities that make every discrete virtual value but the top one equal "
        "`level` (Assumption 2 fails).",
        {"kind": enum("How w is given.", ("discrete", "distribution", "flat_virtual_value"), default="discrete"),
         "values": numbers("Values w_1 < … < w_K.", paper="w_k", ge=0.0, increasing=True,
                           kinds=("discrete", "flat_virtual_value")),
         "prob": numbers("Probabilities of the values.", gt=0.0, total=1.0, kinds=("discrete",),
                         constraints=("one per value",)),
         "n": integer("Cells of the distribution.", ge=2, default=20, kinds=("distribution",)),
         "distribution": ref("distribution", "The law of w.", kinds=("distribution",)),
         "level": number("The common discrete virtual value.", gt=0.0, kinds=("flat_virtual_value",),
                         constraints=("level < values[0]",))},
        kinds=("discrete", "distribution", "flat_virtual_value"), default_kind="discrete",
        required={"discrete": ("values", "prob"), "distribution": ("distribution",),
                  "flat_virtual_value": ("values", "level")},
        toml='[types.w]\nkind = "distribution"\nn = 20\n\n[types.w.distribution]\nkind = "uniform"')
    d["scales"] = table(
        "[types.s]", "Scales of value-scale types: type (w, s) values each task i ≤ s at w and the rest at zero.",
        {"values": numbers("Scales s_1 < … < s_L.", paper="s", gt=0.0, le=1.0, increasing=True),
         "prob": numbers("Probabilities of the scales.", gt=0.0, total=1.0, default="equal",
                         constraints=("one per value",))},
        required=("values",), toml="[types.s]\nvalues = [0.25, 0.5, 0.75, 1.0]\nprob = [0.25, 0.25, 0.25, 0.25]")
    d["solve"] = table(
        "[solve]",
        "Defaults of every solve of this problem: `load_problem(...).solve()` in Python and `mechdesign solve`, "
        "`plot`, `sweep` and `price` alike (the caller's options override them); an option the problem cannot "
        "use is an error. (`--formulation` and `--no-polish` are command-line only.)",
        {"ic": enum("IC strategy of the conic program: `all` every pair, `local` each type against the next one "
                    "down plus monotonicity, `adaptive` constraint generation. Multidimensional problems: "
                    f"{' or '.join(f'`{k}`' for k in MULTIDIM_IC)} (vector types have no `local`).",
                    tuple(IC_STRATEGIES), default=_ic_defaults()),
         "solver": string("Any installed cvxpy solver.", default=DEFAULT_SOLVER, minLength=1),
         "n": integer("Number of type cells; overrides `types.n` (continuous distributions only; not "
                      "multidimensional problems).", ge=2,
                      le=MAX_TYPES),
         "method": enum("Single-model problems: the exact structured solver or the cvxpy program.",
                        ("auto", "structured", "conic"), default="auto")},
        toml='[solve]\nic = "adaptive"\nsolver = "CLARABEL"')
    d["model"] = {
        "type": "object", "title": "[[models]]",
        "description": "One table per model (§5.1-5.2): either its Lemma 3 parameters (σ̂_l, κ_l), with "
                       "C_l(Q) = κ_l Q^{1/(σ+σ̂_l)}, or a full technology (κ_l = C0 and σ̂_l by Lemma 3).",
        "properties": {
            "name": string("Name of the model.", default="model<i>"),
            "sigma_hat": number("Returns to fine-tuning of the model.", paper="σ̂_l", ge=0.0, lt=1.0,
                                constraints=("σ + σ̂_l < 1",)),
            "kappa": number("Cost scale of quality.", paper="κ_l", gt=0.0),
            "technology": {"description": "A full technology: `[models.technology.inference]` and "
                                          "`[models.technology.finetuning]` as in `[technology]` (fine-tuning "
                                          "`none` or `ces`); `sigma` may be repeated but must equal the shared one.",
                           "$ref": "#/$defs/technology_model"}},
        "additionalProperties": False,
        "oneOf": [{"required": ["sigma_hat", "kappa"], "not": {"required": ["technology"]}},
                  {"required": ["technology"], "propertyNames": {"enum": ["name", "technology"]}}],
        "x-toml": '[[models]]\nname = "base"\nsigma_hat = 0.1\nkappa = 0.5\n\n[[models]]\nname = "reasoning"\n'
                  '[models.technology.inference]\nalpha = [0.6, 0.4]\ncost = [1.0, 3.0]\n'
                  '[models.technology.finetuning]\nkind = "ces"\nsigma_hat = 0.3\ncost = [2.0]',
    }
    tm = copy.deepcopy(d["technology"])
    tm["title"] = "[models.technology]"
    tm["description"] = "A model's technology, as `[technology]`; σ is the shared `technology.sigma`."
    tm.pop("x-toml")
    tm.pop("x-constraints")
    tm["properties"] = dict(tm["properties"])
    tm["properties"]["sigma"] = number("May be repeated; must equal the shared `technology.sigma`.", paper="σ")
    d["technology_model"] = tm
    d["technology"]["allOf"] = [  # σ is required unless the inference exponents give it (not in a model's table)
        {"if": {"properties": {"inference": {"required": ["exponents"]}}},
         "then": {"not": {"required": ["sigma"]}}, "else": {"required": ["sigma"]}}]
    d["leader"] = table(
        "[leader]", "§5.3: the leader's fine-tuning returns and cost.",
        {"sigma_hat": number("The leader's returns to fine-tuning.", paper="σ̂_L", gt=0.0, lt=1.0,
                             constraints=("σ̂_L < 1 − σ",)),
         "cost": number("The leader's marginal cost.", paper="c_L", gt=0.0, constraints=("c_L > c_F",))},
        required=("sigma_hat", "cost"), toml="[leader]\nsigma_hat = 0.25\ncost = 0.125")
    d["fringe"] = table(
        "[fringe]", "§5.3: the competitive open-source fringe. With σ̂_F = 0 the closed forms of Prop 7 apply; "
                    "σ̂_F > 0 is solved numerically only (`mechdesign solve`: a lottery LP with a certificate).",
        {"sigma_hat": number("The fringe's returns to fine-tuning.", paper="σ̂_F", ge=0.0, lt=1.0, default=0.0,
                             constraints=("σ̂_F < σ̂_L",)),
         "cost": number("The fringe's marginal cost.", paper="c_F", gt=0.0, constraints=("c_F < c_L",))},
        required=("cost",), toml="[fringe]\nsigma_hat = 0.0\ncost = 0.1")
    d["multidim_types"] = {
        "type": "object", "title": "[types] (multidim)",
        "description": "D-dimensional discrete types v_n ≥ 0 (values of the D goods or task segments; the buyer's "
                       "utility is v·q − t) with probabilities f_n: either the cell midpoints of a regular `grid` on "
                       "a box (uniform, or with cell `weights`), or `points` with `prob`. No `kind` key. At most "
                       f"{MAX_POINTS:,} types (the all-pairs audit compares N² pairs).",
        "properties": {
            "grid": ref("grid", "A regular grid on the box [lo, hi]: its cells' midpoints are the types."),
            "weights": numbers("Mass of each grid cell in row-major order (the last dimension fastest), "
                               "normalised to sum to one.", paper="f_n", gt=0.0, default="equal (uniform)",
                               constraints=("one per cell: the product of `grid.n` entries",
                                            "only with `grid`")),
            "points": matrix("Type points v_n, one row of D non-negative numbers per type.", paper="v_n", ge=0.0,
                             constraints=("rows of equal length D", "not with `grid`")),
            "prob": numbers("Probabilities of the points.", paper="f_n", gt=0.0, total=1.0,
                            constraints=("one per row of `points`",))},
        "additionalProperties": False,
        "oneOf": [{"required": ["grid"], "propertyNames": {"enum": ["grid", "weights"]}},
                  {"required": ["points", "prob"], "propertyNames": {"enum": ["points", "prob"]}}],
        "x-constraints": ["either `grid` (with optional `weights`) or `points` and `prob`",
                          f"at most {MAX_POINTS:,} types"],
        "x-toml": "[types]\ngrid = { lo = [1.0, 1.0], hi = [2.0, 2.0], n = [20, 20] }\n\n"
                  "# or: points = [[0.5, 1.0], [1.0, 0.5], [1.0, 1.0]]\n#     prob = [0.3, 0.3, 0.4]",
    }
    d["grid"] = table(
        "[types.grid]",
        "A regular grid on the box [lo, hi] ⊂ R^D_+ with n_d cells in dimension d; the types are the cells' "
        "midpoints (Rochet and Choné's types uniform on [1, 2]² as a 20 × 20 grid: `lo = [1, 1]`, `hi = [2, 2]`, "
        "`n = [20, 20]`).",
        {"lo": numbers("Lower corner of the box.", ge=0.0, constraints=("one entry per dimension",)),
         "hi": numbers("Upper corner of the box.", gt=0.0, constraints=("hi_d > lo_d in every dimension",)),
         "n": _leaf("array", "Cells per dimension.", items={"type": "integer", "minimum": 1, "maximum": MAX_POINTS},
                    minItems=1, constraints=(f"their product is at most {MAX_POINTS:,}",))},
        required=("lo", "hi", "n"), constraints=("`lo`, `hi` and `n` have one entry per dimension D",),
        toml="[types.grid]\nlo = [0.0, 0.0]\nhi = [1.0, 1.0]\nn = [40, 40]")
    d["cost"] = table(
        "[cost]",
        "The seller's convex cost c(q) of an allocation q ∈ R^D_+ (`linear`: q in a bounded `domain`) "
        "(multidimensional problems); each comes with its "
        "exact conjugate for the certificate. `quadratic`: ½ q'Aq (Rochet and Choné: A = I); `power`: "
        "Σ_d c_d q_d^{p_d}/p_d; `tokens`: Appendix B's least cost of a quality profile with shared fine-tuning, "
        "K(Σ_t μ_t q_t^{1/σ})^{σ/(σ+σ̂)}, from the file's `[technology]`; `linear`: k·q on a bounded `domain` "
        "(the box [0, 1]^D: bundling, Manelli and Vincent 2006; the simplex {q ≥ 0, Σ_d q_d ≤ 1}: lotteries over "
        "goods), a linear program finished at a simplex vertex.",
        {"kind": enum("Cost family.", ("quadratic", "power", "tokens", "linear"), default="quadratic"),
         "A": matrix("The D × D Hessian of ½ q'Aq; positive off-diagonal entries make the goods substitutes in "
                     "production.", paper="A", default="identity", kinds=("quadratic",),
                     constraints=("symmetric positive definite",)),
         "c": numbers("Cost coefficients, one per dimension.", paper="c_d", gt=0.0, kinds=("power",)),
         "p": {"description": "Exponents, one per dimension or one for all.", "x-paper": "p_d",
               "x-kinds": ["power"],
               "oneOf": [number("One exponent for every dimension.", gt=1.0, le=20.0),
                         numbers("One exponent per dimension.", gt=1.0, le=20.0)]},
         "measures": numbers("Measures of the task segments, one per dimension.", paper="μ_t", gt=0.0,
                             default="equal (1/D each)", kinds=("tokens",)),
         "k": numbers("Marginal cost of each good, one per dimension.", paper="k_d", ge=0.0, default="zero",
                      kinds=("linear",)),
         "domain": enum("The allocations' domain. `linear`: `box` q ∈ [0, 1]^D (each good up to one unit, the "
                        "default) or `simplex` q ≥ 0, Σ_d q_d ≤ 1 (one unit in all); `quadratic`: `nonneg` q ∈ R^D_+ "
                        "(the default) or `free` q ∈ R^D (free in sign).", ("box", "simplex", "nonneg", "free"),
                        default="box (linear), nonneg (quadratic)", kinds=("quadratic", "linear"),
                        constraints=("`box` or `simplex` for `linear`; `nonneg` or `free` for `quadratic`",))},
        kinds=("quadratic", "power", "tokens", "linear"), default_kind="quadratic",
        required={"power": ("c", "p")},
        constraints=("one entry (row) per dimension D of the types",
                     "`tokens` needs a `[technology]` table (fine-tuning `none` or `ces`); the others refuse one",
                     "`domain` belongs to `linear` and `quadratic` (the power and token costs allocate q ∈ R^D_+)"),
        toml='[cost]\nkind = "quadratic"\nA = [[1.0, 0.5], [0.5, 1.0]]')
    # each kind's own domains (the reader refuses the others)
    d["cost"]["allOf"] += [
        {"if": {"properties": {"kind": {"const": "linear"}}, "required": ["kind"]},
         "then": {"properties": {"domain": {"enum": ["box", "simplex"]}}}},
        {"if": {"anyOf": [{"properties": {"kind": {"const": "quadratic"}}, "required": ["kind"]},
                          {"not": {"required": ["kind"]}}]},
         "then": {"properties": {"domain": {"enum": ["nonneg", "free"]}}}}]
    for spec in SETTINGS.values():  # the tables a setting brings (its schema fragment's defs)
        d.update(copy.deepcopy(dict(spec.schema.get("defs", {}))))
    return d


def _kind_is(*kinds: str) -> Schema:
    return {"properties": {"problem": {"properties": {"kind": {"enum": list(kinds)}}, "required": ["kind"]}},
            "required": ["problem"]}


#: small valid files for the keys no shipped problem uses (the schema's ``examples``; tests/test_docs.py
#: sets each ranged key of them just inside and just outside its range)
EXAMPLES: list[dict[str, Any]] = [
    {"technology": {"inference": {"exponents": [0.3, 0.2], "cost": [1.0, 3.0]},
                    "finetuning": {"kind": "baseline", "b": 1.0, "gamma": 0.3, "cost": [2.0]}},
     "types": {"kind": "discrete", "theta": [0.2, 0.5, 1.0], "prob": [0.3, 0.3, 0.4]}},
    {"technology": {"sigma": 0.5, "inference": {"alpha": [0.5, 0.5], "rho": -1.0, "cost": [1.0, 2.0]},
                    "finetuning": {"kind": "ces", "exponents": [0.1, 0.15], "cost": [1.0, 2.0]}},
     "types": {"kind": "distribution", "n": 50, "distribution": {"kind": "power", "k": 2.0, "lo": 0.5, "hi": 2.0}},
     "solve": {"n": 100, "method": "structured"}},
    {"technology": {"sigma": 0.5, "inference": {"alpha": [1.0], "cost": [1.0]}},
     "types": {"kind": "distribution", "distribution": {"kind": "tabulated", "points": [0.1, 0.5, 1.0],
                                                        "values": [1.0, 2.0, 1.0]}}},
    {"problem": {"kind": "value_scale"},
     "technology": {"sigma": 0.4, "inference": {"alpha": [1.0], "cost": [1.0]},
                    "finetuning": {"sigma_hat": 0.2, "alpha": [0.5, 0.5], "rho": 0.5, "cost": [1.0, 1.0]}},
     "types": {"kind": "value_scale", "w": {"kind": "discrete", "values": [0.4, 0.7, 1.0], "prob": [0.5, 0.3, 0.2]},
               "s": {"values": [0.5, 1.0], "prob": [0.6, 0.4]}}},
    {"problem": {"kind": "multimodel"}, "technology": {"sigma": 0.5},
     "models": [{"name": "base", "sigma_hat": 0.1, "kappa": 0.5},
                {"name": "tuned", "technology": {"inference": {"alpha": [0.6, 0.4], "cost": [1.0, 3.0]},
                                                 "finetuning": {"kind": "ces", "sigma_hat": 0.3, "cost": [2.0]}}}],
     "types": {"kind": "discrete", "theta": [0.2, 0.6, 1.0], "prob": [0.2, 0.5, 0.3]}},
    # σ near 0: the upper bounds of σ̂, γ (σ + σ̂ < 1, γ < 1 − σ) approach 1
    {"technology": {"sigma": 0.0001, "inference": {"alpha": [1.0], "cost": [1.0]},
                    "finetuning": {"kind": "baseline", "b": 1.0, "gamma": 0.5, "cost": [1.0]}},
     "types": {"kind": "discrete", "theta": [0.5, 1.0], "prob": [0.5, 0.5]}},
    {"technology": {"sigma": 0.0001, "inference": {"alpha": [1.0], "cost": [1.0]},
                    "finetuning": {"kind": "ces", "sigma_hat": 0.5, "cost": [1.0]}},
     "types": {"kind": "discrete", "theta": [0.5, 1.0], "prob": [0.5, 0.5]}},
    {"problem": {"kind": "multimodel"}, "technology": {"sigma": 0.0001},
     "models": [{"name": "only", "sigma_hat": 0.5, "kappa": 1.0}],
     "types": {"kind": "discrete", "theta": [0.5, 1.0], "prob": [0.5, 0.5]}},
    # (leader-fringe quantities grow like (theta d / c)^(1 / (1 - d)), d = sigma + sigma_hat: with d near 1 the
    # costs sit near d theta so that they stay inside double precision; a cheap fringe in a second example)
    {"problem": {"kind": "leader_fringe"}, "technology": {"sigma": 0.0001},
     "leader": {"sigma_hat": 0.9995, "cost": 1.0}, "fringe": {"sigma_hat": 0.0, "cost": 0.99},
     "types": {"kind": "distribution", "n": 20, "distribution": {"kind": "uniform"}}},
    {"problem": {"kind": "leader_fringe"}, "technology": {"sigma": 0.5},
     "leader": {"sigma_hat": 0.25, "cost": 0.125}, "fringe": {"sigma_hat": 0.0, "cost": 1e-9},
     "types": {"kind": "distribution", "n": 20, "distribution": {"kind": "uniform"}}},
    # multidimensional: listed points with a power cost, a weighted grid with the token cost, a 1-D grid
    {"problem": {"kind": "multidim"},
     "types": {"points": [[0.5, 1.0], [1.0, 0.5], [1.0, 1.0]], "prob": [0.3, 0.3, 0.4]},
     "cost": {"kind": "power", "c": [1.0, 2.0], "p": [2.0, 1.5]}, "solve": {"ic": "all"}},
    {"problem": {"kind": "multidim"},
     "technology": {"sigma": 0.5, "inference": {"alpha": [1.0], "cost": [1.0]},
                    "finetuning": {"kind": "ces", "sigma_hat": 0.25, "cost": [1.0]}},
     "types": {"grid": {"lo": [0.0, 0.0], "hi": [1.0, 2.0], "n": [2, 3]}, "weights": [1.0, 2.0, 3.0, 3.0, 2.0, 1.0]},
     "cost": {"kind": "tokens", "measures": [0.25, 0.75]}},
    {"problem": {"kind": "multidim"}, "types": {"grid": {"lo": [0.5], "hi": [1.5], "n": [10]}},
     "cost": {"kind": "power", "c": [1.0], "p": 3.0}},
    # bundling two goods (Manelli and Vincent 2006): a linear cost on the box; lotteries on the simplex
    {"problem": {"kind": "multidim"}, "types": {"grid": {"lo": [0.0, 0.0], "hi": [1.0, 1.0], "n": [4, 4]}},
     "cost": {"kind": "linear", "k": [0.0, 0.1], "domain": "box"}},
    {"problem": {"kind": "multidim"}, "types": {"grid": {"lo": [0.0, 0.0], "hi": [1.0, 1.0], "n": [4, 4]}},
     "cost": {"kind": "linear", "domain": "simplex"}},
    # allocations free in sign with a quadratic cost
    {"problem": {"kind": "multidim"},
     "types": {"points": [[0.5, 1.0], [1.0, 0.5], [1.0, 1.0]], "prob": [0.3, 0.3, 0.4]},
     "cost": {"kind": "quadratic", "A": [[1.0, 0.5], [0.5, 1.0]], "domain": "free"}},
]


def _kind_rules(kind: str) -> list[Schema]:
    """The rules of ``problem.kind = kind`` from its spec (:class:`~mechdesign.settings.spec.SettingSpec`): the
    tables its files may and must have and their schemas (its fragment's ``file``), the ``types.kind`` values
    it accepts, and no ``solve.method`` unless it honours ``method``."""
    spec = SETTINGS[kind]
    frag = spec.schema
    others = [k for k in SETTINGS if k != kind]
    cond = _kind_is(kind) if kind != next(iter(SETTINGS)) else {"not": _kind_is(*others)} if others else {}
    then: Schema = copy.deepcopy(dict(frag["file"]))
    own = {key: copy.deepcopy(sch) for key, sch in frag.get("properties", {}).items()
           if key not in then.get("properties", {})}
    if own:  # its own top-level tables, checked here too (another kind may have a table of the same name)
        then["properties"] = {**then.get("properties", {}), **own}
    then["required"] = list(frag["required"])
    then["propertyNames"] = {"enum": list(frag["keys"])}
    rules: list[Schema] = [{"if": cond, "then": then}]
    if spec.type_kinds:  # types.kind (absent: distribution)
        allowed = list(spec.type_kinds)
        rules.append({"if": cond, "then": {"properties": {"types": {
            "anyOf": [{"properties": {"kind": {"enum": allowed}}, "required": ["kind"]}]
            + ([{"not": {"required": ["kind"]}}] if "distribution" in allowed else [])}}}})
    if "method" not in spec.options and "solve" in frag["keys"]:  # [solve] method: the settings that honour it
        rules.append({"if": cond, "then": {"properties": {"solve": {"not": {"required": ["method"]}}}}})
    return rules


def problem_schema() -> Schema:
    """The JSON Schema (draft 2020-12) of a problem file, as a dict (``json.dumps`` it to publish it).

    The top-level tables every kind shares are described here; each registered setting adds its own
    (its fragment's ``properties``, annotated with ``x-kinds``) and its rules (:func:`_kind_rules`).
    """
    defs = _defs()
    props: Schema = {
        "problem": ref("problem", "What the file describes (optional)."),
        "technology": {"type": "object", "description": "The token technology (`[technology]`; only `sigma` "
                                                        "for multi-model and leader-fringe problems)."},
        "types": {"type": "object", "description": "The buyers' types (`[types]`; a grid or points for "
                                                   "multidimensional problems)."},
        "solve": ref("solve", "Defaults for `mechdesign solve` (optional)."),
    }
    for kind, spec in SETTINGS.items():  # the tables of one setting, annotated with the kinds that have them
        for key, sch in spec.schema.get("properties", {}).items():
            if key not in props:
                props[key] = {**copy.deepcopy(sch), "x-kinds": [kind]}
            elif "x-kinds" in props[key]:  # a table of several settings: each kind's rule checks its own
                props[key] = {"description": props[key].get("description", ""),
                              "x-kinds": [*props[key]["x-kinds"], kind]}
    every = [key for key in SETTINGS[next(iter(SETTINGS))].schema["required"]
             if all(key in s.schema["required"] for s in SETTINGS.values())]
    root: Schema = {
        "$schema": DRAFT, "$id": SCHEMA_ID, "title": "mechdesign problem file",
        "description": "A TOML problem file of mechdesign (Bergemann, Bonatti and Smolin 2026, Menu Pricing of "
                       "Large Language Models). Every key is checked by the reader: an unknown key is an error.",
        "type": "object",
        "properties": props,
        "required": every,
        "additionalProperties": False,
        "allOf": [rule for kind in SETTINGS for rule in _kind_rules(kind)],
        "$defs": defs,
        "examples": copy.deepcopy(EXAMPLES),
    }
    return root


def schema_json(indent: int = 2) -> str:
    """The schema as JSON text (what ``mechdesign schema`` prints)."""
    return json.dumps(problem_schema(), indent=indent, ensure_ascii=False) + "\n"

