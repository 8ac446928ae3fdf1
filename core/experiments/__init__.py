"""The registry: every lesson, in page order. A new lesson is its own files plus one line here (or, kept
outside the tree with its own prose and catalog in `Lesson.home`, its module named in $DNLAB_LESSONS).

Navigation, the headless runner, the tests, the benchmarks and the home page all loop over it.
"""

from __future__ import annotations

import importlib
import os

from ..experiment import Experiment, Lesson
from ..i18n import add_catalog
from . import activations, batchnorm, optimizers, playground, transfer, vanishing

LESSONS: list[Lesson] = [
    vanishing.LESSON,
    activations.LESSON,
    batchnorm.LESSON,
    transfer.LESSON,
    optimizers.LESSON,
    playground.LESSON,
]
PLUGINS = "DNLAB_LESSONS"  # comma-separated modules, each with a LESSON: lessons kept outside the tree


def plugged_in(modules: str) -> list[Lesson]:
    """The LESSON of each module named (importable from the working folder); a bad name raises ImportError
    saying which variable named it."""
    found = []
    for name in filter(None, (m.strip() for m in modules.split(","))):
        try:
            lesson = importlib.import_module(name).LESSON
        except (ImportError, AttributeError) as exc:
            raise ImportError(f"{PLUGINS} names {name!r}, which is not a module with a LESSON: {exc}") from exc
        if lesson.home is not None:
            add_catalog(lesson.home / "locales")
        found.append(lesson)
    return found


LESSONS += plugged_in(os.environ.get(PLUGINS, ""))


def experiments() -> dict[str, Experiment]:
    """Every experiment of every lesson, by name (read at call time, so a registered lesson shows)."""
    return {e.name: e for lesson in LESSONS for e in lesson.experiments}


def lesson_of(experiment: Experiment) -> Lesson:
    """The lesson whose page runs `experiment` (a lesson of its own if none is registered)."""
    found = next((lesson for lesson in LESSONS if experiment in lesson.experiments), None)
    return found or Lesson(experiment.name, experiment.title, experiment.summary, (experiment,))
