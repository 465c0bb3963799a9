"""`bench.hot_path render`: intake's own `accept` on a unit of work that keeps nothing."""

from __future__ import annotations

from contextvars import copy_context

from bench.hot_path import bench_render, built_app
from bench.orders import consult
from bench.scratch import ScratchUnitOfWork
from gateway.domain.audit import GENESIS
from gateway.domain.workorder import WorkOrderIn


def test_intake_accepts_a_new_order_on_the_scratch_unit_of_work_and_links_its_entry() -> None:
    with built_app() as app:
        intake = app.state.gateway.intake
    uow, submitted = ScratchUnitOfWork(), WorkOrderIn.model_validate(consult("render-1"))
    result = copy_context().run(intake.accept, uow, submitted)  # its log binding stays there
    assert result.created and result.handoff_ids
    assert uow.audit.seq >= 1 and uow.audit.head != GENESIS


def test_the_render_figure_is_measured() -> None:
    assert bench_render(3, 1) > 0
