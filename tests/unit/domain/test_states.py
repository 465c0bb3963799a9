from __future__ import annotations

import pytest

from gateway.domain.errors import IllegalTransition, InputError
from gateway.domain.states import (
    TERMINAL,
    TRANSITIONS,
    Actor,
    Status,
    check_transition,
    transition_table,
)


def test_the_main_loop_is_legal_step_by_step() -> None:
    path = [
        (Status.received, Status.dispatched, Actor.system),
        (Status.dispatched, Status.signed, Actor.agency),
        (Status.signed, Status.in_progress, Actor.agency),
        (Status.in_progress, Status.replied, Actor.agency),
        (Status.replied, Status.resolved, Actor.hotline),
        (Status.resolved, Status.revisited, Actor.hotline),
        (Status.revisited, Status.archived, Actor.hotline),
    ]
    for current, target, actor in path:
        check_transition(current, target, actor, None)


def test_skipping_signing_is_refused() -> None:
    with pytest.raises(IllegalTransition, match="'dispatched' → 'in_progress'"):
        check_transition(Status.dispatched, Status.in_progress, Actor.agency, None)


def test_an_agency_may_not_revisit() -> None:
    with pytest.raises(IllegalTransition, match="agency may not set 'revisited'"):
        check_transition(Status.resolved, Status.revisited, Actor.agency, None)


def test_a_return_without_a_reason_is_refused() -> None:
    with pytest.raises(InputError, match="needs a reason"):
        check_transition(Status.signed, Status.returned, Actor.agency, "  ")


def test_a_return_with_a_reason_is_legal() -> None:
    check_transition(Status.signed, Status.returned, Actor.agency, "不属于本单位职责")


def test_nothing_leaves_a_terminal_state() -> None:
    for terminal in TERMINAL:
        for target, (_actors, sources) in TRANSITIONS.items():
            if target != Status.archived or terminal != Status.cancelled:
                assert terminal not in sources or target == Status.archived


def test_no_transition_leads_back_to_received() -> None:
    with pytest.raises(IllegalTransition):
        check_transition(Status.dispatched, Status.received, Actor.hotline, None)


def test_every_status_but_received_can_be_reached() -> None:
    reachable = {row[1] for row in transition_table()}
    assert reachable == {s.value for s in Status} - {"received"}
