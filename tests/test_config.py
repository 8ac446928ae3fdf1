"""The config schema: validation, string round trips, presets."""

import dataclasses

import pytest

from core.config import ConfigError, apply_preset, from_strings, to_strings
from core.engine import TrainConfig
from core.experiments import vanishing


def test_defaults_are_valid():
    TrainConfig()


@pytest.mark.parametrize("field,value", [("depth", 0), ("depth", 101), ("width", 3), ("lr", 0.0),
                                         ("activation", "swishy"), ("init", "glorot"), ("lr", float("nan"))])
def test_out_of_range_values_raise_with_the_field_name(field, value):
    with pytest.raises(ConfigError) as err:
        dataclasses.replace(TrainConfig(), **{field: value})
    assert err.value.option == field


def test_strings_round_trip():
    cfg = TrainConfig(depth=7, lr=0.03, activation="elu", clip_norm=2.5)
    assert from_strings(TrainConfig, to_strings(cfg)) == cfg
    assert to_strings(cfg, only_changed=True) == {"depth": "7", "lr": "0.03", "activation": "elu", "clip_norm": "2.5"}


def test_malformed_string_names_the_option():
    with pytest.raises(ConfigError, match="depth"):
        from_strings(TrainConfig, {"depth": "ten"})


def test_every_preset_is_a_valid_config():
    for name in vanishing.PRESETS:
        cfg = apply_preset(vanishing.Config, vanishing.PRESETS, name)
        for key, value in vanishing.PRESETS[name].items():
            assert getattr(cfg, key) == value
    with pytest.raises(ConfigError):
        apply_preset(vanishing.Config, vanishing.PRESETS, "nope")
