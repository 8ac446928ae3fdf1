"""Decimating buffers, the redraw frame, and the server's training slots."""

import math

import pytest

from core.records import Record
from ui.admission import Slots
from ui.buffers import LiveBuffers, SeriesBuffer, budget
from ui.live import charts_to_draw
from ui.results import ChartSpec


def test_series_buffer_is_bounded_keeps_shape_and_latest():
    buf = SeriesBuffer(50)
    for step in range(1, 10_001):
        buf.add(step, math.sin(step / 1000))
        assert len(buf.points) <= 100
    assert buf.latest == (10_000, math.sin(10))
    steps = [s for s, _ in buf.points]
    gaps = {b - a for a, b in zip(steps, steps[1:], strict=False)}
    assert len(gaps) == 1  # evenly spaced over the whole run
    assert steps[0] == 1 and steps[-1] > 9_500
    sample = buf.sample(50)
    assert len(sample) == 50 and sample[-1] == (10_000, math.sin(10)) and sample[0] == (1, math.sin(0.001))


def test_frame_size_does_not_grow_with_run_length():
    def frame_rows(steps):
        b = LiveBuffers()
        for s in range(1, steps + 1):
            b.add(Record("r", s, "loss", None, 1.0 / s))
            if s % 10 == 0:
                b.add(Record("r", s, "grad_norm", 1, 0.1))
        return len(b.frame())

    assert frame_rows(100) == budget("loss") + 10
    assert frame_rows(10_000) == frame_rows(100_000) == budget("loss") + budget("grad_norm")


def test_frame_filters_metrics_and_uses_compact_types():
    b = LiveBuffers()
    b.add(Record("r", 1, "loss", None, 2.0))
    b.add(Record("r", 1, "grad_norm", 3, 0.5))
    df = b.frame(["grad_norm"])
    assert list(df["metric"]) == ["grad_norm"] and df["layer"].iloc[0] == 3
    assert str(df["value"].dtype) == "float32"


def test_a_train_pressed_earlier_queues_ahead_of_later_ones_that_have_not_started():
    """Slots.join(pressed): the queue is in the order the Trains were pressed, whatever order their threads join in
    (a slower data check, the scheduler); a run that has started keeps its slot."""
    slots = Slots(1)
    a = slots.join(pressed=1.0)
    assert slots.try_start(a) == 0  # running
    c = slots.join(pressed=3.0)
    b = slots.join(pressed=2.0)  # pressed before c, joined after it
    d = slots.join(pressed=0.5)  # pressed before a, which runs already: first in the queue, not ahead of a
    assert [slots.try_start(t) for t in (d, b, c)] == [1, 2, 3]
    slots.leave(a)
    assert slots.try_start(c) == 3 and slots.try_start(d) == 0 and slots.try_start(b) == 1
    for t in (b, c, d):
        slots.leave(t)
    assert not slots.running and not slots.queue and not slots.pressed


def test_slots_queue_in_order():
    slots = Slots(1)
    a, b, c = slots.join(), slots.join(), slots.join()
    assert slots.try_start(b) == 2 and slots.try_start(a) == 0
    assert slots.try_start(b) == 1 and slots.try_start(c) == 2
    slots.leave(a)
    assert slots.try_start(b) == 0 and slots.try_start(c) == 1
    slots.leave(c)  # leaving the queue before starting frees the place
    slots.leave(b)
    assert not slots.running and not slots.queue


@pytest.mark.parametrize("draw_s", [0.0, 0.001, 0.05, 0.2, 1.3])
def test_redraws_take_at_most_their_share_of_the_wall_time(draw_s):
    from ui.live import DRAW_SHARE, MIN_GAP, redraw_gap

    gap = redraw_gap(draw_s)
    assert gap >= MIN_GAP
    assert draw_s / (gap + draw_s) <= DRAW_SHARE + 1e-9
    if draw_s * (1 - DRAW_SHARE) / DRAW_SHARE > MIN_GAP:  # no more training between redraws than the share needs
        assert draw_s / (gap + draw_s) == pytest.approx(DRAW_SHARE)


def _simulated_redraws(run_s: float, cost: float, steps: int = 500) -> tuple[int, float, float]:
    """train_live's redraw decisions on a run whose steps take run_s / steps seconds each and whose
    redraws take `cost`: (redraws, seconds spent redrawing, wall seconds)."""
    from ui.live import redraw_gap, within_budget

    clock = last_draw = drawn = last_cost = gap = 0.0
    redraws = 0
    for done in range(1, steps + 1):
        clock += run_s / steps
        if done >= 2 and clock - last_draw >= gap and within_budget(drawn, last_cost, clock, done, steps):
            clock += cost
            drawn, last_cost, last_draw, gap, redraws = drawn + cost, cost, clock, redraw_gap(cost), redraws + 1
    return redraws, drawn, clock


@pytest.mark.parametrize("run_s,cost", [(0.7, 0.12), (0.2, 0.3), (3.0, 0.2), (30.0, 0.15), (120.0, 1.3)])
def test_a_whole_run_spends_at_most_its_share_redrawing_beyond_its_first_redraw(run_s, cost):
    from ui.live import DRAW_SHARE

    redraws, drawn, wall = _simulated_redraws(run_s, cost)
    assert redraws >= 1  # the first point is always drawn
    assert drawn - cost <= DRAW_SHARE * wall + 1e-9  # the rest within the share of the whole run
    if run_s >= 30 * cost:  # a long run still redraws as often as the gap allows, less a few at its end
        assert redraws >= 0.8 * run_s / (cost / DRAW_SHARE)


def test_a_short_run_is_not_redrawn_again_just_before_its_end():
    redraws, _, _ = _simulated_redraws(0.7, 0.12)  # vanishing's default on this machine
    assert redraws == 1


def test_the_browsers_share_of_a_redraw_spaces_redraws_further():
    """Six charts redrawn from kept templates cost the server little; the browser's estimated share keeps the
    redraws as far apart as drawing them everywhere needs."""
    from ui.live import BROWSER_SECONDS_PER_CHART, DRAW_SHARE, redraw_gap

    server_s = 0.04
    whole = server_s + 6 * BROWSER_SECONDS_PER_CHART
    gap = redraw_gap(server_s, charts=6)
    assert gap > redraw_gap(server_s)
    assert whole / (gap + whole) == pytest.approx(DRAW_SHARE)


def test_a_picture_drawn_from_one_step_goes_first_and_the_curves_follow_with_two_steps():
    picture, curve = ChartSpec(lambda df: None, ("boundary",), at_start=True), ChartSpec(lambda df: None, ("loss",))
    charts = [curve, picture, curve]
    assert charts_to_draw(charts, 0, first=True) == []
    assert charts_to_draw(charts, 1, first=True) == [1]  # the picture alone, from the first step on
    assert charts_to_draw(charts, 5, first=True) == [1]  # alone even when the viewer first looks a few steps in
    assert charts_to_draw(charts, 1, first=False) == []  # after it: every chart, once a line can be drawn
    assert charts_to_draw(charts, 2, first=False) == [0, 1, 2]
    assert charts_to_draw(charts, 5, first=False) == [0, 1, 2]  # a viewer who joined: all at once
    assert charts_to_draw([curve, curve], 1, first=True) == []  # no picture: the first redraw waits for two steps
    assert charts_to_draw([curve, curve], 2, first=True) == [0, 1]
