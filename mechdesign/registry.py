"""The registry of settings: ``problem.kind`` -> :class:`~mechdesign.settings.spec.SettingSpec`, one line
per setting.

The problem-file reader (:mod:`mechdesign.problemfile`), ``mechdesign schema``, ``mechdesign problems``, the
CLI verbs, sweeps, plots and ``mechdesign analytic`` read only this registry: adding a setting is one file
``mechdesign/settings/<kind>.py`` ending with ``SPEC = SettingSpec(...)`` and one line below (or, from outside
the package, one call of :func:`register`).
"""

from __future__ import annotations

from mechdesign.settings import contractible, leader_fringe, multidim, multimodel, single_model, value_scale
from mechdesign.settings.spec import SettingSpec

__all__ = ["SETTINGS", "kinds", "register", "spec_of", "spec_of_result", "unregister"]

#: ``problem.kind`` -> its setting's spec, in the order of the documentation (the first is the kind of a file
#: without ``problem.kind``); read it, change it only through :func:`register` and :func:`unregister`
SETTINGS: dict[str, SettingSpec] = {}


def register(spec: SettingSpec) -> SettingSpec:
    """Add a setting: its files, verbs, schema and plots are served from now on.

    Parameters
    ----------
    spec : SettingSpec
        The setting's declaration (its ``kind`` must be new).

    Returns
    -------
    SettingSpec
        ``spec``, for ``SPEC = register(SettingSpec(...))``.

    Raises
    ------
    ValueError
        A setting of this kind is already registered, or ``spec`` is not a :class:`SettingSpec`.
    """
    if not isinstance(spec, SettingSpec):
        raise ValueError(f"register() takes a SettingSpec, not {type(spec).__name__}")
    if spec.kind in SETTINGS:
        raise ValueError(f"a setting of kind {spec.kind!r} is already registered")
    SETTINGS[spec.kind] = spec
    return spec


def unregister(kind: str) -> SettingSpec:
    """Remove the setting of ``kind`` (a test's toy setting) and return its spec.

    Raises
    ------
    KeyError
        No setting of this kind is registered.
    """
    return SETTINGS.pop(kind)


def kinds() -> tuple[str, ...]:
    """The registered ``problem.kind`` values, in registry order."""
    return tuple(SETTINGS)


def spec_of(problem: object) -> SettingSpec:
    """The spec of the setting ``problem`` belongs to (by its Problem class).

    Raises
    ------
    TypeError
        ``problem`` is no registered setting's problem.
    """
    for spec in SETTINGS.values():
        if isinstance(problem, spec.problem):
            return spec
    raise TypeError(f"not a problem of a registered setting: {problem!r}")


def spec_of_result(result: object) -> SettingSpec | None:
    """The spec of the setting whose Result class ``result`` is an instance of (None: none)."""
    return next((spec for spec in SETTINGS.values() if isinstance(result, spec.result)), None)


register(single_model.SPEC)
register(contractible.SPEC)
register(value_scale.SPEC)
register(multimodel.SPEC)
register(leader_fringe.SPEC)
register(multidim.SPEC)
