"""The agencies Lianxin knows and the catalogue that routes to them, looked up by name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from gateway.domain.errors import UnknownAgency
from gateway.domain.messages import HOTLINE
from gateway.mapping.loader import Mappings, suggestion
from gateway.mapping.profiles import AgencyProfile, Catalogue, DeadlinePolicy
from gateway.service.ports.crypto import FieldCipher


@dataclass(frozen=True)
class Directory:
    """Validated agency profiles (the hotline platform included) and the active catalogue."""

    profiles: dict[str, AgencyProfile]
    catalogue: Catalogue
    deadlines: tuple[DeadlinePolicy, ...] = ()
    ciphers: Mapping[str, FieldCipher] = field(default_factory=dict)

    @classmethod
    def from_mappings(cls, mappings: Mappings) -> Directory:
        """A directory over what the mapping loader validated."""
        return cls(
            profiles=dict(mappings.agencies),
            catalogue=mappings.catalogue,
            deadlines=mappings.deadlines,
        )

    def deadline_policy(self, division_code: str | None) -> DeadlinePolicy | None:
        """The policy with the longest division prefix matching, else the default one."""
        code = division_code or ""
        matching = [
            (len(prefix), policy)
            for policy in self.deadlines
            for prefix in policy.divisions
            if code.startswith(prefix)
        ]
        if matching:
            return max(matching, key=lambda pair: pair[0])[1]
        return next((p for p in self.deadlines if not p.divisions), None)

    def profile(self, agency: str) -> AgencyProfile:
        """The profile named `agency`, or UnknownAgency with a suggestion."""
        try:
            return self.profiles[agency]
        except KeyError:
            raise UnknownAgency(
                f"no agency profile named '{agency}'" + suggestion(agency, self.profiles),
                agency=agency,
            ) from None

    def cipher_for(self, agency: str) -> FieldCipher | None:
        """The field cipher of an agency whose profile requires field encryption."""
        return self.ciphers.get(agency)

    @cached_property
    def agency_ids(self) -> frozenset[str]:
        """Every agency an order may be routed to (not the hotline, not an alert channel).
        Made once, on the first intake: a directory's profiles are never changed (another
        set of profiles is another directory: `dataclasses.replace`)."""
        return frozenset(
            name for name, p in self.profiles.items() if name != HOTLINE and not p.alert_channel
        )

    @property
    def alert_channels(self) -> list[AgencyProfile]:
        """The profiles that receive escalations and deadline cards besides the hotline."""
        return [p for p in self.profiles.values() if p.alert_channel]
