"""The session's run history: labels, bounds, overlays, uploads (core.history and the pages)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from core import history as H
from core.__main__ import main
from core.experiments import experiments
from core.experiments.vanishing import Config as VanishingConfig
from core.records import COLUMNS, Record, csv_bytes

from .test_app import _open


def _frame(run="r", steps=5) -> pd.DataFrame:
    return pd.DataFrame([(run, s, "loss", pd.NA, 1.0 / s) for s in range(1, steps + 1)]
                        + [(run, steps, "val_accuracy", pd.NA, 0.5)], columns=list(COLUMNS))


def test_labels_say_what_differs_from_the_defaults():
    cfg = VanishingConfig(activation="tanh", init="normal", lr=0.01)
    assert H.summary(cfg) == "tanh · normal · lr 0.01"
    assert H.summary(VanishingConfig()) == "defaults"
    h = H.History()
    assert h.add("vanishing", "vanishing", cfg, _frame(), "finished", 5, 1.0).label == "#1 tanh · normal · lr 0.01"


def test_at_most_twenty_runs_a_lesson_pinned_runs_kept():
    h = H.History()
    first = h.add("a", "a", None, _frame(), "finished", 5, 0.1)
    first.pinned = True
    for _ in range(30):
        h.add("a", "a", None, _frame(), "finished", 5, 0.1)
    h.add("b", "b", None, _frame(), "finished", 5, 0.1)
    mine = h.of(lesson="a")
    assert len(mine) == H.MAX_RUNS and first in mine
    assert [e.id for e in mine[:-1]] == list(range(31, 12, -1))  # newest first, the oldest unpinned dropped
    assert len(h.of(lesson="b")) == 1


def test_rename_delete_and_status():
    h = H.History()
    e = h.add("a", "a", None, _frame(), "stopped", 3, 0.1)
    h.rename(e.id, "  mine  ")
    assert e.label == "mine" and e.status_text == "stopped at step 3"
    h.rename(e.id, "   ")  # a blank name keeps the old one
    assert e.label == "mine"
    assert e.val_accuracy == 0.5
    h.delete(e.id)
    assert h.entries == []


def test_overlay_frame_keeps_the_order_of_the_runs():
    h = H.History()
    a = h.add("a", "a", None, _frame("x"), "finished", 5, 0.1)
    b = h.add("a", "a", None, _frame("y"), "finished", 5, 0.1)
    df = H.overlay_frame([b, a], ("loss",))
    assert list(df["source"].cat.categories) == [b.label, a.label]
    assert set(df["metric"]) == {"loss"} and len(df) == 10
    assert list(df["series"].cat.categories) == [b.label, a.label]  # one network a run: a colour a run


def test_runs_of_several_networks_get_a_colour_per_network_the_same_on_every_chart():
    h = H.History()
    two = pd.concat([_frame("relu"), _frame("elu")], ignore_index=True)
    a = h.add("a", "a", None, two, "finished", 5, 0.1)
    b = h.add("a", "a", None, two.copy(), "finished", 5, 0.1)
    loss, acc = H.overlay_frame([b, a], ("loss",)), H.overlay_frame([b, a], ("val_accuracy",))
    order = [f"{b.label} · relu", f"{b.label} · elu", f"{a.label} · relu", f"{a.label} · elu"]
    assert list(loss["series"].cat.categories) == list(acc["series"].cat.categories) == order


def test_a_cli_csv_reads_back_exactly(tmp_path):
    out = tmp_path / "run.csv"
    assert main(["run", "vanishing", "--steps", "5", "--depth", "2", "--out", str(out)]) == 0
    records = H.read_csv(out.read_bytes())
    assert csv_bytes(records) == out.read_bytes()  # every field as written


@pytest.mark.parametrize(("data", "says"), [
    (b"a,b,c\n1,2,3\n", "The columns must be run, step, metric, layer, value"),
    (b"run,step,metric,layer,value\nr,one,loss,,1.0\n", "Line 2: step must be a whole number"),
    (b"run,step,metric,layer,value\nr,1,loss,x,1.0\n", "Line 2: layer must be a whole number"),
    (b"run,step,metric,layer,value\nr,1,loss,,abc\n", "Line 2: value must be a number"),
    (b"run,step,metric,layer,value\nr,1,loss,,nan\n", "value must be a finite number"),
    (b"run,step,metric,layer,value\nr,1,loss,,inf\n", "value must be a finite number"),
    (b"run,step,metric,layer,value\nr,1,loss,1.0\n", "Line 2 has 4 fields"),
    (b"run,step,metric,layer,value\n", "no records"),
    ("run,step,metric,layer,value\nr\u00e9,1,loss,,1.0\n".encode("latin-1"), "not UTF-8"),
    (b"run,step,metric,layer,value\n" + b"r,1,loss,,1.0\n" * (H.MAX_UPLOAD_BYTES // 14 + 1), "the limit is 20 MB"),
])
def test_a_bad_csv_is_refused_with_its_reason(data, says):
    with pytest.raises(H.CSVError, match=None) as err:
        H.read_csv(data)
    assert says in str(err.value)


def test_history_and_overlay_on_a_page():
    """Two runs of a lesson: both in the history, 'Compare with previous run' overlays them on every chart."""
    exp = experiments()["vanishing"]
    at = _open(exp, {"steps": "8", "depth": "3"})
    at.button(key="vanishing.train").click().run()
    at.selectbox(key="vanishing.activation").set_value("relu").run()
    at.button(key="vanishing.train").click().run()
    assert not at.exception
    h = at.session_state["_history"]
    assert [e.label for e in h.of("vanishing")] == ["#2 depth 3 · relu · steps 8", "#1 depth 3 · steps 8"]
    at.button(key="vanishing.compare").click().run()
    assert not at.exception
    assert at.multiselect(key="vanishing.overlay").value == [1]
    labels = ["#2 depth 3 · relu · steps 8", "#1 depth 3 · steps 8"]
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    domains = [layer["encoding"]["color"]["scale"]["domain"] for spec in specs for layer in spec.get("layer", [])
               if layer.get("encoding", {}).get("color", {}).get("field") == "series"]
    assert domains == [labels, labels]  # loss and accuracy: both runs in each, the same colour order
    from ui.safe import plain

    side_by_side = [c.value for c in at.caption if c.value in map(plain, labels)]
    # gradient heat map, profile, percentile bands, fractions, mean activation: a panel per run
    assert side_by_side == [plain(label) for label in labels] * 5
    assert len(specs) == 2 + 5 * 2


def test_the_runs_page_lists_overlays_downloads_and_links_runs_from_three_lessons():
    from streamlit.testing.v1 import AppTest

    from .conftest import ROOT

    at = AppTest.from_file(str(ROOT / "lab.py"), default_timeout=180).run()
    smoke = {"vanishing": {"vanishing.steps": 6, "vanishing.depth": 2}}
    for lesson, exp in (("vanishing", "vanishing"), ("batchnorm", "batchnorm"), ("activations", "activations")):
        at.switch_page(f"pages/{lesson}.py").run()
        for key, value in smoke.get(exp, {f"{exp}.steps": 6, f"{exp}.depth": 2}).items():
            at.slider(key=key).set_value(value) if key.endswith("depth") else at.number_input(key=key).set_value(value)
        at.run()
        at.button(key=f"{exp}.train").click().run()
        assert not at.exception
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["lesson"]) == ["Activation functions", "Batch normalization", "Vanishing & exploding gradients"]
    at.multiselect(key="runs.picked").set_value([1, 2, 3]).run()
    assert not at.exception
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(specs) == 2
    assert at.get("download_button")[0].label == "Download these runs as CSV"
    links = [str(p.proto) for p in at.get("page_link")]
    assert len(links) == 3 and any("steps" in link for link in links)


def test_a_huge_run_is_stored_within_the_row_bound():
    """100 layers × 12 probe metrics × 2,000 probe steps: the history keeps it at the live resolution."""
    from ui.history import MAX_ENTRY_ROWS, stored_frame

    records = [Record("r", s, "loss", None, 1.0) for s in range(1, 20_001)]
    records += [Record("r", s, f"m{k}", layer, 0.5) for s in range(10, 20_001, 10) for k in range(12)
                for layer in range(1, 101)]
    frame = stored_frame(records)
    assert len(frame) <= MAX_ENTRY_ROWS
    assert frame["step"].max() == 20_000  # the latest point is kept


def test_downloaded_runs_read_back_with_their_labels():
    h = H.History()
    a = h.add("a", "a", None, _frame("x"), "finished", 5, 0.1)
    b = h.add("b", "b", None, _frame("y"), "finished", 5, 0.1)
    back = H.read_csv(H.to_csv([a, b]))
    assert {r.run for r in back} == {f"{a.label} · x", f"{b.label} · y"}
    assert len(back) == 12 and all(math.isfinite(r.value) for r in back)
