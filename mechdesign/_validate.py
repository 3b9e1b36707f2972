"""Small checks that raise :class:`~mechdesign.exceptions.ProblemSpecError` with field, value and range."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mechdesign.exceptions import ProblemSpecError

PROB_SUM_TOL = 1e-9


def _not_a_number(value: object) -> str | None:
    """Why ``value`` is not a number although Python would convert it (a string or a boolean), or None."""
    if isinstance(value, (bool, np.bool_)):
        return f"must be a number, not the boolean {str(bool(value)).lower()}"
    if isinstance(value, (str, bytes)):
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        return f"must be a number, not the string {text!r} (remove the quotes)"
    return None


def refuse_non_numbers(field: str, value: object) -> None:
    """Raise if ``value`` (a number or a nested list) holds a string or a boolean."""
    why = _not_a_number(value)
    if why:
        raise ProblemSpecError(field, value, why)
    if isinstance(value, (list, tuple)):
        for item in value:
            why = _not_a_number(item)
            if why:
                raise ProblemSpecError(field, value, why.replace("must be a number", "every entry must be a number"))
            if isinstance(item, (list, tuple)):
                refuse_non_numbers(field, item)


def plural(count: int, word: str) -> str:
    """``1 entry``, ``2 entries``; ``1 type``, ``2 types``."""
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word[:-1]}ies" if word.endswith("y") else f"{count} {word}s"


def as_float(field: str, value: object) -> float:
    """Convert ``value`` to a finite float or raise naming ``field`` (strings and booleans are refused)."""
    why = _not_a_number(value)
    if why:
        raise ProblemSpecError(field, value, why)
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ProblemSpecError(field, value, "must be a real number") from None
    if not np.isfinite(out):
        raise ProblemSpecError(field, value, "must be finite")
    return out


def in_open(field: str, value: object, lo: float, hi: float) -> float:
    """A float strictly inside ``(lo, hi)``."""
    out = as_float(field, value)
    if not lo < out < hi:
        raise ProblemSpecError(field, value, f"must lie in the open interval ({lo:g}, {hi:g})")
    return out


def positive(field: str, value: object) -> float:
    """A float strictly greater than zero."""
    out = as_float(field, value)
    if out <= 0:
        raise ProblemSpecError(field, value, "must be > 0")
    return out


def vector(field: str, value: object, *, length: int | None = None, min_length: int = 1) -> np.ndarray:
    """A 1-D finite float array, optionally of a given length (strings and booleans are refused)."""
    refuse_non_numbers(field, value)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ProblemSpecError(field, value, "must be a list of real numbers") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ProblemSpecError(field, value, "must be a flat list of numbers")
    if arr.size < min_length:
        raise ProblemSpecError(field, value, f"must have at least {plural(min_length, 'entry')}")
    if length is not None and arr.size != length:
        raise ProblemSpecError(field, value, f"must have exactly {plural(length, 'entry')} (one per class)")
    if not np.all(np.isfinite(arr)):
        raise ProblemSpecError(field, value, "must contain only finite numbers")
    return arr


def positive_vector(field: str, value: object, *, length: int | None = None) -> np.ndarray:
    """A 1-D array of strictly positive numbers."""
    arr = vector(field, value, length=length)
    if np.any(arr <= 0):
        raise ProblemSpecError(field, value, "every entry must be > 0")
    return arr


def weights(field: str, value: object, *, length: int | None = None) -> np.ndarray:
    """Strictly positive weights that sum to one (within ``PROB_SUM_TOL``)."""
    arr = positive_vector(field, value, length=length)
    total = float(arr.sum())
    if abs(total - 1.0) > PROB_SUM_TOL:
        raise ProblemSpecError(
            field, value, f"entries must sum to 1 (they sum to {total:.12g})", "Normalise them."
        )
    return arr


def strictly_increasing(field: str, arr: np.ndarray) -> None:
    """Raise if ``arr`` has duplicates or is not sorted ascending."""
    diffs = np.diff(arr)
    if np.any(diffs == 0):
        i = int(np.flatnonzero(diffs == 0)[0])
        raise ProblemSpecError(
            field, arr.tolist(), f"has a duplicate value {arr[i]:g} at positions {i} and {i + 1}",
            "Merge duplicate types and add their probabilities.",
        )
    if np.any(diffs < 0):
        i = int(np.flatnonzero(diffs < 0)[0])
        raise ProblemSpecError(
            field, arr.tolist(), f"must be sorted ascending (position {i + 1} is below position {i})",
            "List types from lowest to highest.",
        )


def one_of(field: str, value: object, allowed: Sequence[str]) -> str:
    """A string from an allowed set."""
    if not isinstance(value, str) or value not in allowed:
        raise ProblemSpecError(field, value, "must be one of " + ", ".join(repr(a) for a in allowed))
    return value


def integer(field: str, value: object, lo: int, hi: int | None = None) -> int:
    """An integer in ``[lo, hi]`` (a float with an integer value is accepted; strings and booleans are not)."""
    why = _not_a_number(value)
    if why:
        raise ProblemSpecError(field, value, why.replace("a number", "an integer"))
    if not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise ProblemSpecError(field, value, "must be an integer")
    out = int(value)
    if out < lo or (hi is not None and out > hi):
        rng = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ProblemSpecError(field, value, f"must be an integer {rng}")
    return out
