"""The tables of a problem file, read into the library's objects: ``[technology]``, ``[types]`` and the
distributions in them, with the small key checks every reader uses (``subtable``, ``only_keys``,
``required_key``) and the cap on the number of type cells (:func:`type_count`).

Each function checks every key of its table (unknown keys are errors) and every value against its range,
with a message that names the key; :mod:`mechdesign.problemreaders` assembles whole files from them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mechdesign import _validate as V
from mechdesign.analytic.cost_based import joint_profiles, separable_profiles
from mechdesign.analytic.value_scale import ValueScaleTypes, flat_virtual_value_types
from mechdesign.exceptions import ProblemSpecError
from mechdesign.technology import CES, BaselineFineTuning, CESFineTuning, FineTuning, NoFineTuning, Technology
from mechdesign.types import (
    BetaDist,
    DiscreteTypes,
    Distribution,
    Mixture,
    Power,
    Tabulated,
    TaskProfileTypes,
    Uniform,
)

#: the most type cells a problem may ask for (``types.n``, ``solve.n``, ``--n``)
MAX_TYPES = 2_000_000
#: the most types of a program audited over all N^2 IC pairs (value-scale grids; multidim's MAX_POINTS)
MAX_PAIR_TYPES = 40_000
#: rough memory of the single-model solve per type (bytes), for the message that refuses larger sizes
BYTES_PER_TYPE = 1500


def subtable(parent: Mapping[str, object], key: str, where: str, required: bool = True) -> dict[str, object]:
    """The table ``parent[key]`` (``{}`` when absent and not ``required``); ``where`` prefixes the key in errors."""
    val = parent.get(key)
    if val is None:
        if required:
            raise ProblemSpecError(f"{where}{key}", None, "is missing: add this table to the problem file")
        return {}
    if not isinstance(val, Mapping):
        raise ProblemSpecError(f"{where}{key}", val, "must be a table ([section] or {...})")
    return dict(val)


def only_keys(table: Mapping[str, object], allowed: tuple[str, ...], where: str) -> None:
    """Refuse the first key of ``table`` not in ``allowed`` (usually a typo), naming it and the allowed keys."""
    extra = sorted(set(table) - set(allowed))
    if extra:
        raise ProblemSpecError(
            f"{where}{extra[0]}", table[extra[0]], "is not a known key here; allowed keys: " + ", ".join(allowed)
        )


def required_key(table: Mapping[str, object], key: str, where: str) -> object:
    """``table[key]``, or an error naming the missing key."""
    if key not in table:
        raise ProblemSpecError(f"{where}{key}", None, "is missing")
    return table[key]



def memory_estimate(n: int) -> str:
    """Rough memory of a single-model solve with ``n`` types (``BYTES_PER_TYPE`` each), e.g. ``'15 GB'``."""
    return _bytes(float(n) * BYTES_PER_TYPE)


def _bytes(size: float) -> str:
    """A number of bytes in words: ``'15 GB'``."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.3g} {unit}"
        size /= 1000
    return ""  # pragma: no cover


def type_count(field: str, value: object) -> int:
    """A number of type cells: an integer in ``[2, MAX_TYPES]``; larger ones are refused up front with the
    memory they would need (a single-model solve keeps about ``BYTES_PER_TYPE`` bytes per type)."""
    n = V.integer(field, value, -(2**63))
    if n < 2:
        raise ProblemSpecError(field, value, f"must be an integer from 2 to {MAX_TYPES:,}")
    if n > MAX_TYPES:
        raise ProblemSpecError(field, value, f"must be an integer from 2 to {MAX_TYPES:,}: {n:,} types would need "
                               f"about {memory_estimate(n)} of memory (about {BYTES_PER_TYPE / 1000:.1f} KB per "
                               "type for the single-model solve)")
    return n



def _pair_count(field: str, value: object, total: int, why: str) -> None:
    """Refuse a size that gives more than :data:`MAX_PAIR_TYPES` types to a program audited over all
    N^2 IC pairs, with the pairs and the memory of one N x N table of them."""
    if total > MAX_PAIR_TYPES:
        raise ProblemSpecError(field, value, f"gives {total:,} types ({why}); at most {MAX_PAIR_TYPES:,}: the "
                               f"program and its all-pairs audit compare N^2 = {float(total) ** 2:.2g} pairs "
                               f"(about {_bytes(8.0 * total * total)} for one table of them)")


