"""Widgets and URL query parameters built from a Config's fields (one schema, three faces)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import streamlit as st

from core.config import (
    ConfigError,
    apply_preset,
    format_value,
    from_query,
    help_text,
    label,
    parse,
    shown,
    specs,
    to_query,
)
from core.experiment import Experiment
from core.i18n import N_, _

from .safe import plain

CUSTOM = N_("(custom)")
KEPT = "_kept_settings"  # session state: each control group's last values, which outlive a page switch


def _free_tuple(f: dataclasses.Field) -> bool:
    """A tuple field without choices (like a start point) is typed as text: "x,y"."""
    return isinstance(f.default, tuple) and not f.metadata["choices"]


def namespaced(query: Mapping[str, str], ns: str) -> dict[str, str]:
    """The query parameters of one control group: `ns.field` ones with a namespace, bare ones without."""
    if ns:
        return {k[len(ns) + 1:]: v for k, v in query.items() if k.startswith(ns + ".")}
    return {k: v for k, v in query.items() if "." not in k}


def read_query(cls, presets: Mapping, check, mine: Mapping[str, str]) -> tuple[object, str | None, list[str]]:
    """The config a link's parameters (`mine`, one control group's) describe, validated as a whole, its
    preset (None for none), and one message per ignored parameter naming it; the rest still applies."""
    cfg, preset, errors = from_query(cls, presets, mine, check)
    return cfg, preset, [_ignored(name, mine.get(name, ""), message) for name, message in errors]


def _ignored(name: str, value: str, message: str) -> str:
    return f"{name}={shown(value)}: {message}"  # name is a field's (only known parameters are checked)


def url_query() -> tuple[dict[str, str], list[str]]:
    """The page's query parameters, and a message for each one given more than once (those are
    dropped: which of them the sender meant cannot be known)."""
    params = st.query_params
    single, repeated = {}, []
    for key in params:
        values = params.get_all(key)
        if len(values) == 1:
            single[key] = values[0]
        else:
            repeated.append(_("{key} was given {count} times; none of them is used").format(key=shown(key),
                                                                                             count=len(values)))
    return single, repeated


def _widget(f: dataclasses.Field, key: str, container) -> None:
    m, kind = f.metadata, type(f.default)
    common = {"label": label(f), "key": key, "help": help_text(f)}
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


def _apply_preset(cls, presets: Mapping, prefix: str) -> None:
    name = st.session_state[f"{prefix}.preset"]
    if name is None:  # the chosen pill clicked again: no preset
        st.session_state[f"{prefix}.preset"] = _(CUSTOM)
    if name in presets:
        cfg = apply_preset(cls, presets, name)
        for f in specs(cls):
            _set(prefix, f, getattr(cfg, f.name))


def choose_preset(experiment: Experiment, name: str) -> None:
    """Pick a preset from elsewhere on the page (a claim's button): a callback, run before the next rerun."""
    st.session_state[f"{experiment.name}.preset"] = name if name in experiment.presets else _(CUSTOM)
    _apply_preset(experiment.config, experiment.presets, experiment.name)


def config_controls(experiment: Experiment, ns: str = "", fixed: Mapping | None = None, columns: int = 4):
    """Render the preset picker and one widget per Config field (advanced ones folded away);
    return the Config, or None with an error shown if the values do not make a valid one.

    The first visit reads the URL's query parameters (under `ns.` when a page has several control
    groups); every change is written back. `fixed` values come from elsewhere on the page and
    have no widget here.
    """
    return field_controls(experiment.config, experiment.name, ns, experiment.presets, experiment.check, fixed,
                          columns)


def field_controls(cls, prefix: str, ns: str = "", presets: Mapping | None = None, check=None,
                   fixed: Mapping | None = None, columns: int = 4):
    """`config_controls` for any validated Config class (a group of settings that is not an experiment)."""
    presets, fixed = presets or {}, dict(fixed or {})
    kept = st.session_state.setdefault(KEPT, {})
    if f"{prefix}.preset" not in st.session_state:
        query, repeated = url_query()
        mine = namespaced(query, ns)
        if not mine and prefix in kept:  # back on the page without a link: the settings it had
            preset, values = kept[prefix]
            st.session_state[f"{prefix}.preset"] = preset if preset in presets else _(CUSTOM)
            for name, value in values.items():
                st.session_state[f"{prefix}.{name}"] = value
        else:
            _from_url(cls, prefix, ns, presets, check, mine, repeated)
    _picker_and_fields(cls, prefix, presets, fixed, columns)
    # Streamlit forgets a widget's value once a run does not draw it (another page): keep a copy
    kept[prefix] = (st.session_state[f"{prefix}.preset"],
                    {f.name: st.session_state[f"{prefix}.{f.name}"] for f in specs(cls)})
    return _config(cls, prefix, ns, presets, check, fixed)


def _from_url(cls, prefix: str, ns: str, presets: Mapping, check, mine: dict, repeated: list) -> None:
    """The first visit: the controls from the link's parameters, each ignored one with a warning."""
    cfg, preset, problems = read_query(cls, presets, check, mine)
    for problem in problems + (repeated if not ns else []):
        st.warning(plain(_("Ignored a URL parameter — {problem}. The rest of the link applies.").format(
            problem=problem)))
    st.session_state[f"{prefix}.preset"] = preset or _(CUSTOM)
    for f in specs(cls):
        _set(prefix, f, getattr(cfg, f.name))


def _picker_and_fields(cls, prefix: str, presets: Mapping, fixed: Mapping, columns: int) -> None:
    if presets:
        # one click per preset; the first option, "(custom)", is shown in the reader's language: a switch of
        # language resets the picker to it (a value no longer among the options), which is what it means anyway
        st.pills(_("Preset"), [_(CUSTOM), *presets], key=f"{prefix}.preset", on_change=_apply_preset,
                 args=(cls, presets, prefix),
                 help=_("A preset sets the controls below to a setup that shows one effect."))
    shown = [f for f in specs(cls) if f.name not in fixed]
    main = [f for f in shown if not f.metadata.get("advanced")]
    columns = columns + 1 if len(main) > 3 * columns else columns  # a fourth row would push Train off the screen
    cols = st.columns(columns)
    for i, f in enumerate(main):
        _widget(f, f"{prefix}.{f.name}", cols[i % columns])
    if advanced := [f for f in shown if f.metadata.get("advanced")]:
        with st.expander(_("More settings")):
            cols = st.columns(columns)
            for i, f in enumerate(advanced):
                _widget(f, f"{prefix}.{f.name}", cols[i % columns])


def _config(cls, prefix: str, ns: str, presets: Mapping, check, fixed: Mapping):
    """The Config the controls describe (None, with the reason shown, if they make none), synced to the URL."""
    try:
        cfg = cls(**{**{f.name: _read(prefix, f) for f in specs(cls)}, **fixed})
        if check is not None:
            check(cfg)
    except ConfigError as exc:
        st.error(plain(f"{label(next(f for f in specs(cls) if f.name == exc.option))}: {exc.message}"))
        return None
    preset = st.session_state[f"{prefix}.preset"]
    query = to_query(cfg, presets, preset if preset in presets else None)
    _sync_url({k: v for k, v in query.items() if k not in fixed}, ns, {"preset", *(f.name for f in specs(cls))})
    return cfg


def _sync_url(query: dict[str, str], ns: str, names: set[str]) -> None:
    """Make the URL's parameters of this control group (`names`, under `ns.`) equal `query`,
    leaving every other parameter alone."""
    wanted = {(f"{ns}.{k}" if ns else k): v for k, v in query.items()}
    current = st.query_params.to_dict()
    mine = {k for k in current if k in {(f"{ns}.{n}" if ns else n) for n in names}}
    if {k: current[k] for k in mine} != wanted:
        for k in mine - set(wanted):
            del st.query_params[k]
        for k, v in wanted.items():
            if current.get(k) != v:
                st.query_params[k] = v


SEED_CHOICES = (1, 3, 5)


def seeds_control(experiment: Experiment, container) -> int:
    """How many seeds a run of `experiment` trains (1, 3 or 5): a segmented control for an experiment whose
    config has one seed; kept across page switches like the other controls. 1 where there is no choice."""
    if not experiment.seeded:
        return 1
    key, kept = f"{experiment.name}.n_seeds", st.session_state.setdefault(KEPT, {})
    if key not in st.session_state:
        st.session_state[key] = kept.get(key, 1)
    chosen = container.segmented_control(
        _("Seeds"), SEED_CHOICES, key=key, width="stretch", on_change=_one_if_none, args=(key,),
        label_visibility="collapsed", format_func=lambda n: (_("{n} seed") if n == 1 else _("{n} seeds")).format(n=n),
        help=_("Train the same settings on 1, 3 or 5 seeds (the seed control, then the next ones). With more "
               "than one, each curve is the seeds' mean with a band from the lowest to the highest, the "
               "per-layer charts show the median seed by final training loss, and each claim says on how "
               "many seeds it holds."))
    kept[key] = chosen or 1
    return chosen or 1


def _one_if_none(key: str) -> None:
    """The chosen segment clicked again clears the choice: one seed, shown as chosen."""
    if st.session_state[key] is None:
        st.session_state[key] = 1


def seeds_for(cfg, count: int) -> tuple[int, ...]:
    """The seeds a run of `count` seeds trains: cfg.seed and the next ones (wrapping within the seed's range)."""
    return tuple((cfg.seed + i) % 2**31 for i in range(count)) if count > 1 else ()
