"""Streamlit AppTest: every registered lesson's page renders, and every experiment's Train completes."""

import csv
import json
import math

import pytest
from streamlit.testing.v1 import AppTest

from core.__main__ import main
from core.config import format_value, to_strings
from core.experiments import LESSONS, experiments, lesson_of
from core.export import exportable
from ui import nav

from .conftest import ROOT

APP = str(ROOT / "lab.py")
TIMEOUT = 180
EXPERIMENTS = experiments()
WIDGETS = ("selectbox", "slider", "number_input", "multiselect", "text_input", "toggle", "select_slider",
           "segmented_control")


def _app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    return at


def _open(experiment, query: dict | None = None) -> AppTest:
    """The app at `experiment`'s lesson page, with `query` as its URL parameters (namespaced)."""
    lesson = lesson_of(experiment)
    ns = lesson.namespace(experiment)
    at = _app({(f"{ns}.{k}" if ns else k): v for k, v in (query or {}).items()})
    at.switch_page(page_of(lesson)).run()
    assert not at.exception
    return at


def page_of(lesson) -> str:
    """A lesson's page file, as AppTest.switch_page takes it (relative to lab.py)."""
    return nav.page_file(lesson).relative_to(ROOT).as_posix()


def test_home_maps_every_lesson():
    at = _app()
    assert at.title[0].value == "Deep-Net Training Lab"
    links = " ".join(str(p.proto) for p in at.get("page_link"))
    assert all(lesson.title in links for lesson in LESSONS)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda x: x.name)
def test_every_page_renders_with_help_on_every_control(lesson):
    at = _app()
    at.switch_page(page_of(lesson)).run()
    assert not at.exception
    assert at.title[0].value == lesson.title
    widgets = [w for kind in WIDGETS for w in getattr(at, kind)]
    assert widgets and all(w.help for w in widgets)
    for exp in lesson.experiments:
        assert at.button(key=f"{exp.name}.train").proto.type == "primary"


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_experiment_trains_from_a_link_and_its_records_are_the_clis(name, tmp_path, cached_weights, fake_cifar):
    """A link's (small) settings train on the page, which offers the CSV and, for an MLP, the script; and every
    figure the page draws is a record the CLI writes: the page's run holds exactly the records of
    `python -m core run <name>` with the same options (wall times aside). Full defaults run in the claims tests."""
    exp = EXPERIMENTS[name]
    at = _open(exp, {k: format_value(v) for k, v in exp.smoke.items()})
    if name == "optimizers":
        at.select_slider(key="optimizers.speed").set_value("instant")
    at.button(key=f"{name}.train").click().run()
    assert not at.exception
    result = at.session_state[name]
    assert result.status == "finished" and result.config == exp.configure(**exp.smoke)
    assert any(f"Finished {result.last_step} steps" in s.value for s in at.success)
    labels = [b.label for b in at.get("download_button")]
    assert "Download CSV" in labels
    # every MLP experiment, and only those
    assert ("Export as PyTorch script" in labels) == exportable(experiments()[name])
    assert at.get("vega_lite_chart")

    out = tmp_path / "cli.csv"
    options = [x for k, v in exp.smoke.items() for x in (f"--{k.replace('_', '-')}", format_value(v))]
    assert main(["run", name, *options, "--out", str(out)]) == 0
    cli = _csv_records(out)
    page = [(r.run, r.step, r.metric, r.layer, float(r.value)) for r in result.records]
    assert [r[:4] for r in page] == [r[:4] for r in cli]
    for p, c in zip(page, cli, strict=True):
        if p[2] not in exp.timing_metrics:
            assert p[4] == c[4] or (math.isnan(p[4]) and math.isnan(c[4])), (p, c)
    # every metric the page draws is in the CSV, except those that depend on the settings: a
    # divergence is an event, units report saturation (sigmoid, tanh) or death (ReLU-like), only a
    # run that clips measures the clipped gradient's direction, and revival needs two probes after the first
    conditional = {"diverged", "saturated_fraction", "dead_fraction", "inactive_fraction", "clip_cosine",
                   "revived_fraction"}
    assert set(exp.metrics) - conditional <= {r[2] for r in cli}


