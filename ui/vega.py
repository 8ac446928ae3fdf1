"""Altair charts to the Vega-Lite specs Streamlit sends, without altair's schema validation.

`st.altair_chart` converts a chart as `chart.to_dict()` does, which validates the whole spec against
Vega-Lite's JSON schema: about a third of a redraw's cost on this machine (vanishing's six charts at the end
of a run: 169 ms, against 113 ms unvalidated). `spec` builds the same spec without the validation; the tests
validate every builder and check that `spec` is Streamlit's own conversion to the byte, dataset names
included, so the browser receives the same element either way.

Live redraws still go through `st.altair_chart`. Drawn through `spec` (the same element, sooner), the
browser test of a run's end (the page must not get shorter) failed 2 times in 7 here, against none through
`st.altair_chart`: a faster redraw meets the frontend's re-layout at the run's end more often. The cause in
the frontend is not found.

Each dataset is named as Streamlit names it, by a hash of its Arrow bytes, so `spec` and Streamlit's
conversion agree to the byte (tests). Streamlit 1.67's frontend replaces a chart's dataset whenever its bytes
differ (`hasSameBytes` in its ArrowVegaLiteChart bundle); it has no append path for named datasets.

`cached_spec` keeps the specs of charts that depend on their settings alone (the activations gallery).
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import pyarrow as pa
from streamlit import dataframe_util
from streamlit.util import calc_hash

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
        if id(data) not in names:
            arrow = dataframe_util.convert_anything_to_arrow_bytes(
                table(data) if isinstance(data, pd.DataFrame) else data)
            names[id(data)] = calc_hash(arrow)  # Streamlit's own name for these bytes
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
