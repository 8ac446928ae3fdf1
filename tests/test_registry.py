"""The Experiment contract: one registry drives the CLI, the navigation, the pages and the URL."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.__main__ import main
from core.config import ConfigError, from_query, specs, to_query
from core.experiments import LESSONS, experiments

from . import toy_lesson
from .conftest import ROOT

EXPERIMENTS = experiments()


def test_names_are_unique_and_every_lesson_has_prose():
    assert len({lesson.name for lesson in LESSONS}) == len(LESSONS)
    names = [e.name for lesson in LESSONS for e in lesson.experiments]
    assert len(set(names)) == len(names)
    for lesson in LESSONS:
        assert lesson.prose("en").exists(), lesson.name


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_presets_and_smoke_settings_are_valid_configs(name):
    exp = EXPERIMENTS[name]
    for preset in exp.presets:
        exp.configure(preset)
    exp.configure(**exp.smoke)


def test_list_names_every_experiment():
    proc = subprocess.run([sys.executable, "-m", "core", "list"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0
    listed = [line.split()[0] for line in proc.stdout.splitlines()]
    assert listed == list(EXPERIMENTS)


@pytest.mark.parametrize("name", [n for n in EXPERIMENTS if n != "transfer-cnn"])
def test_run_names_parse_back_to_what_built_them(name):
    exp = EXPERIMENTS[name]
    runs = {r.run for r in exp.run(exp.configure(**exp.smoke)) if r.run}
    assert runs
    for run in runs:
        fields = exp.runs.parse(run)
        assert set(fields) == set(exp.runs.fields)
        assert exp.runs.build(**{k: v for k, v in fields.items() if k in exp.runs.fields}) == run


@pytest.fixture
def toy():
    """The toy lesson, registered for the whole session by naming its module in $DNLAB_LESSONS (conftest)."""
    assert toy_lesson.LESSON in LESSONS
    return toy_lesson.LESSON


def test_a_registered_lesson_reaches_the_cli(toy, tmp_path, capsys):
    assert main(["list"]) == 0
    assert "toy " in capsys.readouterr().out
    out = tmp_path / "toy.csv"
    assert main(["run", "toy", "--steps", "7", "--lr", "0.05", "--out", str(out)]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["run", "step", "metric", "layer", "value"] and len(rows) == 8
    assert main(["run", "toy", "--steps", "0"]) == 2


def test_a_registered_lesson_reaches_the_navigation(toy):
    from streamlit.testing.v1 import AppTest

    from ui import nav

    at = AppTest.from_file(str(ROOT / "lab.py"), default_timeout=60)
    at.run()
    assert not at.exception
    # lab.py hands st.navigation exactly these pages, built from the registry
    pages = at.session_state[nav.PAGES_KEY]  # per session: sessions are threads of one process
    assert [(p.title, p.url_path) for p in pages.values()] == [(x.title, x.name) for x in LESSONS]
    assert pages["toy"].title == toy.title
    assert any("Toy lesson" in str(p.proto) for p in at.get("page_link"))  # the home page lists it


def test_a_registered_lesson_gets_a_working_page(toy):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from tests.toy_lesson import LESSON\nfrom ui.page import render_lesson\nrender_lesson(LESSON)\n",
        default_timeout=60)
    at.run()
    assert not at.exception and at.title[0].value == "Toy lesson"
    at.button(key="toy.train").click().run()
    assert not at.exception
    assert any("Finished 20 steps" in s.value for s in at.success)
    assert at.get("vega_lite_chart")


# --- the URL round trip: any config the app writes to the URL reloads to the same config -----------

def _value(f):
    m, kind = f.metadata, type(f.default)
    if kind is tuple and m["choices"]:
        return st.lists(st.sampled_from(m["choices"]), min_size=1, max_size=len(m["choices"]), unique=True).map(tuple)
    if kind is tuple:
        return st.lists(st.floats(m["lo"], m["hi"], allow_nan=False), min_size=len(f.default),
                        max_size=len(f.default)).map(tuple)
    if m["choices"]:
        return st.sampled_from(m["choices"])
    if kind is bool:
        return st.booleans()
    if kind is int:
        return st.integers(m["lo"], m["hi"])
    return st.floats(m["lo"], m["hi"], allow_nan=False)


def valid_configs(exp):
    """Random configs of `exp`: every field drawn from its declared range, then any value a
    cross-field or data check rejects put back to its default, until the config is valid."""
    def build(values):
        cls = exp.config
        for _ in range(len(values) + 1):
            try:
                cfg = cls(**values)
                exp.validate(cfg)
                return cfg
            except ConfigError as exc:
                blamed = [n for n in (exc.option, *exc.related) if values[n] != getattr(cls(), n)]
                values[blamed[0]] = getattr(cls(), blamed[0])
        raise AssertionError("no valid config")

    return st.fixed_dictionaries({f.name: _value(f) for f in specs(exp.config)}).map(build)


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_url_round_trip_of_random_valid_configs(name):
    exp = EXPERIMENTS[name]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(cfg=valid_configs(exp), preset=st.sampled_from([None, *exp.presets]))
    def round_trip(cfg, preset):
        url = urllib.parse.urlencode(to_query(cfg, exp.presets, preset))
        query = dict(urllib.parse.parse_qsl(url, keep_blank_values=True))
        back, read_preset, errors = from_query(exp.config, exp.presets, query, exp.check)
        assert not errors and back == cfg and read_preset == preset

    round_trip()


def test_csv_columns_are_the_contract():
    exp = EXPERIMENTS["vanishing"]
    out = io.StringIO()
    from core.records import write_csv

    write_csv(exp.run(exp.configure(**exp.smoke)), out)
    assert out.getvalue().splitlines()[0] == "run,step,metric,layer,value"


# The progress bar's total (issue 11, "true progress"): every step of every network a run trains.

def _work_cases():
    """Each experiment's smoke run, and the runs whose work has phases: a sweep, several batch sizes
    and learning-rate multipliers, model A replayed from the cache, several seeds."""
    reg = experiments()
    cases = [(name, dict(exp.smoke)) for name, exp in reg.items() if name != "transfer-cnn"]
    cases += [("optimizers-net", {"fair": True, "steps": 6, "optimizers": ("sgd", "adam")}),
              ("batchnorm", {"steps": 5, "batch_sizes": (16, 64), "lr_multipliers": (1.0, 5.0)}),
              ("transfer", {**reg["transfer"].smoke, "seeds": 3}),
              ("transfer", {**reg["transfer"].smoke, "seeds": 3})]  # model A now comes from the cache
    return cases


@pytest.mark.parametrize(("name", "changes"), _work_cases(), ids=lambda c: c if isinstance(c, str) else "")
def test_work_counts_every_training_step_of_every_network(name, changes):
    exp = experiments()[name]
    cfg = exp.configure(None, **changes)
    records = list(exp.run(cfg))
    steps = sum(1 for r in records if r.metric == "loss")  # one loss record per network per step
    last = max(r.step for r in records if r.metric == "loss")
    if any(r.metric == "diverged" for r in records):
        assert steps <= exp.work(cfg)  # a diverged network stops early
        assert last <= exp.steps(cfg)
    else:
        assert steps == exp.work(cfg)
        assert last == exp.steps(cfg)  # where the charts' step axes end, fixed from the first redraw


def test_the_bar_names_the_network_and_counts_all_of_them():
    from ui.live import progress_text

    assert progress_text("", 0, 0, 100, 0.0) == "starting…"
    text = progress_text("scratch/s1", 12, 50, 200, 10.0)
    assert text.startswith("scratch/s1 · step 12 · 50 / 200 steps in all · 10.0 s")
    assert text.endswith("ETA 30 s")  # 10 s for 50 steps: 150 left take 30 s


def test_a_lesson_named_in_the_variable_that_is_not_one_is_a_clear_error():
    from core.experiments import PLUGINS, plugged_in

    assert plugged_in(" , ") == []
    with pytest.raises(ImportError, match=f"{PLUGINS} names 'tests.no_such_lesson'"):
        plugged_in("tests.no_such_lesson")
    with pytest.raises(ImportError, match="not a module with a LESSON"):
        plugged_in("tests.conftest")  # a module, but no lesson in it
    assert plugged_in("tests.toy_lesson") == [toy_lesson.LESSON]
