"""The registry: every lesson, in page order. A new lesson is its own files plus one line here.

Navigation, the headless runner, the tests, the benchmarks and the home page all loop over it.
"""

from __future__ import annotations

from ..experiment import Experiment, Lesson
from . import activations, batchnorm, optimizers, transfer, vanishing

LESSONS: list[Lesson] = [
    vanishing.LESSON,
    activations.LESSON,
    batchnorm.LESSON,
    transfer.LESSON,
    optimizers.LESSON,
]


def experiments() -> dict[str, Experiment]:
    """Every experiment of every lesson, by name (read at call time, so a registered lesson shows)."""
    return {e.name: e for lesson in LESSONS for e in lesson.experiments}


def lesson_of(experiment: Experiment) -> Lesson:
    """The lesson whose page runs `experiment` (a lesson of its own if none is registered)."""
    found = next((lesson for lesson in LESSONS if experiment in lesson.experiments), None)
    return found or Lesson(experiment.name, experiment.title, experiment.summary, (experiment,))
