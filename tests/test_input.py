"""Text from a URL or the command line: numbers are bounded ASCII decimals, messages quote it cut short and
escaped, markup is never rendered, and a wrong, repeated or unknown key is a message, not a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import config
from core.__main__ import main
from core.config import ConfigError, from_query, number
from core.engine import TrainConfig
from core.experiments import experiments
from ui.safe import plain

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("text", ["1" + "0" * 400, "1_0", "\u0665", "١٠", "0x10", "1e3", " ", "+", "--1"])
def test_integers_are_ascii_digits_of_bounded_length(text):
    with pytest.raises(ValueError):
        number(text.strip(), int)


@pytest.mark.parametrize("text,value", [("10", 10), ("+7", 7), ("-3", -3), ("007", 7)])
def test_integers_that_parse(text, value):
    assert number(text, int) == value


@pytest.mark.parametrize("text", ["inf", "nan", "1e", "1_0.5", "\u0661.5", "1" * 41])
def test_floats_are_plain_decimals(text):
    with pytest.raises(ValueError):
        number(text, float)


def test_a_huge_integer_is_refused_with_a_message_not_an_overflow():
    huge = 10 ** 400
    with pytest.raises(ConfigError, match="whole number between 1 and 100") as err:
        TrainConfig(depth=huge)  # the API path: no float formatting of the value
    assert len(str(err.value)) < 200
    exp = experiments()["vanishing"]
    cfg, _, errors = from_query(exp.config, exp.presets, {"depth": "9" * 400, "steps": "3.5"}, exp.check)
    assert cfg == exp.config() and {name for name, _ in errors} == {"depth", "steps"}
    assert all(len(message) < 200 for _, message in errors)


def test_messages_quote_user_text_cut_to_80_characters():
    exp = experiments()["vanishing"]
    _, _, errors = from_query(exp.config, exp.presets, {"activation": "x" * 150}, exp.check)
    assert "x" * 80 + "…" in errors[0][1] and "x" * 81 not in errors[0][1]


def test_prefix_options_are_not_taken_for_longer_ones(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "batchnorm", "--batch-size", "4"])
    assert exc.value.code == 2 and "unrecognized arguments: --batch-size" in capsys.readouterr().err


@pytest.mark.parametrize("text", [
    "[Session expired — Log in again](https://evil.example/login)",
    "![x](https://evil.example/pixel.png)",
    "<img src=https://evil.example/p.png>",
    ":red[alert] **bold** $x^2$ `code` https://evil.example\n# heading",
])
def test_plain_escapes_every_markup_character(text):
    shown = plain(text)
    # every ASCII punctuation character is preceded by a backslash, and no line breaks remain
    i = 0
    while i < len(shown):
        c = shown[i]
        if c == "\\":
            assert i + 1 < len(shown) and not shown[i + 1].isalnum()
            i += 2
            continue
        assert c.isalnum() or c.isspace() or ord(c) > 127, f"unescaped {c!r} in {shown!r}"
        assert c not in "\n\r"
        i += 1
    assert shown.replace("\\", "").replace("\u200b", "") == text.replace("\n", " ").replace("\\", "")


def test_a_url_value_is_shown_escaped_in_the_warning():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "lab.py"), default_timeout=60)
    at.query_params["activation"] = "[Log in again](https://evil.example)"
    at.run()
    at.switch_page("pages/vanishing.py").run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("evil" in w for w in warnings)
    assert all("](" not in w and "\\[" in w for w in warnings if "evil" in w)


def test_a_repeated_url_key_is_refused_with_a_message():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "lab.py"), default_timeout=60)
    at.query_params["depth"] = ["5", "6"]
    at.run()
    at.switch_page("pages/vanishing.py").run()
    assert not at.exception
    assert any("given 2 times" in w.value.replace("\\", "") for w in at.warning)
    assert at.slider(key="vanishing.depth").value == 10


def test_a_value_of_the_wrong_type_names_the_type():
    with pytest.raises(ConfigError, match="must be a whole number between 1 and 100000 \\(got '3.5'\\)"):
        config.parse(next(f for f in config.specs(TrainConfig) if f.name == "steps"), "3.5")


def test_an_unknown_url_key_is_ignored_quietly():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "lab.py"), default_timeout=60)
    at.query_params["utm_source"] = "newsletter"
    at.query_params["depth"] = "4"
    at.run()
    at.switch_page("pages/vanishing.py").run()
    assert not at.exception and not at.warning
    assert at.slider(key="vanishing.depth").value == 4

