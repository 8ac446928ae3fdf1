"""Widgets and URL query parameters built from a Config's fields (one schema, three faces)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import streamlit as st

from core.config import ConfigError, format_value, label, parse, specs, to_strings

CUSTOM = "(custom)"


def read_query(cls, presets: Mapping[str, Mapping], query: Mapping[str, str]) -> tuple[dict, str, list[str]]:
    """Field values and the preset named by URL query parameters, plus a message per bad one.

    Bad values are dropped (the defaults stay); unknown parameters are ignored.
    """
    errors: list[str] = []
    preset = query.get("preset", CUSTOM)
    values = {f.name: f.default for f in specs(cls)}
    if preset != CUSTOM:
        if preset in presets:
            values.update(presets[preset])
        else:
            errors.append(f"preset={preset!r} is not one of {', '.join(presets)}")
            preset = CUSTOM
    for f in specs(cls):
        if f.name not in query:
            continue
        try:
            value = parse(f, query[f.name])
            dataclasses.replace(cls(), **{f.name: value})  # validates this field alone
            values[f.name] = value
        except ConfigError as exc:
            errors.append(f"{f.name}={query[f.name]!r}: {exc.message}")
    return values, preset, errors


def _widget(f: dataclasses.Field, key: str, container) -> None:
    m, kind = f.metadata, type(f.default)
    common = {"label": label(f), "key": key, "help": m["help"]}
    if kind is tuple:
        container.multiselect(options=list(m["choices"]), **common)
    elif m["choices"]:
        container.selectbox(options=list(m["choices"]), **common)
    elif kind is bool:
        container.toggle(**common)
    elif kind is int and m["hi"] - m["lo"] <= 512:
        container.slider(min_value=m["lo"], max_value=m["hi"], **common)
    elif kind is int:
        container.number_input(min_value=m["lo"], max_value=m["hi"], step=1, **common)
    else:
        container.number_input(min_value=float(m["lo"]), max_value=float(m["hi"]), format="%.5g",
                               step=None if m["log"] else 0.1, **common)


def _set(prefix: str, name: str, value) -> None:
    # widgets hold lists where configs hold tuples (multiselect)
    st.session_state[f"{prefix}.{name}"] = list(value) if isinstance(value, tuple) else value


def _apply_preset(cls, presets, prefix: str) -> None:
    name = st.session_state[f"{prefix}.preset"]
    if name in presets:
        for f in specs(cls):
            _set(prefix, f.name, presets[name].get(f.name, f.default))


def config_controls(cls, presets: Mapping[str, Mapping], prefix: str, fields: list[str] | None = None,
                    columns: int = 3):
    """Render the preset picker and one widget per field; return the Config, or None if invalid.

    The first visit reads the URL's query parameters; every change is written back to the URL.
    """
    chosen = [f for f in specs(cls) if fields is None or f.name in fields]
    if f"{prefix}.preset" not in st.session_state:
        values, preset, errors = read_query(cls, presets, st.query_params.to_dict())
        for message in errors:
            st.warning(f"Ignored a URL parameter — {message}. The default stays.")
        st.session_state[f"{prefix}.preset"] = preset
        for f in specs(cls):
            _set(prefix, f.name, values[f.name])
    st.selectbox("Preset", [CUSTOM, *presets], key=f"{prefix}.preset", on_change=_apply_preset,
                 args=(cls, presets, prefix),
                 help="A preset sets the controls below to a setup that shows one effect.")
    cols = st.columns(columns)
    for i, f in enumerate(chosen):
        _widget(f, f"{prefix}.{f.name}", cols[i % columns])
    values = {f.name: st.session_state[f"{prefix}.{f.name}"] for f in specs(cls)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    try:
        cfg = cls(**values)
    except ConfigError as exc:
        st.error(f"{exc.option}: {exc.message}")
        return None
    query = to_strings(cfg, only_changed=True)
    if st.session_state[f"{prefix}.preset"] != CUSTOM:
        query = {"preset": st.session_state[f"{prefix}.preset"], **query}
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)
    return cfg


def describe(cfg) -> str:
    """A one-line summary of a config's values, for captions."""
    return " · ".join(f"{k}={format_value(v)}" for k, v in to_strings(cfg).items())