@pytest.mark.parametrize("name", [n for n, e in EXPERIMENTS.items() if e.seeded])
def test_every_seeded_experiment_trains_on_three_seeds_as_the_cli_does(name, tmp_path, cached_weights, fake_cifar):
    """The Seeds control: 3 seeds from the seed control on, records equal to `python -m core run <name> --seeds`
    (wall times aside); each curve the seeds' mean with a lowest-to-highest band, each other chart the median
    seed (its subtitle says which)."""
    exp = EXPERIMENTS[name]
    at = _open(exp, {"seed": "7", **{k: format_value(v) for k, v in exp.smoke.items()}})
    at.segmented_control(key=f"{name}.n_seeds").set_value(3).run()
    at.button(key=f"{name}.train").click().run()
    assert not at.exception
    result = at.session_state[name]
    first = result.config.seed  # 7, or where the page sets it elsewhere (lr-range: the network tab's)
    assert result.status == "finished" and result.seeds == (first, first + 1, first + 2)
    assert first == 7 or name == "lr-range"
    out = tmp_path / "cli.csv"
    options = [x for k, v in to_strings(result.config, only_changed=True).items()
               for x in (f"--{k.replace('_', '-')}", v) if k != "seed"]
    assert main(["run", name, *options, "--seeds", ",".join(map(str, result.seeds)), "--out", str(out)]) == 0
    cli = _csv_records(out)
    # the seeds' measurements arrive as each member's are done: the same records, not always in the same order
    page = sorted((r.run, r.step, r.metric, r.layer or 0, float(r.value)) for r in result.records)
    cli = sorted((*r[:3], r[3] or 0, r[4]) for r in cli)
    assert [r[:4] for r in page] == [r[:4] for r in cli]
    for p, c in zip(page, cli, strict=True):
        if p[2] not in exp.timing_metrics:
            assert p[4] == c[4] or (math.isnan(p[4]) and math.isnan(c[4])), (p, c)
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    banded = [s for s in specs if '"field": "lo"' in json.dumps(s)]
    median = [s for s in specs if "median seed" in json.dumps(s.get("title", ""))]
    assert (banded or name == "lr-range") and not [s for s in banded if s in median]  # lr-range: loss against lr
    assert median or name in ("optimizers-net", "lr-range", "transfer-cnn", "toy"), [s.get("title") for s in specs]


def test_three_seeds_judge_each_claim_per_seed():
    at = _open(EXPERIMENTS["activations"], {"activations": "relu,elu", "steps": "30", "depth": "3"})
    at.segmented_control(key="activations.n_seeds").set_value(3).run()
    at.button(key="activations.train").click().run()
    text = "\n".join(m.value for m in at.markdown)
    assert text.count(" of 3 seeds") >= 2 and "elu's mean activation is" in text


def test_cnn_offline_says_so_and_nothing_crashes():
    at = _open(EXPERIMENTS["transfer-cnn"], {"steps": "2"})
    at.button(key="transfer-cnn.train").click().run()
    assert not at.exception
    assert at.session_state["transfer-cnn"].status == "unavailable"
    assert any("could not be downloaded" in i.value for i in at.info)


def _csv_records(path):
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["run", "step", "metric", "layer", "value"]
    return [(r[0], int(r[1]), r[2], int(r[3]) if r[3] else None, float(r[4])) for r in rows[1:]]


def test_preset_sets_the_controls_and_the_url():
    at = _app()
    at.switch_page("pages/vanishing.py").run()
    at.button_group(key="vanishing.preset").set_value("tanh-normal").run()
    assert at.selectbox(key="vanishing.activation").value == "tanh"
    assert at.selectbox(key="vanishing.init").value == "normal"
    assert at.query_params["preset"] in ("tanh-normal", ["tanh-normal"])


@pytest.mark.parametrize("experiment", [e for e in EXPERIMENTS.values() if any(c.preset for c in e.claims)],
                         ids=lambda e: e.name)
def test_a_claims_preset_is_one_click_from_what_to_look_for(experiment):
    """Each claim in "What to look for" names its preset as a button that sets the controls to it."""
    at = _open(experiment)
    i, claim = next((i, c) for i, c in enumerate(experiment.claims) if c.preset)
    at.button(key=f"{experiment.name}.try.{i}").click().run()
    assert not at.exception
    assert at.button_group(key=f"{experiment.name}.preset").value == claim.preset
    want = to_strings(experiment.configure(claim.preset))
    for name in experiment.presets[claim.preset]:
        shown = at.session_state[f"{experiment.name}.{name}"]
        assert format_value(tuple(shown) if isinstance(shown, list) else shown) == want[name], name


