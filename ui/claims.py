"""The lesson's checked claims on the page: what to look for, then ✓ or ✗ on the reader's own run."""

from __future__ import annotations

import streamlit as st

from core.claims import is_about
from core.experiment import Experiment

from . import lesson as prose


def _text(lesson: str, claim) -> str:
    return prose.sections(lesson).get(f"claim-{claim.id}", claim.id)


def _about(claim) -> str:
    return f"`{claim.preset}`" if claim.preset else "the default settings"


def what_to_look_for(lesson: str, experiment: Experiment) -> None:
    """The claims as a list, each with the setup it is about; after a run they are checked."""
    if not experiment.claims:
        return
    st.markdown("**What to look for.** Each claim is checked on your run after **Train**, and on five "
                "seeds in the lab's tests:")
    st.markdown("\n".join(f"- {_about(c)}: {_text(lesson, c)}" for c in experiment.claims))


def checked(lesson: str, experiment: Experiment, result) -> None:
    """Each claim with ✓ or ✗ and the evidence measured on this run; a claim about other settings
    says so (and still shows what this run measured, where it can)."""
    if not experiment.claims or not result.records or result.status == "unavailable":
        return
    lines = []
    for claim in experiment.claims:
        verdict = claim.check(result.records)
        mine = is_about(experiment, claim, result.config)
        if verdict is None:
            mark, note = "–", "this run does not record what the claim measures."
        else:
            mark, note = ("✓" if verdict.holds else "✗"), verdict.evidence
        where = "" if mine else f" *(This claim is about {_about(claim)}; your settings differ.)*"
        lines.append(f"- {mark} {_text(lesson, claim)} — {note}{where}")
    with st.container(border=True):
        st.markdown("**Checked on this run** (✓ holds, ✗ does not: a ✗ after you change a setting is "
                    "information, not an error)")
        st.markdown("\n".join(lines))
