"""A run on several seeds, read back: each seed's records, curves as the members' mean with their range,
per-layer charts from the median member, and a claim judged per seed.

A run trained on seeds (Experiment.over_seeds) names each network `<run>@seed<k>` (recipe.seeded_run);
everything here groups by the name without its seed (recipe.split_seed), so a chart or a claim sees the
runs it sees on one seed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .recipe import split_seed
from .records import Record

RANK_METRIC = "loss"  # the median member is the one with the median final training loss


def seeds_of(runs: Iterable[str]) -> list[int]:
    """The seeds the run names carry, in order of appearance (none for a run on one seed)."""
    return list(dict.fromkeys(s for s in (split_seed(str(r))[1] for r in runs) if s is not None))


def per_seed(records: Iterable[Record]) -> dict[int, list[Record]]:
    """Each seed's records with its runs named as on one seed; experiment-wide notes (run "") go to every
    seed. Empty for records of a run on one seed."""
    records = list(records)
    notes = [r for r in records if not r.run]
    out: dict[int, list[Record]] = {}
    for r in records:
        base, seed = split_seed(r.run)
        if seed is not None:
            out.setdefault(seed, list(notes)).append(r._replace(run=base))
    return out


def _bases(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    names = df["run"].astype(str)
    split = [split_seed(n) for n in names]
    return (pd.Series([b for b, _ in split], index=df.index, dtype=object),
            pd.Series([s for _, s in split], index=df.index, dtype=object))


def band(df: pd.DataFrame) -> pd.DataFrame:
    """A long-form frame of seeded runs as one curve per run: the members' mean at each (run, step, metric,
    layer) in `value`, their lowest and highest in `lo` and `hi`. A member's `diverged` rows are kept as they
    are (one rule per diverged member), its run named without its seed. A frame without seeded runs comes
    back unchanged."""
    if not len(df) or not seeds_of(pd.unique(df["run"].astype(str))):
        return df
    base, seed = _bases(df)
    df = df.assign(run=base)
    rules = df[df["metric"].astype(str) == "diverged"]
    curves = df[(df["metric"].astype(str) != "diverged") & seed.notna()]
    keys = ["run", "step", "metric", "layer"]
    grouped = curves.astype({"metric": str}).groupby(keys, dropna=False, sort=False, observed=True)["value"]
    stats = grouped.agg(value="mean", lo="min", hi="max").reset_index()
    out = pd.concat([stats, rules.astype({"metric": str})], ignore_index=True)
    order = list(dict.fromkeys(base))
    return out.astype({"run": pd.CategoricalDtype(order), "metric": "category", "step": "int32",
                       "layer": df["layer"].dtype, "value": "float32", "lo": "float32", "hi": "float32"}).sort_values(
        ["run", "metric", "step"], kind="stable").reset_index(drop=True)


def median_seeds(df: pd.DataFrame, metric: str = RANK_METRIC) -> dict[str, int]:
    """{run without its seed: the seed whose last `metric` is the median of its members'} (the lower
    median for an even count; a member whose last value is not finite ranks as the worst)."""
    rows = df[df["metric"].astype(str) == metric]
    if not len(rows):
        return {}
    base, seed = _bases(rows)
    last = rows.assign(base=base, seed=seed).dropna(subset=["seed"]).sort_values("step", kind="stable") \
        .groupby(["base", "seed"], sort=False)["value"].last()
    out = {}
    for run, members in last.groupby(level="base", sort=False):
        ranked = sorted(members.items(), key=lambda kv: (kv[1] if np.isfinite(kv[1]) else np.inf, kv[0][1]))
        out[run] = int(ranked[(len(ranked) - 1) // 2][0][1])
    return out


def member(df: pd.DataFrame, chosen: dict[str, int]) -> pd.DataFrame:
    """The rows of one member per run (`chosen`: median_seeds), named as on one seed; notes (run "") kept."""
    if not len(df) or not chosen:
        return df
    base, seed = _bases(df)
    keep = (seed.isna() & (base == "")) | pd.Series([chosen.get(b) == s for b, s in zip(base, seed, strict=True)],
                                                     index=df.index)
    out = df[keep].assign(run=base[keep])
    return out.astype({"run": "category"}) if isinstance(df["run"].dtype, pd.CategoricalDtype) else out


DASHES = ("–", "-", "—")
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")


def spread(evidence: Sequence[str]) -> str:
    """One sentence for a claim's evidence on several seeds: where every seed's sentence is the same but
    for its numbers, each number that differs becomes its lowest–highest over the seeds ("22–31%"); else
    the seeds' sentences, each once, joined."""
    evidence = [e for e in evidence if e]
    if not evidence:
        return ""
    skeletons = {tuple(NUMBER.split(e)) for e in evidence}
    if len(skeletons) != 1:
        return " | ".join(dict.fromkeys(evidence))
    numbers = [NUMBER.findall(e) for e in evidence]
    parts = NUMBER.split(evidence[0])
    out = [parts[0]]
    for i, part in enumerate(parts[1:]):
        seen = [n[i] for n in numbers]
        values = [float(s.replace(",", "")) for s in seen]
        lo, hi = min(range(len(seen)), key=values.__getitem__), max(range(len(seen)), key=values.__getitem__)
        ranged = f"{seen[lo]}–{seen[hi]}"
        if out[-1].endswith(DASHES) or part.startswith(DASHES):  # a range beside a dash: "(0.44–0.59)–(0.63–0.85)"
            ranged = f"({ranged})"
        out.append(seen[lo] if values[lo] == values[hi] else ranged)
        out.append(part)
    return "".join(out)

