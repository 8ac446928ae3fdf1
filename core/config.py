"""One schema, three faces: config fields that carry their own range, choices and help.

A lesson's Config is a frozen dataclass whose fields are declared with `param`. From that one
declaration come validation (`__post_init__` calls `validate`), the CLI options
(`core.__main__.build_parser`), the URL query parameters (`from_strings` / `to_strings`) and the
widgets' help text.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from .i18n import _


class ConfigError(ValueError):
    """A bad option value; `option` names the field, the message says what is allowed."""

    def __init__(self, option: str, message: str, related: tuple[str, ...] = ()):
        super().__init__(f"{option}: {message}")
        self.option = option
        self.message = message
        self.related = related  # the other fields of a cross-field check


MAX_TEXT = 200  # longest option text accepted (a URL or CLI value); longer is refused, not parsed
MAX_NUMBER_TEXT = 40  # longest number accepted: enough for any float, and no 400-digit integers
SHOWN = 80  # user text echoed in a message is cut to this many characters
_INT = re.compile(r"[+-]?[0-9]+")  # ASCII digits only: no 1_0, no Arabic-Indic digits
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def shown(text) -> str:
    """User text as a message quotes it: cut to SHOWN characters, quoted as a Python literal."""
    text = str(text)
    return repr(text if len(text) <= SHOWN else text[:SHOWN] + "…")


def shown_value(value) -> str:
    """A value as a message quotes it, safe for huge integers (no float conversion, no 4300-digit limit)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return _("an integer of about {digits} digits").format(digits=int(value.bit_length() * 0.30103))
    return format_value(value)


def number(text: str, kind: type):
    """Parse one number exactly as the CLI and URLs accept it, or raise ValueError: ASCII digits only,
    at most MAX_NUMBER_TEXT characters; `kind` int takes whole numbers only, float takes decimals and
    exponents (not inf or nan)."""
    if len(text) > MAX_NUMBER_TEXT:
        raise ValueError(f"too long ({len(text)} characters)")
    if not (_INT if kind is int else _FLOAT).fullmatch(text):
        raise ValueError("not a number")
    return int(text) if kind is int else float(text)


def param(default, help: str, *, choices=None, lo=None, hi=None, label=None, log=False, advanced=False):
    """Declare a config field with its help text and allowed values (`advanced`: folded away on pages)."""
    meta = {"help": help, "choices": tuple(choices) if choices else None, "lo": lo, "hi": hi,
            "label": label, "log": log, "advanced": advanced}
    return dataclasses.field(default=default, metadata=meta)


def specs(cls_or_cfg) -> list[dataclasses.Field]:
    """The declared fields of a config class (or instance), in order."""
    return [f for f in dataclasses.fields(cls_or_cfg) if "help" in f.metadata]


def label(f: dataclasses.Field) -> str:
    """The human label of a field (its `label`, else its name in words)."""
    return _(f.metadata.get("label") or f.name.replace("_", " ").capitalize())


def help_text(f: dataclasses.Field) -> str:
    """A field's help text in the current language."""
    text = f.metadata["help"]  # not a literal in _(…): Babel 2.14's extractor takes a subscript's key as one
    return _(text)


def allowed(f: dataclasses.Field) -> str:
    """A short phrase for what a field accepts, used in error messages."""
    m = f.metadata
    if m["choices"]:
        return _("one of {choices}").format(choices=", ".join(format_value(c) for c in m["choices"]))
    if isinstance(f.default, bool):
        return _("true or false")
    kind, lo, hi = _item_type(f), m["lo"], m["hi"]
    lo, hi = (None if v is None else f"{v:g}" for v in (lo, hi))
    if kind is int:
        text = (_("a whole number between {lo} and {hi}") if lo is not None and hi is not None else
                _("a whole number of at least {lo}") if lo is not None else _("a whole number"))
    elif kind is float:
        text = (_("a number between {lo} and {hi}") if lo is not None and hi is not None else
                _("a number of at least {lo}") if lo is not None else _("a number"))
    else:
        text = _("a value")
    return text.format(lo=lo, hi=hi)


def _item_type(f: dataclasses.Field) -> type:
    """The type of a field's values (a tuple field's items share its default's type)."""
    if isinstance(f.default, tuple):
        return type(f.default[0]) if f.default else str
    return type(f.default)


def _check_one(f: dataclasses.Field, value) -> None:
    m = f.metadata
    if m["choices"] and value not in m["choices"]:
        raise ConfigError(f.name, _("must be {allowed} (got {got})").format(allowed=allowed(f),
                                                                            got=shown(shown_value(value))))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f.name, _("must be a finite number (got {got})").format(got=repr(value)))
        lo, hi = m["lo"], m["hi"]  # int-to-float comparisons are exact in Python, at any size
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ConfigError(f.name, _("must be {allowed} (got {got})").format(allowed=allowed(f),
                                                                                got=shown_value(value)))


def validate(cfg) -> None:
    """Raise ConfigError for the first field whose value is out of range or not a choice."""
    for f in specs(cfg):
        value = getattr(cfg, f.name)
        if isinstance(f.default, tuple):
            if not value:
                raise ConfigError(f.name, _("needs at least one value"))
            for item in value:
                _check_one(f, item)
        else:
            _check_one(f, value)