def test_settings_survive_a_page_switch_and_come_back_into_the_url():
    """Streamlit forgets an undrawn page's widgets; the lab keeps each control group's values, so leaving a
    lesson and coming back (sidebar navigation: no query string) finds them, and the URL says them again."""
    at = _app()
    at.switch_page("pages/vanishing.py").run()
    at.slider(key="vanishing.depth").set_value(7).run()
    at.button_group(key="vanishing.preset").set_value("relu-he").run()
    depth_after_preset = at.slider(key="vanishing.depth").value
    at.switch_page("pages/activations.py").run()
    assert not at.exception
    at.query_params.clear()  # the sidebar's link carries no parameters
    at.switch_page("pages/vanishing.py").run()
    assert not at.exception
    assert at.button_group(key="vanishing.preset").value == "relu-he"
    assert at.slider(key="vanishing.depth").value == depth_after_preset
    assert at.query_params["preset"] in ("relu-he", ["relu-he"])


def test_bad_url_parameter_gets_a_message_and_the_rest_applies():
    at = _app({"depth": "5000", "activation": "relu"})
    at.switch_page("pages/vanishing.py").run()
    assert not at.exception
    assert any("depth='5000'" in w.value.replace("\\", "") for w in at.warning)
    assert at.slider(key="vanishing.depth").value == 10
    assert at.selectbox(key="vanishing.activation").value == "relu"


def test_a_link_with_values_that_depend_on_each_other_reloads_whole():
    at = _app({"depth": "8", "reuse_layers": "5"})
    at.switch_page("pages/transfer.py").run()
    assert not at.exception and not at.warning
    assert at.slider(key="transfer.depth").value == 8 and at.slider(key="transfer.reuse_layers").value == 5


@pytest.mark.parametrize("value", ["0", "abc"])
def test_out_of_range_url_value_is_a_message_not_a_crash(value):
    at = _app({"lr": value})
    at.switch_page("pages/vanishing.py").run()
    assert not at.exception and at.warning


def test_activations_gallery_draws_from_the_engines_own_ranges():
    at = _app()
    at.switch_page("pages/activations.py").run()
    assert len(at.get("vega_lite_chart")) == 1  # the gallery
    elu = at.number_input(key="gallery.elu_alpha")
    assert (elu.min, elu.max) == (0.01, 5.0)  # TrainConfig's elu_alpha range
    at.number_input(key="gallery.rrelu_lower").set_value(0.9).run()
    assert any("RReLU lower" in e.value for e in at.error)  # above the upper slope


def test_optimizers_start_text_is_validated():
    at = _app()
    at.switch_page("pages/optimizers.py").run()
    at.text_input(key="optimizers.start").set_value("1,2,3").run()
    assert not at.exception
    assert any("Start" in e.value and "two numbers" in e.value for e in at.error)


