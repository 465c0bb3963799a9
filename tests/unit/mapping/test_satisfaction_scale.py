"""The revisit's satisfaction score on each agency's own scale (issue 15, point 7)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.domain.messages import HotlineEvent
from gateway.domain.workorder import WorkOrder
from gateway.service.delivery import envelopes
from tests.unit.service.world import CITY, directory, submitted


@pytest.mark.parametrize(("best", "ours", "theirs"), [(5, 5, 5), (5, 1, 1), (1, 5, 1), (1, 2, 4)])
def test_a_revisit_score_is_turned_round_for_an_agency_whose_best_is_one(
    best: int, ours: int, theirs: int
) -> None:
    profile = directory().profile(CITY).model_copy(update={"satisfaction_best": best})
    order = WorkOrder(**submitted().model_dump(), id="wo_1")
    revisit = HotlineEvent(
        type="revisit", event_id="e1", occurred_at=datetime.now(UTC), satisfaction=ours
    )
    assert envelopes.event(order, profile, revisit)["satisfaction"] == theirs


def test_a_profile_may_only_name_one_or_five_as_best() -> None:
    with pytest.raises(ValueError, match="satisfaction_best"):
        directory().profile(CITY).model_validate(
            {**directory().profile(CITY).model_dump(), "satisfaction_best": 3}
        )
