"""Altair charts to the Vega-Lite specs Streamlit sends, without altair's schema validation.

`st.altair_chart` converts a chart as `chart.to_dict()` does, which validates the whole spec against
Vega-Lite's JSON schema: about a third of a redraw's cost on this machine (vanishing's six charts at the end
of a run: 169 ms, against 113 ms unvalidated). `spec` builds the same spec without the validation; the tests
validate every builder and check that `spec` is Streamlit's own conversion to the byte, dataset names
included, so the browser receives the same element either way.

Live redraws go through `st.vega_lite_chart` with these specs: the element is the one `st.altair_chart` sends,
field for field.

Each dataset is converted and named by Streamlit's own `_to_arrow_dataset` (a hash of its Arrow bytes, computed
as the installed release computes it), so `spec` and Streamlit's conversion agree to the byte (tests).
Streamlit 1.67's frontend replaces a chart's dataset whenever its bytes differ (`hasSameBytes` in its
ArrowVegaLiteChart bundle); it has no append path for named datasets.

`cached_spec` keeps the specs of charts that depend on their settings alone (the activations gallery).

Live redraws keep templates: a chart's spec, apart from its data, follows from its builder's name and other
arguments, the settings it is built under, the language, and what its frame holds besides numbers (the runs,
metrics and entities in it, which columns are empty; `fingerprint`); the tests check that for every
templated builder. The first redraw with a new such key builds the chart with altair and keeps its spec
without the data; later ones, in this run or another session's, only convert the new frame to Arrow and put
its name into the kept spec. A redraw of vanishing's six charts: 130 ms built (unvalidated), 41 ms filled in.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import altair as alt
import pandas as pd
import pyarrow as pa
from streamlit.elements.vega_charts import _to_arrow_dataset

from core.cache import BoundedCache
from core.i18n import language

_CHILDREN = ("layer", "hconcat", "vconcat", "concat")
# Specs of charts whose data follow from their settings alone (the activations gallery), shared by all sessions.
_SPECS = BoundedCache(max_items=64, max_bytes=32 * 2**20)


def _name_data(chart: Any, datasets: dict[str, bytes], names: dict[int, str]) -> None:
    """Replace every DataFrame or Arrow table in `chart` (and its layers, concatenations and facet spec) by a named
    reference, in place; each frame goes to `datasets` in Arrow, named by a hash of its bytes."""
    data = getattr(chart, "data", alt.Undefined)
    if isinstance(data, pd.DataFrame | pa.Table):
        if id(data) not in names:  # Streamlit's own conversion and name for these bytes, whatever its version
            names[id(data)] = _to_arrow_dataset(table(data) if isinstance(data, pd.DataFrame) else data,
                                                datasets)["name"]
        chart.data = alt.NamedData(name=names[id(data)])
    for attr in _CHILDREN:
        children = getattr(chart, attr, alt.Undefined)
        if isinstance(children, list):
            for child in children:
                _name_data(child, datasets, names)
    inner = getattr(chart, "spec", alt.Undefined)
    if isinstance(inner, alt.SchemaBase):
        _name_data(inner, datasets, names)


_tabled: ContextVar[list | None] = ContextVar("tabled", default=None)


@contextlib.contextmanager
def _watching() -> Iterator[list]:
    """The frames `table` converts inside, in order."""
    seen: list = []
    token = _tabled.set(seen)
    try:
        yield seen
    finally:
        _tabled.reset(token)


def _keep(df: pd.DataFrame) -> list:
    """The columns of `df` that are not empty throughout (all of them when it has no rows): what `table`
    sends, and what `fingerprint` tells apart."""
    return [c for c in df.columns if df[c].notna().any()] if len(df) else list(df.columns)


def table(df: pd.DataFrame) -> pa.Table:
    """`df` as the Arrow table a chart needs: no index, no pandas metadata, no column that is empty
    throughout (a field the data lack reads as null in Vega, as it did)."""
    if (seen := _tabled.get()) is not None:
        seen.append(df)
    keep = _keep(df)
    return pa.Table.from_pandas(df[keep] if len(keep) < len(df.columns) else df,
                                preserve_index=False).replace_schema_metadata(None)


def spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The Vega-Lite spec of `chart` with its data as named datasets (Arrow bytes, which Streamlit sends
    as they are). Modifies `chart`: pass one built for this call."""
    datasets: dict[str, bytes] = {}
    _name_data(chart, datasets, {})
    out = chart.to_dict(validate=False)
    if datasets:
        out["datasets"] = {**out.get("datasets", {}), **datasets}
    return out


