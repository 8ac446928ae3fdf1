"""Streamlit AppTest: the app and every page render, and Train with a tiny config completes."""

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import ROOT

APP = str(ROOT / "app.py")
TIMEOUT = 120


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    return at


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_home_maps_the_lab():
    at = _app()
    assert at.title[0].value == "Deep-Net Training Lab"
    assert "Vanishing & exploding gradients" in at.markdown[0].value + "".join(m.value for m in at.markdown)


def test_vanishing_page_renders_with_help_on_every_control():
    at = _app()
    at.switch_page("pages/vanishing.py").run()
    assert not at.exception
    assert at.title[0].value == "Vanishing & exploding gradients"
    widgets = [*at.selectbox, *at.slider, *at.number_input]
    assert len(widgets) >= 12 and all(w.help for w in widgets)
    assert _button(at, "Train").proto.type == "primary"
    assert at.latex, "the Glorot and He formulas are drawn with st.latex"


def test_vanishing_train_completes_with_charts_and_download():
    at = _app()
    at.switch_page("pages/vanishing.py").run()
    at.number_input(key="vanishing.steps").set_value(15)
    at.slider(key="vanishing.depth").set_value(3)
    _button(at, "Train").click().run()
    assert not at.exception
    assert any("Finished 15 steps" in s.value for s in at.success)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 6
    assert any(b.label == "Download CSV" for b in at.get("download_button"))


def test_preset_sets_the_controls():
    at = _app()
    at.switch_page("pages/vanishing.py").run()
    at.selectbox(key="vanishing.preset").set_value("tanh-normal").run()
    assert at.selectbox(key="vanishing.activation").value == "tanh"
    assert at.selectbox(key="vanishing.init").value == "normal"
    assert at.query_params["preset"] in ("tanh-normal", ["tanh-normal"])


def test_bad_url_parameter_gets_a_message_and_defaults_stay():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["depth"] = "5000"
    at.query_params["activation"] = "relu"
    at.run()
    at.switch_page("pages/vanishing.py").run()
    assert not at.exception
    assert any("depth='5000'" in w.value for w in at.warning)
    assert at.slider(key="vanishing.depth").value == 10
    assert at.selectbox(key="vanishing.activation").value == "relu"


@pytest.mark.parametrize("value", ["0", "abc"])
def test_out_of_range_widget_value_is_an_error_not_a_crash(value):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lr"] = value
    at.run()
    at.switch_page("pages/vanishing.py").run()
    assert not at.exception and at.warning


def test_activations_page_gallery_and_train():
    at = _app()
    at.switch_page("pages/activations.py").run()
    assert not at.exception
    assert at.title[0].value == "Activation functions"
    assert at.latex
    widgets = [*at.selectbox, *at.slider, *at.number_input, *at.multiselect]
    assert all(w.help for w in widgets)
    assert len(at.get("vega_lite_chart")) == 1  # the gallery
    at.multiselect(key="activations.activations").set_value(["relu", "selu"])
    at.number_input(key="activations.steps").set_value(10)
    at.slider(key="activations.depth").set_value(2)
    _button(at, "Train").click().run()
    assert not at.exception
    assert any("Finished 10 steps" in s.value for s in at.success)
    assert len(at.get("vega_lite_chart")) == 1 + 7


def test_activations_preset_sets_controls():
    at = _app()
    at.switch_page("pages/activations.py").run()
    at.selectbox(key="activations.preset").set_value("selu-self-normalizing").run()
    assert at.slider(key="activations.depth").value == 100
    assert at.multiselect(key="activations.activations").value == ["selu", "relu", "tanh"]


def test_batchnorm_page_trains():
    at = _app()
    at.switch_page("pages/batchnorm.py").run()
    assert not at.exception and at.title[0].value == "Batch normalization" and at.latex
    assert all(w.help for w in [*at.selectbox, *at.slider, *at.number_input, *at.multiselect])
    at.number_input(key="batchnorm.steps").set_value(20)
    _button(at, "Train").click().run()
    assert not at.exception
    assert any("Finished 20 steps" in s.value for s in at.success)
    assert len(at.get("vega_lite_chart")) == 7


def test_optimizers_page_surface_and_net():
    at = _app()
    at.switch_page("pages/optimizers.py").run()
    assert not at.exception and at.title[0].value == "Fast optimizers" and at.latex
    assert all(w.help for w in [*at.selectbox, *at.slider, *at.number_input, *at.multiselect, *at.text_input,
                                *at.toggle, *at.select_slider])
    at.select_slider(key="optimizers.speed").set_value("instant")
    at.button(key="optimizers.train").click().run()
    assert not at.exception
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 6  # one row per optimizer
    at.number_input(key="optimizers_net.steps").set_value(10)
    at.slider(key="optimizers_net.depth").set_value(2)
    at.multiselect(key="optimizers_net.optimizers").set_value(["sgd", "adam"])
    at.button(key="optimizers_net.train").click().run()
    assert not at.exception
    assert any("Finished 10 steps" in s.value for s in at.success)


def test_optimizers_start_text_is_validated():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page("pages/optimizers.py").run()
    at.text_input(key="optimizers.start").set_value("1,2,3").run()
    assert not at.exception
    assert any("Start" in e.value and "two numbers" in e.value for e in at.error)


def test_transfer_page_trains_and_reads_the_result():
    at = _app()
    at.switch_page("pages/transfer.py").run()
    assert not at.exception and at.title[0].value == "Transfer learning"
    assert all(w.help for w in [*at.selectbox, *at.slider, *at.number_input, *at.multiselect])
    at.slider(key="transfer.seeds").set_value(2)
    at.slider(key="transfer.epochs").set_value(3)
    at.slider(key="transfer.unfreeze_epochs").set_value(1)
    at.number_input(key="transfer.pretrain_steps").set_value(40)
    _button(at, "Train").click().run()
    assert not at.exception
    assert at.dataframe and any("seeds" in i.value or "seed" in i.value for i in at.info)


def test_transfer_clamps_n_and_cnn_offline_says_so(monkeypatch):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["target_size"] = "1000"
    at.run()
    at.switch_page("pages/transfer.py").run()
    assert any("clamped" in w.value for w in at.warning)
    at.button(key="transfer_cnn.train").click().run()
    assert not at.exception
    assert any("could not be downloaded" in i.value for i in at.info)