def _lengths_agree(where: str, given: Mapping[str, object]) -> None:
    """Check that the lists ``given`` (key -> list), one entry per token class, have the same length.

    When the lengths differ, the key whose length disagrees with the others is named (with ``alpha``
    or ``exponents`` as the reference when there is no majority), e.g. ``technology.inference.cost =
    [1.0] is invalid: has 1 entry but technology.inference.alpha has 2 (one per token class).``
    """
    sizes: dict[str, int] = {}
    for key, value in given.items():
        if key == "names":
            if isinstance(value, list):
                sizes[key] = len(value)
        else:
            sizes[key] = V.vector(where + key, value).size
    if not sizes:
        return
    counts: dict[int, int] = {}
    for size in sizes.values():
        counts[size] = counts.get(size, 0) + 1
    ref_key = next(iter(sizes))  # alpha / exponents first: they define the classes
    ref = max(counts, key=lambda c: (counts[c], c == sizes[ref_key]))
    for key, size in sizes.items():
        if size != ref:
            other = next(k for k, v in sizes.items() if v == ref)
            raise ProblemSpecError(where + key, given[key], f"has {V.plural(size, 'entry')} but {where}{other} has "
                                   f"{ref} (one per token class)")


def _rho(field: str, value: object) -> float:
    rho = V.as_float(field, value)
    if not rho < 1.0:
        raise ProblemSpecError(field, value, "must be < 1 (rho = 0 is Cobb-Douglas; rho -> -inf, Leontief)")
    return rho


def technology_from_table(t: Mapping[str, object]) -> tuple[Technology, list[str], list[str]]:
    """``[technology]``: ``sigma`` and ``[technology.inference]``, optional ``[technology.finetuning]``."""
    only_keys(t, ("sigma", "inference", "finetuning"), "technology.")
    inf = subtable(t, "inference", "technology.")
    where = "technology.inference."
    only_keys(inf, ("names", "alpha", "rho", "cost", "exponents"), where)
    shape = "exponents" if "exponents" in inf else "alpha"
    _lengths_agree(where, {k: inf[k] for k in (shape, "cost", "names") if k in inf})
    cost = V.positive_vector(where + "cost", required_key(inf, "cost", where))
    if "exponents" in inf:
        if "alpha" in inf or "sigma" in t:
            raise ProblemSpecError(where + "exponents", inf["exponents"],
                                   "cannot be combined with alpha or technology.sigma (give one or the other)")
        if "rho" in inf:
            raise ProblemSpecError(where + "rho", inf["rho"], "cannot be combined with exponents (Cobb-Douglas); "
                                   "give technology.sigma, alpha and rho instead")
        ex = V.positive_vector(where + "exponents", inf["exponents"], length=cost.size)
        sigma = float(ex.sum())
        if not sigma < 1.0:
            raise ProblemSpecError(where + "exponents", inf["exponents"],
                                   f"must sum to less than 1 (they sum to {sigma:.6g}: decreasing returns)")
        ces = CES(ex / sigma, 0.0, where + "alpha")
    else:
        sigma = V.in_open("technology.sigma", required_key(t, "sigma", "technology."), 0.0, 1.0)
        alpha = V.weights(where + "alpha", required_key(inf, "alpha", where), length=cost.size)
        ces = CES(alpha, _rho(where + "rho", inf.get("rho", 0.0)), where + "alpha")
    inames = _names(inf, where + "names", cost.size, "x")
    ft_t = subtable(t, "finetuning", "technology.", required=False)
    ft: FineTuning
    fnames: list[str] = []
    where = "technology.finetuning."
    kind = V.one_of(where + "kind", ft_t.get("kind", "none" if not ft_t else "ces"), ("none", "ces", "baseline"))
    if kind == "none":
        only_keys(ft_t, ("kind",), where)
        ft = NoFineTuning()
    elif kind == "ces":
        only_keys(ft_t, ("kind", "names", "alpha", "rho", "cost", "sigma_hat", "exponents"), where)
        _lengths_agree(where, {k: ft_t[k] for k in ("exponents", "alpha", "cost", "names") if k in ft_t})
        fcost = V.positive_vector(where + "cost", required_key(ft_t, "cost", where))
        if "exponents" in ft_t:
            if "alpha" in ft_t or "sigma_hat" in ft_t or "rho" in ft_t:
                raise ProblemSpecError(where + "exponents", ft_t["exponents"],
                                       "cannot be combined with alpha, rho or sigma_hat (give one or the other)")
            fx = V.positive_vector(where + "exponents", ft_t["exponents"], length=fcost.size)
            sh = float(fx.sum())
            fces = CES(fx / sh, 0.0, where + "alpha")
            sh_key, sh_val = where + "exponents", ft_t["exponents"]
        else:
            sh = V.in_open(where + "sigma_hat", required_key(ft_t, "sigma_hat", where), 0.0, 1.0)
            falpha = V.weights(where + "alpha", ft_t.get("alpha", [1.0] * fcost.size), length=fcost.size)
            fces = CES(falpha, _rho(where + "rho", ft_t.get("rho", 0.0)), where + "alpha")
            sh_key, sh_val = where + "sigma_hat", ft_t["sigma_hat"]
        if not sigma + sh < 1.0:
            raise ProblemSpecError(sh_key, sh_val, f"must keep sigma + sigma_hat < 1 (sigma = {sigma:g}, sigma_hat = "
                                   f"{sh:g}); otherwise the cost of quality is not convex (Assumption 1)")
        ft = CESFineTuning(fces, sh, fcost)
        fnames = _names(ft_t, where + "names", fcost.size, "z")
    else:
        only_keys(ft_t, ("kind", "names", "b", "gamma", "cost"), where)
        _lengths_agree(where, {k: ft_t[k] for k in ("cost", "names") if k in ft_t})
        gamma = V.in_open(where + "gamma", required_key(ft_t, "gamma", where), 0.0, 1.0)
        if not gamma < 1.0 - sigma:
            raise ProblemSpecError(where + "gamma", ft_t["gamma"], f"must be < 1 - technology.sigma = {1 - sigma:g} "
                                   "so that g is strictly concave (BBS §2.1)")
        ft = BaselineFineTuning(V.positive(where + "b", required_key(ft_t, "b", where)), gamma,
                                V.positive_vector(where + "cost", required_key(ft_t, "cost", where), length=1))
        fnames = _names(ft_t, where + "names", 1, "z")
    return Technology(ces, sigma, cost, ft), inames, fnames