def parse(f: dataclasses.Field, text: str):
    """Turn one string (CLI or URL) into the field's type, or raise ConfigError."""
    kind = type(f.default)
    text = str(text).strip()
    if len(text) > MAX_TEXT:
        raise ConfigError(f.name, _("is too long ({length} characters; at most {most}) — it must be {allowed}").format(
            length=f"{len(text):,}", most=MAX_TEXT, allowed=allowed(f)))
    try:
        if kind is bool:
            low = text.lower()
            if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError
            return low in ("1", "true", "yes", "on")
        if kind in (int, float):
            return number(text, kind)
        if kind is tuple:
            item = _item_type(f)
            convert = (lambda s: number(s, item)) if item in (int, float) else item
            return tuple(convert(s.strip()) for s in text.split(",") if s.strip())
        return text
    except ValueError:
        raise ConfigError(f.name, _("must be {allowed} (got {got})").format(allowed=allowed(f), got=shown(text))) \
            from None


def format_value(value) -> str:
    """The string form of a field value, as the CLI and the URL carry it."""
    if isinstance(value, tuple):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)  # repr: shortest exact form


def from_strings(cls, values: Mapping[str, Any], base=None):
    """Build a config from string values (unknown keys are ignored); raise ConfigError."""
    base = base if base is not None else cls()
    by_name = {f.name: f for f in specs(cls)}
    changes = {k: parse(by_name[k], v) for k, v in values.items() if k in by_name}
    return dataclasses.replace(base, **changes)


def to_strings(cfg, only_changed: bool = False) -> dict[str, str]:
    """The config as string values; with only_changed, just the fields off their default."""
    out = {}
    for f in specs(cfg):
        value = getattr(cfg, f.name)
        if not only_changed or value != f.default:
            out[f.name] = format_value(value)
    return out


def from_query(cls, presets: Mapping[str, Mapping[str, Any]], query: Mapping[str, str],
               check: Callable[[Any], None] | None = None) -> tuple[Any, str | None, list[tuple[str, str]]]:
    """The config a URL's query describes, validated as a whole (cross-field checks and `check`).

    Returns (config, preset or None, [(parameter, message)]): a bad value is dropped with a message
    naming it, and the rest of the query still applies. Unknown parameters are ignored.
    """
    errors: list[tuple[str, str]] = []
    preset = query.get("preset")
    base = cls()
    if preset is not None:
        try:
            base = apply_preset(cls, presets, preset)
        except ConfigError as exc:
            errors.append(("preset", exc.message))
            preset = None
    by_name = {f.name: f for f in specs(cls)}
    given: dict[str, Any] = {}
    for key, text in query.items():
        if key in by_name:
            try:
                given[key] = parse(by_name[key], text)
            except ConfigError as exc:
                errors.append((key, exc.message))
    while True:  # each pass drops one offending value, so this ends
        try:
            cfg = dataclasses.replace(base, **given)
            if check is not None:
                check(cfg)
            return cfg, preset, errors
        except ConfigError as exc:
            culprit = next((n for n in (exc.option, *exc.related) if n in given), None)
            if culprit is None:  # no single value to blame: drop the preset, then every value
                errors.append((exc.option, exc.message))
                if preset is not None:
                    base, preset = cls(), None
                elif given:
                    given = {}
                else:
                    raise
                continue
            errors.append((culprit, exc.message))
            del given[culprit]


def to_query(cfg, presets: Mapping[str, Mapping[str, Any]], preset: str | None = None) -> dict[str, str]:
    """The URL parameters that `from_query` reads back as `cfg`: the preset's name (if any) and the
    fields that differ from what the preset (or the defaults) set."""
    base = apply_preset(type(cfg), presets, preset) if preset else type(cfg)()
    changed = {f.name: format_value(getattr(cfg, f.name)) for f in specs(cfg)
               if getattr(cfg, f.name) != getattr(base, f.name)}
    return {"preset": preset, **changed} if preset else changed


def apply_preset(cls, presets: Mapping[str, Mapping[str, Any]], name: str, **changes):
    """The default config with a named preset's values applied, then `changes`."""
    if name not in presets:
        raise ConfigError("preset", _("must be one of {choices} (got {got})").format(choices=", ".join(presets),
                                                                                     got=repr(name)))
    return dataclasses.replace(cls(), **{**presets[name], **changes})


class Validated:
    """Mixin: a frozen dataclass that validates itself when built."""

    def __post_init__(self):
        validate(self)


def same_as(cls, name: str, default=dataclasses.MISSING, help: str | None = None, advanced: bool | None = None):
    """Declare a field like `cls.name` (same range, choices and help), optionally with another
    default, help text or folding, so lessons reuse the engine's schema instead of restating it."""
    f = next(f for f in specs(cls) if f.name == name)
    meta = dict(f.metadata)
    if help is not None:
        meta["help"] = help
    if advanced is not None:
        meta["advanced"] = advanced
    return dataclasses.field(default=f.default if default is dataclasses.MISSING else default, metadata=meta)


def project(cfg, target_cls, **overrides):
    """Build `target_cls` from the fields `cfg` shares with it, plus overrides."""
    names = {f.name for f in dataclasses.fields(target_cls)}
    shared = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name in names}
    return target_cls(**{**shared, **overrides})
