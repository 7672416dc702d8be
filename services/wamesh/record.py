"""`Record`: the equality, hash and repr of a frozen dataclass, written once instead of per class.

`@dataclass(frozen=True)` compiles six methods for each class it makes (Python 3.11 `exec`s each);
a sandbox worker makes about fifty such classes before its first QR, and compiling them was a
measured part of its start (README, "Budgets"). A class declared

    @dataclass(frozen=True, eq=False, repr=False)
    class Thing(Record): ...

behaves as `@dataclass(frozen=True)` would: `==` compares the fields with `compare=True` in order,
and only with an instance of the very same class; `hash` hashes the fields `dataclasses` would
(those with `hash=True`, or `hash=None` and `compare=True`); `repr` shows the fields with
`repr=True` as `Qualname(a=1, b='x')`, `...` for a recursive reference. A class may still define
its own `__repr__`.
"""

from __future__ import annotations

import dataclasses
import reprlib
from typing import Any

# Per class: the names compared, hashed and shown, in field order (filled on first use).
_PLANS: dict[type, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}


def _plan(cls: type) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    plan = _PLANS.get(cls)
    if plan is None:
        fields = dataclasses.fields(cls)
        plan = (
            tuple(f.name for f in fields if f.compare),
            tuple(f.name for f in fields if f.hash or (f.hash is None and f.compare)),
            tuple(f.name for f in fields if f.repr),
        )
        _PLANS[cls] = plan
    return plan


def _values(record: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(getattr(record, name) for name in names)


class Record:
    """Base of a frozen dataclass declared with `eq=False, repr=False` (see the module)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        names = _plan(self.__class__)[0]
        return _values(self, names) == _values(other, names)

    def __hash__(self) -> int:
        return hash(_values(self, _plan(self.__class__)[1]))

    @reprlib.recursive_repr()
    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _plan(self.__class__)[2])
        return f"{self.__class__.__qualname__}({shown})"