def _names(t: Mapping[str, object], field: str, n: int, prefix: str) -> list[str]:
    key = field.rsplit(".", 1)[-1]
    if key not in t:
        return [f"{prefix}{i + 1}" for i in range(n)]
    names = t[key]
    if not isinstance(names, list) or len(names) != n or not all(isinstance(x, str) and x for x in names):
        raise ProblemSpecError(field, names, f"must be a list of {n} non-empty strings (one per class)")
    if len(set(names)) != n:
        raise ProblemSpecError(field, names, "must be distinct")
    return list(names)


def number_matrix(t: Mapping[str, object], key: str, where: str) -> np.ndarray:
    """``t[key]`` as a float matrix (a list of equal-length lists of numbers), or an error naming the key."""
    raw = required_key(t, key, where)
    V.refuse_non_numbers(where + key, raw)
    try:
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise ProblemSpecError(where + key, raw, "must be a list of equal-length lists of numbers") from None
    if arr.ndim != 2 or arr.size == 0:
        raise ProblemSpecError(where + key, raw, "must be a non-empty list of equal-length lists of numbers")
    return arr


def types_from_table(t: Mapping[str, object], sigma: float = 0.5
                     ) -> tuple[DiscreteTypes | TaskProfileTypes | Distribution | ValueScaleTypes, int]:
    """``[types]``: ``kind`` = distribution | discrete | task_profiles | separable | joint | value_scale.

    ``sigma`` (the technology's) normalises the directions of separable and joint task profiles.
    """
    kind = V.one_of("types.kind", t.get("kind", "distribution"),
                    ("distribution", "discrete", "task_profiles", "separable", "joint", "value_scale"))
    n = 200
    if kind == "distribution":
        only_keys(t, ("kind", "n", "distribution"), "types.")
        if "n" in t:
            n = type_count("types.n", t["n"])
        return distribution_from_table(subtable(t, "distribution", "types."), "types.distribution."), n
    if kind == "discrete":
        only_keys(t, ("kind", "theta", "prob"), "types.")
        theta = V.vector("types.theta", required_key(t, "theta", "types."))
        prob = V.vector("types.prob", required_key(t, "prob", "types."), length=theta.size)
        return DiscreteTypes(theta, prob), theta.size
    if kind == "task_profiles":
        only_keys(t, ("kind", "w", "prob", "measures"), "types.")
        warr = number_matrix(t, "w", "types.")
        T = warr.shape[1]
        measures = V.vector("types.measures", t.get("measures", [1.0 / T] * T))
        return TaskProfileTypes(warr, V.vector("types.prob", required_key(t, "prob", "types.")), measures), len(warr)
    if kind in ("separable", "joint"):
        extra = ("size_prob", "direction_prob") if kind == "separable" else ("joint",)
        only_keys(t, ("kind", "sizes", "directions", "measures") + extra, "types.")
        d = number_matrix(t, "directions", "types.")
        T = d.shape[1]
        measures = V.vector("types.measures", t.get("measures", [1.0 / T] * T))
        sizes = V.vector("types.sizes", required_key(t, "sizes", "types."))
        if kind == "separable":
            prof = separable_profiles(sizes, V.vector("types.size_prob", required_key(t, "size_prob", "types.")), d,
                                      V.vector("types.direction_prob", required_key(t, "direction_prob", "types.")),
                                      measures, sigma)
        else:
            prof = joint_profiles(sizes, d, number_matrix(t, "joint", "types."), measures, sigma)
        return prof, len(prof.prob)
    only_keys(t, ("kind", "w", "s"), "types.")
    wt = subtable(t, "w", "types.")
    wkind = V.one_of("types.w.kind", wt.get("kind", "discrete"), ("discrete", "distribution", "flat_virtual_value"))
    w: DiscreteTypes | None
    if wkind == "discrete":
        only_keys(wt, ("kind", "values", "prob"), "types.w.")
        vals = V.vector("types.w.values", required_key(wt, "values", "types.w."))
        w = DiscreteTypes(vals, V.vector("types.w.prob", required_key(wt, "prob", "types.w."), length=vals.size),
                          fields=("types.w.values", "types.w.prob"))
    elif wkind == "distribution":
        only_keys(wt, ("kind", "n", "distribution"), "types.w.")
        nw = type_count("types.w.n", wt.get("n", 20))
        w = None  # discretised once the scales are known and the size is checked
    else:
        only_keys(wt, ("kind", "values", "level"), "types.w.")
        w = flat_virtual_value_types(V.vector("types.w.values", required_key(wt, "values", "types.w.")),
                                     V.as_float("types.w.level", required_key(wt, "level", "types.w.")))
    st = subtable(t, "s", "types.")
    only_keys(st, ("values", "prob"), "types.s.")
    s_vals = V.vector("types.s.values", required_key(st, "values", "types.s."))
    s_prob = V.vector("types.s.prob", st.get("prob", [1.0 / s_vals.size] * s_vals.size), length=s_vals.size)
    field = "types.w.n" if w is None else "types.w.values"
    count = nw if w is None else w.n
    _pair_count(field, wt.get("n", 20) if w is None else f"{w.n} values", count * s_vals.size,
                f"{count:,} values x {s_vals.size} scales")
    if w is None:
        w = distribution_from_table(subtable(wt, "distribution", "types.w."), "types.w.distribution.").discretize(nw)
    vs = ValueScaleTypes(w, s_vals, s_prob)
    return vs, vs.n


