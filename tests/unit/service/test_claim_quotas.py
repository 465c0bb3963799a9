"""The dispatcher's per-agency claim quotas: fair turns, in-flight caps, disabled agencies."""

from __future__ import annotations

import time
from collections import namedtuple
from typing import Any

from gateway.domain.messages import in_turns
from gateway.mapping.profiles import AgencyProfile, Catalogue, Rule
from gateway.service.delivery.dispatcher import Dispatcher, DispatchSettings
from gateway.service.directory import Directory
from gateway.service.orders.agency_updates import AgencyUpdates
from gateway.service.orders.transitions import OrderSteps
from gateway.store.claims import within_quotas


def dispatcher(**concurrency: int) -> Dispatcher:
    profiles = {
        name.replace("_", "-"): AgencyProfile(
            id=name.replace("_", "-"), name=name, transport="memory", concurrency=n
        )
        for name, n in concurrency.items()
    }
    catalogue = Catalogue(version="t", rules=(Rule(id="r", agencies=(next(iter(profiles)),)),))
    store: Any = None
    directory = Directory(profiles, catalogue)
    updates = AgencyUpdates(directory, OrderSteps(directory, time.time), time.time)
    return Dispatcher(store, directory, {}, {}, DispatchSettings(owner="t"), updates)


def test_each_agency_may_take_up_to_every_free_slot() -> None:
    quotas = dispatcher(tax=8, city=8, water=2)._quotas(free=7, disabled=set(), in_flight={})
    assert quotas == {"tax": 7, "city": 7, "water": 4}


def test_free_slots_are_given_out_in_turn_among_the_agencies_with_handoffs_due() -> None:
    assert in_turns({"tax": 16, "city": 16, "water": 16}, 7) == {"tax": 3, "city": 2, "water": 2}
    # an agency with nothing due leaves its turns to the others: a backlog gets the room
    assert in_turns({"tax": 16, "city": 0, "water": 1}, 7) == {"tax": 6, "water": 1}
    assert in_turns({"tax": 2, "city": 1}, 64) == {"tax": 2, "city": 1}


def test_turns_start_where_the_caller_says_so_agencies_late_in_the_order_come_first_too() -> None:
    wanted = {"tax": 8, "city": 8, "water": 8, "fire": 8}
    assert in_turns(wanted, 1, first=0) == {"tax": 1}
    assert in_turns(wanted, 2, first=2) == {"water": 1, "fire": 1}
    assert in_turns(wanted, 2, first=7) == {"fire": 1, "tax": 1}  # counted round
    assert in_turns(wanted, 5, first=1) == {"city": 2, "water": 1, "fire": 1, "tax": 1}


def test_claims_cut_to_one_slot_in_a_row_reach_every_agency_with_handoffs_due() -> None:
    """A saturated dispatcher frees a slot or two at a time: consecutive cut claims take
    turns at which agency goes first, so none waits while earlier ones have work due."""
    Row = namedtuple("Row", "agency seq")
    rows = [Row(agency, n) for n in range(8) for agency in ("tax", "city", "water", "fire")]
    quotas = dict.fromkeys(("tax", "city", "water", "fire"), 8)
    served = [within_quotas(rows, quotas, limit=1)[0].agency for _ in range(4)]
    assert sorted(served) == ["city", "fire", "tax", "water"]


def test_an_agency_gets_at_most_twice_its_concurrency_in_flight() -> None:
    ready = dispatcher(tax=2, city=8)
    in_flight = {"tax": 3}  # one slot left of 2 × 2
    assert ready._quotas(free=64, disabled=set(), in_flight=in_flight) == {"tax": 1, "city": 16}


def test_disabled_and_saturated_agencies_get_nothing() -> None:
    ready = dispatcher(tax=2, city=8, water=4)
    assert ready._quotas(free=64, disabled={"tax"}, in_flight={"water": 8}) == {"city": 16}
