"""Widgets and URL query parameters built from a Config's fields (one schema, three faces)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import streamlit as st

from core.config import ConfigError, format_value, label, parse, specs, to_strings

CUSTOM = "(custom)"


def _free_tuple(f: dataclasses.Field) -> bool:
    """A tuple field without choices (like a start point) is typed as text: "x,y"."""
    return isinstance(f.default, tuple) and not f.metadata["choices"]


def read_query(cls, presets: Mapping[str, Mapping], query: Mapping[str, str],
               ns: str = "", defaults: Mapping | None = None) -> tuple[dict, str, list[str]]:
    """Field values and the preset named by URL query parameters, plus a message per bad one.

    Bad values are dropped (the defaults stay); unknown parameters are ignored. With a namespace
    `ns`, only parameters named `ns.field` count (two control groups on one page).
    """
    query = {k[len(ns) + 1:]: v for k, v in query.items() if k.startswith(ns + ".")} if ns else query
    errors: list[str] = []
    preset = query.get("preset", CUSTOM)
    values = {f.name: f.default for f in specs(cls)} | dict(defaults or {})
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
    if _free_tuple(f):
        container.text_input(**common)
    elif kind is tuple:
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


def _set(prefix: str, f: dataclasses.Field, value) -> None:
    # widgets hold lists (multiselect) or text ("x,y") where configs hold tuples
    if _free_tuple(f):
        value = format_value(value)
    elif isinstance(value, tuple):
        value = list(value)
    st.session_state[f"{prefix}.{f.name}"] = value


def _read(prefix: str, f: dataclasses.Field):
    value = st.session_state[f"{prefix}.{f.name}"]
    if _free_tuple(f):
        return parse(f, value)
    return tuple(value) if isinstance(value, list) else value


def _apply_preset(cls, presets, prefix: str) -> None:
    name = st.session_state[f"{prefix}.preset"]
    if name in presets:
        for f in specs(cls):
            _set(prefix, f, presets[name].get(f.name, f.default))


def config_controls(cls, presets: Mapping[str, Mapping], prefix: str, fields: list[str] | None = None,
                    columns: int = 3, ns: str = "", fixed: Mapping | None = None,
                    defaults: Mapping | None = None):
    """Render the preset picker and one widget per field; return the Config, or None if invalid.

    The first visit reads the URL's query parameters; every change is written back to the URL
    (under `ns.` when a page has two control groups). `defaults` replace the fields' defaults for
    this group; `fixed` values override the widgets.
    """
    chosen = [f for f in specs(cls) if fields is None or f.name in fields]
    if f"{prefix}.preset" not in st.session_state:
        values, preset, errors = read_query(cls, presets, st.query_params.to_dict(), ns, defaults)
        for message in errors:
            st.warning(f"Ignored a URL parameter — {message}. The default stays.")
        st.session_state[f"{prefix}.preset"] = preset
        for f in specs(cls):
            _set(prefix, f, values[f.name])
    if presets:
        st.selectbox("Preset", [CUSTOM, *presets], key=f"{prefix}.preset", on_change=_apply_preset,
                     args=(cls, presets, prefix),
                     help="A preset sets the controls below to a setup that shows one effect.")
    cols = st.columns(columns)
    for i, f in enumerate(chosen):
        _widget(f, f"{prefix}.{f.name}", cols[i % columns])
    try:
        cfg = cls(**{**{f.name: _read(prefix, f) for f in specs(cls)}, **(fixed or {})})
    except ConfigError as exc:
        st.error(f"{label(next(f for f in specs(cls) if f.name == exc.option))}: {exc.message}")
        return None
    query = to_strings(cfg, only_changed=True)
    if st.session_state[f"{prefix}.preset"] != CUSTOM:
        query = {"preset": st.session_state[f"{prefix}.preset"], **query}
    _sync_url(query, ns)
    return cfg


def _sync_url(query: dict[str, str], ns: str) -> None:
    """Make the URL's parameters of this control group equal `query`, leaving other groups' alone."""
    wanted = {(f"{ns}.{k}" if ns else k): v for k, v in query.items()}
    current = st.query_params.to_dict()
    mine = {k for k in current if (k.startswith(ns + ".") if ns else "." not in k)}
    if {k: current[k] for k in mine} != wanted:
        for k in mine - set(wanted):
            del st.query_params[k]
        for k, v in wanted.items():
            if current.get(k) != v:
                st.query_params[k] = v


def describe(cfg) -> str:
    """A one-line summary of a config's values, for captions."""
    return " · ".join(f"{k}={format_value(v)}" for k, v in to_strings(cfg).items())
