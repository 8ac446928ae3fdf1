"""URL query parameters -> a whole config, with a clear message per bad parameter."""

from core.experiments import transfer, vanishing
from ui import controls
from ui.controls import CUSTOM, namespaced

VANISHING = vanishing.EXPERIMENT


def read_query(experiment, query, ns=""):
    """What the page reads from a link for this experiment (the preset CUSTOM where none is named)."""
    cfg, preset, problems = controls.read_query(experiment.config, experiment.presets, experiment.check,
                                                namespaced(query, ns))
    return cfg, preset or CUSTOM, problems


def test_valid_query_sets_values_and_preset():
    cfg, preset, errors = read_query(VANISHING, {"preset": "relu-he", "depth": "20"})
    assert preset == "relu-he" and not errors
    assert cfg.activation == "relu" and cfg.init == "he_normal" and cfg.depth == 20


def test_bad_query_values_keep_defaults_and_say_why():
    query = {"depth": "999", "lr": "fast", "activation": "swish2", "preset": "nope", "unknown": "x"}
    cfg, preset, errors = read_query(VANISHING, query)
    assert preset == CUSTOM and cfg == vanishing.Config()
    assert len(errors) == 4
    assert any("depth='999'" in e and "between 1 and 100" in e for e in errors)
    assert any("preset='nope'" in e for e in errors)


def test_cross_field_values_are_checked_together_not_against_the_defaults():
    cfg, _, errors = read_query(transfer.EXPERIMENT, {"depth": "8", "reuse_layers": "5"})
    assert not errors and (cfg.depth, cfg.reuse_layers) == (8, 5)
    cfg, _, errors = read_query(VANISHING, {"rrelu_lower": "0.5", "rrelu_upper": "0.9"})
    assert not errors and (cfg.rrelu_lower, cfg.rrelu_upper) == (0.5, 0.9)


def test_a_conflict_drops_the_value_the_url_set_and_keeps_the_rest():
    # reuse_layers (default 3) must not exceed depth: the URL's depth=2 is what conflicts
    cfg, _, errors = read_query(transfer.EXPERIMENT, {"depth": "2", "epochs": "17"})
    assert cfg.depth == transfer.Config().depth and cfg.epochs == 17
    assert len(errors) == 1 and errors[0].startswith("depth='2'")
    cfg, _, errors = read_query(transfer.EXPERIMENT, {"reuse_layers": "9", "seeds": "2"})
    assert cfg.reuse_layers == 3 and cfg.seeds == 2 and errors[0].startswith("reuse_layers='9'")


def test_checks_that_need_the_data_apply_to_the_url():
    cfg, _, errors = read_query(transfer.EXPERIMENT, {"target_size": "1000", "seeds": "3"})
    assert cfg.target_size == transfer.Config().target_size and cfg.seeds == 3
    assert errors and "target_size='1000'" in errors[0] and "task B has" in errors[0]


def test_namespaces_keep_control_groups_apart():
    query = {"steps": "5", "optimizers-net.steps": "7", "optimizers-net.fair": "true", "lang": "ko"}
    assert namespaced(query, "") == {"steps": "5", "lang": "ko"}
    assert namespaced(query, "optimizers-net") == {"steps": "7", "fair": "true"}
