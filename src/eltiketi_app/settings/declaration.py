"""How an ``ELTIKETI_*`` variable is declared, read and documented: once.

A setting is a field of :class:`~eltiketi_app.settings.Settings` annotated with a
:class:`Var`: its type and default are the field's, its bounds, secrecy, group and
one line of documentation are the ``Var``'s, and its variable name is derived from
the field name. Everything else is computed from those declarations: reading the
environment (:func:`read`), the defaults shown by ``eltiketi worker --help``, the
masked view in the start-up log and the tables in ``docs/configuration.md``.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import msgspec

PREFIX = "ELTIKETI_"


class Group(StrEnum):
    """Concerns, in the order ``docs/configuration.md`` lists them."""

    SERVER = "Server"
    DATABASE = "Database"
    IDENTITY = "Identity (OIDC / Keycloak)"
    PAYMENTS = "Payments (Stripe)"
    MAIL = "Mail"
    SMS = "SMS"
    TICKETS = "Tickets"
    WEB = "Web pages"
    POLICY = "Policy"
    RATE_LIMITS = "Rate limits"
    NOTIFICATIONS = "Notifications"
    EVENT_BUS = "Event bus"
    KAFKA = "Kafka tuning"
    WORKERS = "Relay and workers"


class Secret(Enum):
    """What of a value must never be logged."""

    NONE = "none"
    WHOLE = "whole"
    URL_PASSWORD = "url password"


Parse = Callable[[Any], Any]
"""A last check of a converted value: returns the value to keep or raises ``ValueError``
with the message to show after the variable's name."""


@dataclass(frozen=True, slots=True)
class Var:
    """The declaration of one ``ELTIKETI_*`` variable (see the module docstring).

    Attributes:
        doc: what it means, one line of Markdown (the docs table's "meaning").
        group: the concern it belongs to.
        ge, gt, le: numeric bounds, checked after conversion.
        secret: masked in :meth:`Settings.redacted`.
        parse: a further check or conversion of the value (URL schemes, JSON…).
        embedded: what an unset variable means, when that is not just the default value.
        production: what production needs (``required``, ``optional``, ``same``…).
    """

    doc: str
    group: Group
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    secret: Secret = Secret.NONE
    parse: Parse | None = None
    embedded: str | None = None
    production: str = "same"


@dataclass(frozen=True, slots=True)
class Declared:
    """A field of the settings struct together with its variable."""

    field: str
    name: str
    kind: type
    optional: bool
    default: Any
    var: Var


class SettingsError(ValueError):
    """A configuration the service cannot run with; the message names every culprit."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n  - " + "\n  - ".join(problems))


@cache
def declarations(cls: type[msgspec.Struct]) -> tuple[Declared, ...]:
    """Every declared variable of ``cls``, in field order. Fields without a ``Var`` are
    not variables (none exist today; a test keeps it so)."""
    hints = get_type_hints(cls, include_extras=True)
    found = []
    for field in msgspec.structs.fields(cls):
        hint = hints[field.name]
        if get_origin(hint) is not Annotated:
            continue
        base, *extras = get_args(hint)
        var = next((extra for extra in extras if isinstance(extra, Var)), None)
        if var is None:
            continue
        kind, optional = _unwrap_optional(base)
        found.append(
            Declared(
                field=field.name,
                name=PREFIX + field.name.upper(),
                kind=kind,
                optional=optional,
                default=field.default,
                var=var,
            )
        )
    return tuple(found)


def read(
    cls: type[msgspec.Struct],
    env: Mapping[str, str],
    *,
    groups: frozenset[Group] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Field values for the variables set in ``env`` (of ``groups``, default all) and
    every problem found; unset and empty variables are left out (the default applies)."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for declared in declarations(cls):
        if groups is not None and declared.var.group not in groups:
            continue
        raw = env.get(declared.name, "").strip()
        if not raw:
            continue
        try:
            values[declared.field] = convert(declared, raw)
        except ValueError as error:
            problems.append(f"{declared.name}: {error}")
    return values, problems


def convert(declared: Declared, raw: str) -> Any:
    """``raw`` as the field's type, within its bounds, through its ``parse``."""
    kind = declared.kind
    value: Any
    if isinstance(kind, type) and issubclass(kind, Enum):
        value = _choice(kind, raw)
    elif kind is bool:
        value = _boolean(raw)
    elif kind is int or kind is float:
        value = _number(kind, raw, declared.var)
    elif kind is Path:
        value = Path(raw)
    else:
        value = raw
    if declared.var.parse is not None:
        value = declared.var.parse(value)
    return value


def iter_groups(cls: type[msgspec.Struct]) -> Iterator[tuple[Group, list[Declared]]]:
    """Declarations grouped by concern, groups in :class:`Group` order."""
    for group in Group:
        members = [d for d in declarations(cls) if d.var.group is group]
        if members:
            yield group, members


def shown(value: object) -> str:
    """A default as an operator would type it (``5`` for ``5.0``; empty for None)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, tuple):  # a comma-separated list
        return ", ".join(shown(item) for item in value)
    return str(value)


def _unwrap_optional(hint: Any) -> tuple[type, bool]:
    if get_origin(hint) in (Union, types.UnionType):
        members = [arg for arg in get_args(hint) if arg is not type(None)]
        if len(members) == 1:
            return members[0], True
    return hint, False


def _choice(enum: type[Enum], raw: str) -> Enum:
    try:
        return enum(raw.lower())
    except ValueError:
        choices = ", ".join(repr(member.value) for member in enum)
        raise ValueError(f"{raw!r} is not one of {choices}") from None


def _boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{raw!r} is not true or false")


def _number(kind: type, raw: str, var: Var) -> int | float:
    try:
        value: int | float = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ValueError(f"{raw!r} is not {what}") from None
    if not math.isfinite(value):
        raise ValueError(f"{raw!r} is not a finite number")
    if var.ge is not None and value < var.ge:
        raise ValueError(f"{raw} is below the minimum {var.ge:g}")
    if var.gt is not None and value <= var.gt:
        raise ValueError(f"{raw} must be above {var.gt:g}")
    if var.le is not None and value > var.le:
        raise ValueError(f"{raw} is above the maximum {var.le:g}")
    return value
