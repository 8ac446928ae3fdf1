"""Altair charts to the Vega-Lite specs Streamlit sends, for the live redraws.

`st.altair_chart` converts a chart as `chart.to_dict()` does, which validates the whole spec against
Vega-Lite's JSON schema (about a third of a redraw's cost on this machine), and names each dataset by a
hash of its content, so a chart's spec changes with every new row.
`spec` builds the same spec without the validation (the same builders are validated wherever a chart is
drawn through `st.altair_chart`, and tests compare the two specs), and names each dataset by its place
in the chart ("frame_0", ...): between two redraws of a live chart only the data differ. The data go as
Arrow tables without pandas' metadata (a JSON description of every column, 770 bytes of a 100-step loss
redraw's 3,440) and without the columns that are empty throughout (a loss curve's `layer`).
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import pyarrow as pa

from core.cache import BoundedCache
from core.i18n import language

_CHILDREN = ("layer", "hconcat", "vconcat", "concat")
# Specs of charts whose data follow from their settings alone (the activations gallery), shared by all sessions.
_SPECS = BoundedCache(max_items=64, max_bytes=32 * 2**20)


def _name_data(chart: Any, datasets: dict[str, pd.DataFrame], names: dict[int, str]) -> None:
    """Replace every DataFrame in `chart` (and its layers, concatenations and facet spec) by a named
    reference, in place; the frames go to `datasets`, one name per frame."""
    data = getattr(chart, "data", alt.Undefined)
    if isinstance(data, pd.DataFrame):
        if id(data) not in names:
            names[id(data)] = f"frame_{len(names)}"  # not data_N: Vega-Lite names its own sources so
            datasets[names[id(data)]] = data
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
    """The Vega-Lite spec of `chart` with its data as named datasets (Arrow tables, which Streamlit sends
    as they are). Modifies `chart`: pass one built for this call."""
    datasets: dict[str, pd.DataFrame] = {}
    _name_data(chart, datasets, {})
    out = chart.to_dict(validate=False)
    if datasets:
        out["datasets"] = {**out.get("datasets", {}), **{k: table(v) for k, v in datasets.items()}}
    return out


def show(placeholder, chart: alt.TopLevelMixin, **kwargs) -> None:
    """Draw `chart` in `placeholder` (an st.empty or any container) from `spec`."""
    placeholder.vega_lite_chart(spec(chart), **kwargs)


def _nbytes(out: dict[str, Any]) -> int:
    tables = out.get("datasets", {}).values()
    return len(repr({k: v for k, v in out.items() if k != "datasets"})) + sum(
        t.nbytes for t in tables if isinstance(t, pa.Table))


def cached_spec(key: tuple, build) -> dict[str, Any]:
    """The spec of the chart `build()` makes, kept under `key` and the current language (bounded, shared
    by every session): a chart that depends on its settings alone is built once per setting."""
    return _SPECS.get_or_make((*key, language()), lambda: spec(build()), _nbytes)