def test_a_stored_run_is_drawn_from_its_own_config():
    """Changing a widget after a run does not redraw the stored run against the new settings."""
    at = _app({"steps": "20", "depth": "2"})
    at.switch_page("pages/batchnorm.py").run()
    at.button(key="batchnorm.train").click().run()
    at.slider(key="batchnorm.depth").set_value(5).run()
    assert not at.exception
    titles = [str(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert any("Layer 2 (last hidden)" in t for t in titles) and not any("Layer 5 (last" in t for t in titles)
    assert any("depth=2" in c.value for c in at.caption)


def test_claims_are_checked_on_the_readers_run():
    at = _app({"preset": "relu-he"})
    at.switch_page("pages/vanishing.py").run()
    at.button(key="vanishing.train").click().run()
    assert not at.exception
    text = "\n".join(m.value for m in at.markdown)
    assert "The claims about these settings, checked on this run" in text
    assert text.count("- ✓") >= 3 and "input layer's gradient norm is" in text  # evidence with numbers


def test_a_run_off_every_preset_says_no_claim_is_about_it():
    at = _app({"steps": "12", "depth": "3"})
    at.switch_page("pages/vanishing.py").run()
    at.button(key="vanishing.train").click().run()
    assert any("No claim is about exactly these settings" in m.value for m in at.markdown)


def test_one_run_diverging_in_a_comparison_is_named_not_the_whole_result():
    at = _app({"preset": "bn-bad-init", "steps": "30"})
    at.switch_page("pages/batchnorm.py").run()
    at.button(key="batchnorm.train").click().run()
    assert not at.exception
    assert at.session_state["batchnorm"].status == "finished"
    assert any("1 of 2 runs diverged" in w.value and "no_bn" in w.value for w in at.warning)


def test_a_single_run_that_diverges_is_a_diverged_result():
    at = _app({"activation": "relu", "init": "normal", "lr": "10", "steps": "20", "depth": "3"})
    at.switch_page("pages/vanishing.py").run()
    at.button(key="vanishing.train").click().run()
    assert not at.exception and at.session_state["vanishing"].status == "diverged"
    assert any("diverged at step" in e.value for e in at.error)


def test_tracebacks_never_reach_a_visitor():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] in ("type", "none")


# The Korean edition (issue 14): ?lang=ko, the session's choice, the browser's language.

HANGUL = __import__("re").compile(r"[\uac00-\ud7a3]")


@pytest.mark.parametrize("path", ["pages/home.py", *(page_of(lesson) for lesson in LESSONS), "pages/runs.py"])
def test_every_page_opens_in_korean_from_the_link(path):
    at = _app({"lang": "ko"})
    at.switch_page(path).run()
    assert not at.exception
    assert HANGUL.search(at.title[0].value)
    labels = [w.label for kind in WIDGETS for w in getattr(at, kind) if w.key != "lang.choice"]
    helps = [w.help for kind in WIDGETS for w in getattr(at, kind) if w.key != "lang.choice"]
    symbol = __import__("re").compile(r"[A-Za-z]*\s?[α-ω][₀-₉]?")  # β₁, ε, "LeakyReLU α": no words to translate
    assert all(HANGUL.search(t) or symbol.fullmatch(t) for t in labels), labels
    assert all(HANGUL.search(t) for t in helps), helps


def test_the_language_switch_sits_in_the_sidebar_and_keeps_the_link():
    at = _app({"lang": "ko"})
    switch = at.sidebar.selectbox(key="lang.choice")
    assert switch.value == "ko" and switch.options == ["English", "한국어"]
    switch.set_value("en").run()
    assert at.title[0].value == "Deep-Net Training Lab" and at.session_state["lang"] == "en"


def test_a_korean_run_reports_in_korean():
    exp = EXPERIMENTS["vanishing"]
    at = _open(exp, {"lang": "ko", "steps": "20", "depth": "3", "preset": "relu-he"})
    at.button(key="vanishing.train").click().run()
    assert not at.exception
    assert HANGUL.search(at.success[0].value) and "20" in at.success[0].value
    checked = " ".join(m.value for m in at.markdown if "✓" in m.value or "✗" in m.value)
    assert checked and HANGUL.search(checked)


def test_switching_language_keeps_the_settings_and_the_last_run():
    exp = EXPERIMENTS["vanishing"]
    at = _open(exp, {"steps": "20", "depth": "3"})
    at.slider(key="vanishing.width").set_value(40).run()
    at.button(key="vanishing.train").click().run()
    finished = at.success[0].value
    assert finished.startswith("Finished 20 steps")
    at.session_state["lang"] = "ko"  # what the sidebar switch sets (AppTest runs the page without lab.py)
    at.run()
    assert not at.exception
    assert HANGUL.search(at.title[0].value)
    assert at.slider(key="vanishing.width").value == 40 and at.slider(key="vanishing.depth").value == 3
    assert at.success and "20" in at.success[0].value and HANGUL.search(at.success[0].value)  # the same run, in Korean
    at.session_state["lang"] = "en"
    at.run()
    assert at.success[0].value == finished


def test_the_browser_language_decides_when_nothing_else_does(monkeypatch):
    from ui import i18n as ui_i18n

    monkeypatch.setattr(ui_i18n, "_browser", lambda: "ko")
    at = _app()
    assert HANGUL.search(at.title[0].value)


def test_a_bad_lang_parameter_is_said_and_ignored():
    at = _app({"lang": "<b>xx</b>"})
    assert at.title[0].value == "Deep-Net Training Lab"
    said = [w.value.replace("\\", "") for w in at.warning]  # plain text: markdown characters escaped
    assert any("lang=" in w and "<b>xx</b>" in w and "en, ko" in w for w in said), said


def _chart_titles(at) -> str:
    return " ".join(str(c.proto.spec) for c in at.get("vega_lite_chart"))


@pytest.mark.parametrize(("activations", "shown", "hidden"), [
    ("relu,selu", "Dead units per layer", "Saturated units per layer"),
    ("sigmoid,tanh", "Saturated units per layer", "Dead units per layer")])
def test_no_empty_chart_for_the_activations_trained(activations, shown, hidden):
    """Dead units are probed for ReLU-like activations only, saturation for bounded ones only."""
    at = _open(EXPERIMENTS["activations"], {"activations": activations, "steps": "5", "depth": "2"})
    at.button(key="activations.train").click().run()
    assert not at.exception
    titles = _chart_titles(at)
    assert shown in titles and hidden not in titles


@pytest.mark.parametrize(("activation", "metric", "shown", "hidden"), [
    ("relu", "dead_fraction", "Dead units per layer", "Saturated units per layer"),
    ("sigmoid", "saturated_fraction", "Saturated units per layer", "Dead units per layer")])
def test_the_playground_draws_the_units_its_activation_is_probed_for(activation, metric, shown, hidden):
    at = _open(EXPERIMENTS["playground"], {"activation": activation, "steps": "5", "depth": "2", "grid": "8"})
    at.button(key="playground.train").click().run()
    assert not at.exception
    titles = _chart_titles(at)
    assert shown in titles and hidden not in titles
    assert any(r.metric == metric for r in at.session_state["playground"].records)  # the chart has data


def test_no_flat_or_empty_chart_on_the_network_tab():
    at = _open(EXPERIMENTS["optimizers-net"], {"steps": "5", "optimizers": "sgd,adam"})
    at.button(key="optimizers-net.train").click().run()
    titles = _chart_titles(at)
    assert "Validation accuracy" in titles and "Fair mode" not in titles and '"Learning rate"' not in titles


@pytest.mark.parametrize(("query", "shown"), [({"clip_value": "0.01"}, True), ({}, False)])
def test_the_vanishing_page_draws_the_clipping_direction_only_for_a_run_that_clips(query, shown):
    at = _open(experiments()["vanishing"], {"steps": "20", "depth": "3", "probe_every": "5", **query})
    at.button(key="vanishing.train").click().run()
    assert not at.exception
    result = at.session_state["vanishing"]
    cosines = [r.value for r in result.records if r.metric == "clip_cosine"]
    assert bool(cosines) == shown and all(-1 <= c <= 1 + 1e-6 for c in cosines)
    titles = [json.dumps(json.loads(c.proto.spec).get("title", "")) for c in at.get("vega_lite_chart")]
    assert any("Direction kept by clipping" in t for t in titles) == shown


def test_an_identical_train_shows_the_run_this_server_trained_and_train_afresh_trains_it_again():
    """Train, then Train again on the same settings (a second visitor would too): the second is the first
    run at once, said so, with its claims, CSV and history; Train afresh trains live and records the same."""
    query = {"steps": "25", "depth": "3", "seed": "4242"}  # a seed no other test trains
    first = _open(EXPERIMENTS["vanishing"], query)
    first.button(key="vanishing.train").click().run()
    mine = first.session_state["vanishing"]
    assert mine.status == "finished" and mine.shared_at is None
    other = _open(EXPERIMENTS["vanishing"], query)  # another visitor: a session of its own
    other.button(key="vanishing.train").click().run()
    assert not other.exception
    shared = other.session_state["vanishing"]
    assert shared.shared_at is not None and list(shared.records) == list(mine.records)
    assert any("The same settings and seed as a run trained on this server" in i.value for i in other.info)
    assert "Download CSV" in [b.label for b in other.get("download_button")]
    assert any("checked on this run" in m.value or "No claim is about" in m.value for m in other.markdown)
    other.button(key="vanishing.afresh").click().run()
    again = other.session_state["vanishing"]
    assert again.shared_at is None and again is not shared
    assert sorted(again.records) == sorted(mine.records)  # deterministic: the same records, trained anew
    assert not any("The same settings and seed" in i.value for i in other.info)
    from ui.history import KEY

    assert len(other.session_state[KEY].of("vanishing")) == 2  # the shared run and the fresh one, both kept
    other.switch_page("pages/runs.py").run()
    assert not other.exception