def _nbytes(out: dict[str, Any]) -> int:
    return len(repr({k: v for k, v in out.items() if k != "datasets"})) + sum(
        len(d) for d in out.get("datasets", {}).values() if isinstance(d, bytes))


def cached_spec(key: tuple, build) -> dict[str, Any]:
    """The spec of the chart `build()` makes, kept under `key` and the current language (bounded, shared
    by every session): a chart that depends on its settings alone is built once per setting."""
    return _SPECS.get_or_make((*key, language()), lambda: spec(build()), _nbytes)


NUMBERS = ("step", "value", "layer", "lo", "hi")  # measured numbers (lo, hi: a seeds' band): data, never spec


def fingerprint(df: pd.DataFrame) -> tuple:
    """What a live frame holds besides its numbers: its columns, their types, which are empty throughout,
    and the values of every column but NUMBERS in order of appearance (runs, metrics, entities)."""
    kept = set(_keep(df))
    return tuple((c, str(df[c].dtype), c in kept, () if c in NUMBERS else _values(df[c])) for c in df.columns)


def _values(column: pd.Series) -> tuple:
    """A column's distinct values in order of appearance, missing ones as None (NaN equals nothing)."""
    return tuple(None if pd.isna(v) else v for v in pd.unique(column.astype(object)))


_KEPT = BoundedCache(max_items=512, max_bytes=16 * 2**20)  # live charts' specs without data, shared by all sessions
_filling: ContextVar[list | None] = ContextVar("filling", default=None)
_PLAIN = (str, int, float, bool, type(None))


@contextlib.contextmanager
def filling() -> Iterator[None]:
    """Inside, a builder made `templated` may return a kept spec filled with its new data (a dict), and
    `finish` keeps the spec of one it built."""
    token = _filling.set([])
    try:
        yield
    finally:
        _filling.reset(token)


def _plain(value) -> bool:
    return isinstance(value, _PLAIN) or (isinstance(value, tuple | list) and all(_plain(v) for v in value))


def _frozen(value):
    return tuple(_frozen(v) for v in value) if isinstance(value, tuple | list) else value


def templated(key: tuple, df: pd.DataFrame, make: Callable[[], Any]) -> Any:
    """`make()`, a builder's chart of `df` under `key` (its name, other arguments and settings), or inside
    `filling` the spec kept for the same key, language and fingerprint of `df`, with `df` as its data."""
    pending = _filling.get()
    if pending is None or not _plain(key):
        return make()
    full = (_frozen(key), language(), fingerprint(df))
    if (kept := _KEPT.get(full)) is not None:
        skeleton, name = kept
        datasets: dict[str, bytes] = {}
        fresh = _to_arrow_dataset(table(df), datasets)["name"]
        out = json.loads(skeleton.replace(json.dumps(name), json.dumps(fresh)))
        out["datasets"] = datasets
        return out
    token = _filling.set(None)  # a builder inside this one builds
    try:
        with _watching() as seen:
            chart = make()
    finally:
        _filling.reset(token)
    pending.append(full if len(seen) == 1 and seen[0] is df else None)  # its data: `df` as given, or not
    return chart


def finish(out: dict[str, Any]) -> dict[str, Any]:
    """`out`, the spec of a chart built inside `filling`; kept for later redraws when one templated builder
    made it from its frame as given."""
    pending = _filling.get() or []
    if len(pending) == 1 and pending[0] is not None and len(out.get("datasets", {})) == 1:
        skeleton = json.dumps({k: v for k, v in out.items() if k != "datasets"})
        _KEPT.put(pending[0], (skeleton, next(iter(out["datasets"]))), len(skeleton) + 64)
    pending.clear()
    return out