def distribution_from_table(d: Mapping[str, object], where: str) -> Distribution:
    """A continuous distribution: uniform, beta, power, mixture or tabulated."""
    kind = V.one_of(where + "kind", d.get("kind"), ("uniform", "beta", "power", "mixture", "tabulated"))
    lo, hi = d.get("lo", 0.0), d.get("hi", 1.0)
    if kind == "uniform":
        only_keys(d, ("kind", "lo", "hi"), where)
        return Uniform(V.as_float(where + "lo", lo), V.as_float(where + "hi", hi))
    if kind == "beta":
        only_keys(d, ("kind", "a", "b", "lo", "hi"), where)
        return BetaDist(V.positive(where + "a", required_key(d, "a", where)),
                        V.positive(where + "b", required_key(d, "b", where)),
                        V.as_float(where + "lo", lo), V.as_float(where + "hi", hi))
    if kind == "power":
        only_keys(d, ("kind", "k", "lo", "hi"), where)
        return Power(V.positive(where + "k", required_key(d, "k", where)), V.as_float(where + "lo", lo),
                     V.as_float(where + "hi", hi))
    if kind == "tabulated":
        only_keys(d, ("kind", "points", "values"), where)
        return Tabulated(points=V.vector(where + "points", required_key(d, "points", where)),  # type: ignore[arg-type]
                         values=V.vector(where + "values", required_key(d, "values", where)))  # type: ignore[arg-type]
    only_keys(d, ("kind", "weights", "components"), where)
    comps = required_key(d, "components", where)
    if not isinstance(comps, list) or not comps or not all(isinstance(c, Mapping) for c in comps):
        raise ProblemSpecError(where + "components", comps, "must be a non-empty list of distribution tables")
    parts = tuple(distribution_from_table(c, f"{where}components[{i}].") for i, c in enumerate(comps))
    if any(isinstance(c, Mixture) for c in parts):
        raise ProblemSpecError(where + "components", comps, "cannot contain mixtures (flatten them)")
    return Mixture(V.vector(where + "weights", required_key(d, "weights", where), length=len(parts)), parts)

