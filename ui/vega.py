"""Altair charts to the Vega-Lite specs Streamlit sends, built once for charts that depend on their settings alone.

`st.altair_chart` converts a chart as `chart.to_dict()` does, which validates the whole spec against
Vega-Lite's JSON schema: about a third of a redraw's cost on this machine. `spec` builds the same spec
without the validation (the same builders are validated wherever a chart is drawn through
`st.altair_chart`, and tests compare the two specs). The data go as Arrow without pandas' metadata (a JSON
description of every column, 770 bytes of a 100-step loss redraw's 3,440) and without the columns that are
empty throughout (a loss curve's `layer`).

Each dataset is named by a hash of its bytes, as Streamlit names them. A fixed name would let the
browser take a redraw for an append: Streamlit's frontend compares only the last column's first and last
rows of the old data, and ours ends in a column that is the same on every row (the run's init), so a
thinned or final frame would be added to the old rows instead of replacing them.

Live redraws still go through `st.altair_chart`: drawn from `spec`, the browser test of a run's end (the page
must not get shorter) failed 1 time in 3 here, against 0 in 4 through `st.altair_chart`; the cause is not found.
"""

from __future__ import annotations

import hashlib
from typing import Any

import altair as alt
import pandas as pd
import pyarrow as pa
from streamlit import dataframe_util

from core.cache import BoundedCache
from core.i18n import language

_CHILDREN = ("layer", "hconcat", "vconcat", "concat")
# Specs of charts whose data follow from their settings alone (the activations gallery), shared by all sessions.
_SPECS = BoundedCache(max_items=64, max_bytes=32 * 2**20)


def _name_data(chart: Any, datasets: dict[str, bytes], names: dict[int, str]) -> None:
    """Replace every DataFrame in `chart` (and its layers, concatenations and facet spec) by a named
    reference, in place; each frame goes to `datasets` in Arrow, named by a hash of its bytes."""
    data = getattr(chart, "data", alt.Undefined)
    if isinstance(data, pd.DataFrame):
        if id(data) not in names:
            arrow = dataframe_util.convert_anything_to_arrow_bytes(table(data))
            names[id(data)] = "frame_" + hashlib.md5(arrow, usedforsecurity=False).hexdigest()
            datasets[names[id(data)]] = arrow
        chart.data = alt.NamedData(name=names[id(data)])
    for attr in _CHILDREN:
        children = getattr(chart, attr, alt.Undefined)
        if isinstance(children, list):
            for child in children:
                _name_data(child, datasets, names)
    inner = getattr(chart, "spec", alt.Undefined)
    if isinstance(inner, alt.SchemaBase):
        _name_data(inner, datasets, names)


def table(df: pd.DataFrame) -> pa.Table:
    """`df` as the Arrow table a chart needs: no index, no pandas metadata, no column that is empty
    throughout (a field the data lack reads as null in Vega, as it did)."""
    keep = [c for c in df.columns if df[c].notna().any()] if len(df) else list(df.columns)
    return pa.Table.from_pandas(df[keep], preserve_index=False).replace_schema_metadata(None)


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
