"""The lesson's checked claims on the page: what to look for, then ✓ or ✗ on the reader's own run."""

from __future__ import annotations

import streamlit as st

from core.claims import check_over_seeds, is_about
from core.experiment import Experiment
from core.i18n import _, language

from . import lesson as prose
from .controls import choose_preset
from .once import once


def _text(lesson: str, claim) -> str:
    return prose.sections(lesson).get(f"claim-{claim.id}", claim.id)


def _about(claim) -> str:
    return f"`{claim.preset}`" if claim.preset else _("the default settings")


def what_to_look_for(lesson: str, experiment: Experiment) -> None:
    """The claims as a list, each with the setup it is about; after a run they are checked."""
    if not experiment.claims:
        return
    with st.expander(_("What to look for: {count} claims, checked on your run after Train").format(
            count=len(experiment.claims))):
        st.markdown(_("Each claim is about one preset (click it to set the controls) and is checked on your own "
                      "run, and in the lab's tests on five seeds, together with a control: a setting where the "
                      "lab measures the claim false, so that it is a finding and not true by construction."))
        for i, c in enumerate(experiment.claims):
            left, right = st.columns([1, 4], vertical_alignment="center")
            if c.preset:
                left.button(c.preset, key=f"{experiment.name}.try.{i}", on_click=choose_preset,
                            args=(experiment, c.preset), width="stretch",
                            help=_("Set the controls to this preset; then press Train."))
            else:
                left.markdown(_("the default settings"))
            right.markdown(_text(lesson, c))
            if c.controls:
                right.caption(_("Measured false, as it must be, on: {controls}").format(
                    controls=", ".join(f"`{control.label(c)}`" for control in c.controls)))


def _line(lesson: str, claim, verdict, mine: bool) -> str:
    if verdict is None:
        mark, note = "–", _("this run does not record what the claim measures.")
    else:
        mark, note = ("✓" if verdict.holds else "✗"), verdict.evidence
    where = "" if mine else " *(" + _("about {setup}").format(setup=_about(claim)) + ")*"
    return f"- {mark} {_text(lesson, claim)} — {note}{where}"


def checked(lesson: str, experiment: Experiment, result) -> None:
    """The claims about this run's settings with ✓ or ✗ and the evidence measured on it; the
    others, measured on this run too, folded away and marked as being about other settings."""
    if not experiment.claims or not result.records or result.status == "unavailable":
        return
    if result.verdicts is None:  # a finished run's records are fixed: check once (for all its viewers: ui.once)
        result.verdicts = once(result.records, ("verdicts", language()), lambda: [
            (c, check_over_seeds(c, list(result.records)), is_about(experiment, c, result.config))
            for c in experiment.claims])
    rows = result.verdicts
    mine = [_line(lesson, c, v, True) for c, v, m in rows if m]
    others = [_line(lesson, c, v, False) for c, v, m in rows if not m]
    with st.container(border=True):
        if mine:
            st.markdown(_("**The claims about these settings, checked on this run** (✓ holds, ✗ does not)"))
            st.markdown("\n".join(mine))
        else:
            st.markdown(_("**No claim is about exactly these settings** (seed aside): pick a preset to check "
                        "one. What each claim measures on this run is below; after a change, a ✗ is "
                        "information, not an error."))
        if others:
            with st.expander(_("The other {count} claims, measured on this run").format(count=len(others))):
                st.markdown("\n".join(others))
