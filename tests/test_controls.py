"""URL query parameters -> field values, with a clear message per bad one."""

from core.engine import TrainConfig
from core.experiments import vanishing
from ui.controls import CUSTOM, read_query


def test_valid_query_sets_values_and_preset():
    values, preset, errors = read_query(TrainConfig, vanishing.PRESETS, {"preset": "relu-he", "depth": "20"})
    assert preset == "relu-he" and not errors
    assert values["activation"] == "relu" and values["init"] == "he_normal" and values["depth"] == 20


def test_bad_query_values_keep_defaults_and_say_why():
    query = {"depth": "999", "lr": "fast", "activation": "swish2", "preset": "nope", "unknown": "x"}
    values, preset, errors = read_query(TrainConfig, vanishing.PRESETS, query)
    assert preset == CUSTOM
    assert values == {f: getattr(TrainConfig(), f) for f in values}
    assert len(errors) == 4
    assert any("depth='999'" in e and "between 1 and 100" in e for e in errors)
    assert any("preset='nope'" in e for e in errors)
