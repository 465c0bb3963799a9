"""Agency profiles and routing catalogues: the data in mappings/, as validated models.

An agency profile says how to reach one agency (transport, endpoint, timeouts), how to
sign for it and verify it, how its status codes map onto ours, how its payload is
shaped, and how to retry. A catalogue says which orders go to which agencies. Both are
data: a new agency is a new file, not new code.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.domain.messages import Lane
from gateway.domain.states import Status
from gateway.domain.workorder import Category, Urgency

#: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (Standard Webhooks)
DEFAULT_SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
AGENCY_ID = r"^[a-z0-9][a-z0-9\-]{1,48}$"
TOPIC_LEVELS = r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*$"  # no wildcards, no empty levels


class Model(BaseModel):
    """Mapping models refuse unknown keys so a typo is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RetryPolicy(Model):
    """When to try a failed delivery again, and when to give up."""

    schedule: tuple[float, ...] = Field(default=DEFAULT_SCHEDULE, min_length=1)
    jitter: float = Field(default=0.2, ge=0, le=0.5)
    throttle_floor: float = Field(
        default=60.0,
        ge=0,
        description="a 429, or a 503 with Retry-After, waits at least this long (s)",
    )

    @field_validator("schedule")
    @classmethod
    def _non_negative(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(delay < 0 for delay in value):
            raise ValueError("delays must be >= 0 seconds")
        return value


class CircuitPolicy(Model):
    """When to stop sending to a failing agency for a while (normal lane only; opt-in).

    The alert settings below apply with or without the breaker: without it, `consecutive`
    failures in a row raise `agency_failing` (docs/operations.md, "Alerts")."""

    enabled: bool = False
    failure_ratio: float = Field(default=0.7, gt=0, le=1, description="open at this share…")
    min_attempts: int = Field(default=10, ge=1, description="…of at least this many attempts")
    window: int = Field(default=20, ge=1, le=1000, description="the last N attempts looked at")
    consecutive: int = Field(default=10, ge=1, description="or after this many failures in a row")
    cool_down: float = Field(default=30.0, gt=0, description="seconds open before one probe")
    disable_after_days: float | None = Field(
        default=None, gt=0, le=365, description="disable after only failures this long; off"
    )
    exhausted_alert_interval: float = Field(
        default=3600.0, ge=0, le=86_400 * 7, description="at most one agency_exhausted per (s)"
    )


class SigningPolicy(Model):
    """How our outbound messages to this agency are signed."""

    scheme: str = Field(
        default="v1a",
        pattern=r"^(v1a|v1|v1sm3)$",
        description="v1a Ed25519 (ours), v1 HMAC-SHA256 or v1sm3 HMAC-SM3 (shared secret)",
    )


class InboundPolicy(Model):
    """Keys that verify this agency's messages to us (public keys may sit in the file)."""

    public_keys: tuple[str, ...] = ()
    tolerance: float = Field(default=300.0, gt=0, le=3600)

    @field_validator("public_keys")
    @classmethod
    def _only_public(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for key in value:
            if not key.startswith("whpk_"):
                raise ValueError("only public keys (whpk_…) belong in a mapping file")
        return value


class FieldRule(Model):
    """One target field: copied from a path (optionally through a code table), a constant,
    or a template such as "{CJCZQK}；{JQCLJGSM}" over top-level fields."""

    source: str | None = Field(default=None, description="dotted path in the source document")
    codes: str | None = Field(default=None, description="name of a code table")
    const: str | int | bool | None = None
    template: str | None = None
    otherwise: str | None = Field(
        default=None,
        description="with 'codes': sent when the value is missing or not in the table "
        "(without it, an unknown code refuses the order)",
    )

    @model_validator(mode="after")
    def _one_origin(self) -> FieldRule:
        given = [x for x in (self.source, self.const, self.template) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'source', 'const' or 'template'")
        if self.otherwise is not None and self.codes is None:
            raise ValueError("'otherwise' goes with 'codes'")
        return self


class SoapEvent(Model):
    """How one hotline event is told to a SOAP agency: which operation, which fields."""

    operation: str = Field(min_length=1)
    fields: dict[str, FieldRule] = Field(default_factory=dict)


class SoapInbound(Model):
    """How one operation the agency calls on Lianxin becomes one of our messages."""

    message: Literal["transfer", "status"]
    status: str | None = Field(
        default=None, description="the agency status it stands for (else a 'status' field)"
    )
    fields: dict[str, FieldRule] = Field(description="our dotted path → their element")
    reply_id: str | None = Field(default=None, description="response element for our order id")


class SoapPolicy(Model):
    """The SOAP contract of one agency: its service, and the service Lianxin hosts for it."""

    wsdl: str = Field(description="the agency's WSDL, relative to the mappings directory")
    transfer_operation: str = Field(min_length=1)
    events: dict[str, SoapEvent] = Field(default_factory=dict)
    inbound_wsdl: str | None = None
    inbound: dict[str, SoapInbound] = Field(default_factory=dict)
    max_message_bytes: int = Field(default=262_144, ge=1024, le=10_485_760)


class MqttTls(Model):
    """TLS towards the broker: the CA that signed it, and our client certificate if it asks."""

    ca: str | None = Field(default=None, description="CA bundle (PEM) file")
    cert: str | None = Field(default=None, description="client certificate (PEM) file")
    key: str | None = Field(default=None, description="client private key (PEM) file")

    @model_validator(mode="after")
    def _pair(self) -> MqttTls:
        if (self.cert is None) != (self.key is None):
            raise ValueError("give both 'cert' and 'key', or neither")
        return self


class MqttPolicy(Model):
    """How one utility is reached over MQTT; an unset value takes the LIANXIN_MQTT_* setting."""

    topic_prefix: str | None = Field(default=None, pattern=TOPIC_LEVELS)
    share_group: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-]+$")
    qos: Literal[1, 2] = 1
    client_id_prefix: str = Field(default="lianxin", pattern=r"^[A-Za-z0-9_\-]{1,23}$")
    session_expiry: int | None = Field(default=None, ge=0, le=4_294_967_295, description="s")
    keepalive: int | None = Field(default=None, ge=5, le=65_535, description="seconds")
    max_message_bytes: int | None = Field(default=None, ge=1024, le=268_435_455)
    tls: MqttTls | None = None


class HttpTls(Model):
    """TLS towards an agency over HTTPS: the CA that signed it, our client certificate if it
    demands one (mutual TLS). Paths are read as given (relative to the working directory)."""

    ca: str | None = Field(default=None, description="CA bundle (PEM); unset: the system CAs")
    cert: str | None = Field(default=None, description="our client certificate (PEM) file")
    key: str | None = Field(default=None, description="its private key (PEM) file")

    @model_validator(mode="after")
    def _pair(self) -> HttpTls:
        if (self.cert is None) != (self.key is None):
            raise ValueError("give both 'cert' and 'key', or neither")
        return self


class HttpPolicy(Model):
    """How the one outbound HTTP client reaches an agency (transports rest, soap, portal)."""

    tls: HttpTls | None = None
    proxy: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="http://host:port; unset: HTTPS_PROXY / HTTP_PROXY / NO_PROXY",
    )
    connect_timeout: float = Field(default=5.0, gt=0, le=60, description="seconds")
    idle_seconds: float = Field(
        default=15.0, gt=0, le=3600, description="a kept-alive connection idle longer is closed"
    )
    max_response_bytes: int = Field(default=1_048_576, ge=1024, le=104_857_600)
    max_connections: int | None = Field(
        default=None, ge=1, le=1024, description="unset: the profile's concurrency"
    )


class PortalPolicy(Model):
    """A government-portal message board (市长信箱, 网民留言板): how it is pulled and answered."""

    mode: Literal["pull", "push"] = Field(
        default="pull", description="pull: we poll the board; push: it posts to /v1/inbound"
    )
    poll_interval: float = Field(default=60.0, gt=0, le=86_400, description="seconds")
    page_size: int = Field(default=50, ge=1, le=500)
    messages_path: str = Field(default="/messages", pattern=r"^/")
    items_field: str = Field(default="messages", min_length=1)
    cursor_field: str = Field(default="next_cursor", min_length=1)
    id_field: str = Field(default="id", min_length=1, description="the board's message id")
    fields: dict[str, FieldRule] = Field(
        default_factory=dict, description="our dotted path → the board's field"
    )
    category: Category = Category.help
    matter_code: str | None = Field(default=None, max_length=64)
    division_code: str = Field(pattern=r"^\d{6}$", description="行政区划 of the board's city")
    channel: str = Field(default="portal", min_length=1, max_length=32)
    utc_offset: str = Field(default="+08:00", pattern=r"^[+-]\d{2}:\d{2}$")
    reply_path: str = Field(default="/messages/{message_id}/replies", pattern=r"^/")
    correction_path: str = Field(default="/replies/{reply_id}", pattern=r"^/")
    reply_fields: dict[str, FieldRule] = Field(
        default_factory=dict, description="the board's reply field → our feedback event"
    )


class FieldEncryption(Model):
    """Payload fields the agency requires encrypted (the national algorithms: SM4-GCM)."""

    algorithm: Literal["SM4-GCM"] = "SM4-GCM"
    fields: tuple[str, ...] = Field(
        min_length=1, description="dotted paths in the payload the agency receives"
    )


class EmergencyPolicy(Model):
    """119/120: the agency must acknowledge (accept or reject) within a deadline, or we escalate."""

    acknowledge_seconds: int = Field(
        default=60, ge=1, le=3600, description="from intake to the agency's first answer"
    )


class AgencyProfile(Model):
    """Everything Lianxin knows about one agency."""

    id: str = Field(pattern=AGENCY_ID)
    name: str = Field(min_length=1)
    transport: str = Field(min_length=1)
    endpoint: str = Field(default="", description="overridable by LIANXIN_AGENCY_ENDPOINTS")
    timeout: float = Field(default=10.0, gt=0, le=300)
    concurrency: int = Field(default=8, ge=1, le=256)
    lane: Lane = Lane.normal
    signing: SigningPolicy = SigningPolicy()
    inbound: InboundPolicy = InboundPolicy()
    retry: RetryPolicy = RetryPolicy()
    circuit: CircuitPolicy = CircuitPolicy()
    status_map: dict[str, Status] = Field(default_factory=dict)
    satisfaction_best: Literal[1, 5] = Field(
        default=5,
        description="the score that means 非常满意 on this agency's 1–5 scale; Lianxin's own "
        "scale has 5 = 非常满意, and a revisit's score is turned round for an agency whose 1 is",
    )
    code_tables: dict[str, dict[str, str]] = Field(default_factory=dict)
    payload: dict[str, FieldRule] = Field(
        default_factory=dict, description="target dotted path → rule; empty sends our schema"
    )
    bilateral: str | None = Field(
        default=None, description="bilateral catalogue file whose code tables this agency uses"
    )
    soap: SoapPolicy | None = None
    mqtt: MqttPolicy | None = None
    emergency: EmergencyPolicy | None = None
    field_encryption: FieldEncryption | None = None
    alert_channel: bool = Field(
        default=False, description="receives escalations and deadline cards, not orders"
    )
    portal: PortalPolicy | None = None
    http: HttpPolicy = HttpPolicy()

    def field_maps(self) -> dict[str, dict[str, FieldRule]]:
        """Every field map of the profile, by where it sits in the file."""
        maps = {"payload": self.payload}
        if self.soap is not None:
            maps |= {f"soap.events.{k}.fields": v.fields for k, v in self.soap.events.items()}
            maps |= {f"soap.inbound.{k}.fields": v.fields for k, v in self.soap.inbound.items()}
        if self.portal is not None:
            maps |= {"portal.fields": self.portal.fields}
            maps |= {"portal.reply_fields": self.portal.reply_fields}
        return maps

    @model_validator(mode="after")
    def _emergency_on_its_lane(self) -> AgencyProfile:
        if self.emergency is not None and self.lane != Lane.emergency:
            raise ValueError("an [emergency] agency needs lane = 'emergency'")
        return self

    @model_validator(mode="after")
    def _mqtt_only_for_mqtt(self) -> AgencyProfile:
        if self.mqtt is not None and self.transport != "mqtt":
            raise ValueError(f"an [mqtt] table needs transport 'mqtt', not '{self.transport}'")
        return self

    @model_validator(mode="after")
    def _portal_only_for_portal(self) -> AgencyProfile:
        if (self.portal is not None) != (self.transport == "portal"):
            raise ValueError("transport 'portal' and a [portal] table go together")
        return self

    @model_validator(mode="after")
    def _codes_exist(self) -> AgencyProfile:
        if self.bilateral:
            return self  # its code tables arrive with the bilateral file; checked by the loader
        check_code_tables(self)
        return self

    def status_for(self, code: str) -> Status | None:
        """Our status for the agency's code (their own word, or ours verbatim)."""
        if code in self.status_map:
            return self.status_map[code]
        return Status(code) if code in Status.__members__ else None


def check_code_tables(profile: AgencyProfile) -> None:
    """Raise ValueError when a field rule names a code table the profile does not have."""
    for where, rules in profile.field_maps().items():
        for target, rule in rules.items():
            if rule.codes and rule.codes not in profile.code_tables:
                raise ValueError(f"{where}.{target}: no code table named '{rule.codes}'")


class BilateralItem(Model):
    """One matter of a bilateral catalogue: our matter code ↔ the partner's category code."""

    matter_code: str = Field(min_length=1)
    partner_code: str = Field(min_length=1)
    partner_name: str = Field(min_length=1)
    category: Category = Category.help
    item: str = Field(min_length=1, description="the catalogue's wording of the matter")


class BilateralCatalogue(Model):
    """What goes which way between the hotline and one partner (e.g. 12345 ↔ 110)."""

    version: str = Field(min_length=1)
    partner: str = Field(min_length=1)
    description: str = ""
    to_partner: tuple[BilateralItem, ...] = Field(min_length=1)
    to_hotline: tuple[BilateralItem, ...] = Field(min_length=1)


CardTierName = Literal["warning", "overdue", "seriously_overdue"]


class CardTier(Model):
    """One card of a deadline: its tier, the city's name and colour for it, and what follows.

    `warning` fires when `at` of the allowed time is gone, `overdue` at the deadline,
    `seriously_overdue` `after_working_days` working days after it. `supervise` raises 督办
    automatically when the card fires.
    """

    tier: CardTierName
    name: str = Field(min_length=1, max_length=20, description="e.g. 黄牌, 红牌")
    colour: str = Field(pattern=r"^[a-z]{2,16}$", description="e.g. yellow, red")
    at: float | None = Field(default=None, gt=0, lt=1, description="warning only")
    after_working_days: int | None = Field(
        default=None, ge=1, le=60, description="seriously_overdue only"
    )
    supervise: bool = False

    @model_validator(mode="after")
    def _timing_fits_the_tier(self) -> CardTier:
        if (self.tier == "warning") != (self.at is not None):
            raise ValueError("'at' is given with the warning tier, and only with it")
        if (self.tier == "seriously_overdue") != (self.after_working_days is not None):
            raise ValueError(
                "'after_working_days' is given with seriously_overdue, and only with it"
            )
        return self


class OriginLimits(Model):
    """Deadlines for the orders an agency (110, a portal board) transfers to the hotline."""

    acknowledge_minutes: int | None = Field(default=None, gt=0, le=100_000)
    resolve_working_days: dict[Category, int] | None = None


class DeadlinePolicy(Model):
    """One jurisdiction's deadlines: sign-for in minutes, resolve in working days by category."""

    id: str = Field(min_length=1)
    description: str = ""
    divisions: tuple[str, ...] = Field(default=(), description="prefixes; empty = the default")
    time_zone: str = Field(default="Asia/Shanghai", description="whose days are counted")
    acknowledge_minutes: int = Field(gt=0, le=100_000)
    resolve_working_days: dict[Category, int]
    yellow_at: float = Field(
        default=0.8, gt=0, lt=1, description="share of the allowed time gone at the yellow card"
    )
    cards: tuple[CardTier, ...] = Field(
        default=(), description="empty: a yellow warning at yellow_at and a red card when overdue"
    )
    origins: dict[str, OriginLimits] = Field(
        default_factory=dict, description="by transferring agency, e.g. police-110"
    )

    @field_validator("resolve_working_days")
    @classmethod
    def _every_category(cls, value: dict[Category, int]) -> dict[Category, int]:
        return _complete_limits(value)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{value}' (e.g. Asia/Shanghai)") from exc
        return value

    @field_validator("cards")
    @classmethod
    def _distinct_cards(cls, value: tuple[CardTier, ...]) -> tuple[CardTier, ...]:
        for attribute in ("tier", "colour"):
            seen = [getattr(card, attribute) for card in value]
            twice = sorted({item for item in seen if seen.count(item) > 1})
            if twice:
                raise ValueError(f"{attribute} '{twice[0]}' is used by two cards")
        return value

    @field_validator("origins")
    @classmethod
    def _origin_limits_complete(cls, value: dict[str, OriginLimits]) -> dict[str, OriginLimits]:
        for origin, limits in value.items():
            if limits.resolve_working_days is not None:
                try:
                    _complete_limits(limits.resolve_working_days)
                except ValueError as exc:
                    raise ValueError(f"origins.{origin}: {exc}") from exc
        return value

    def card_tiers(self) -> tuple[CardTier, ...]:
        """The cards of this policy, the default yellow/red pair when it names none."""
        return self.cards or _yellow_and_red(self.yellow_at)

    def limits_for(self, origin: str) -> tuple[int, dict[Category, int]]:
        """(sign-for minutes, resolve working days by category) for orders from `origin`."""
        own = self.origins.get(origin)
        minutes = (own and own.acknowledge_minutes) or self.acknowledge_minutes
        days = (own and own.resolve_working_days) or self.resolve_working_days
        return minutes, days


@lru_cache(maxsize=64)  # asked for twice per order: the tiers are frozen, made once
def _yellow_and_red(yellow_at: float) -> tuple[CardTier, ...]:
    """The default cards: a yellow warning at `yellow_at` of the time, a red card at the end."""
    return (
        CardTier(tier="warning", name="黄牌", colour="yellow", at=yellow_at),
        CardTier(tier="overdue", name="红牌", colour="red"),
    )


def _complete_limits(value: dict[Category, int]) -> dict[Category, int]:
    missing = sorted(c.value for c in Category if c not in value)
    if missing:
        raise ValueError(f"no limit for {', '.join(missing)}")
    if any(days < 0 for days in value.values()):
        raise ValueError("working days must be >= 0")
    return value


class Rule(Model):
    """One catalogue entry: every given criterion must match; within one, any value does."""

    id: str = Field(min_length=1)
    agencies: tuple[str, ...] = Field(min_length=1, description="first is the lead (主办)")
    categories: tuple[Category, ...] = ()
    matter_codes: tuple[str, ...] = Field(default=(), description="exact, or a prefix ending in *")
    keywords: tuple[str, ...] = ()
    divisions: tuple[str, ...] = Field(default=(), description="division code prefixes")
    urgency: tuple[Urgency, ...] = ()
    lead_waits_for_assisting: bool = Field(
        default=False,
        description="协办: the lead's 答复 moves the order to replied only once every "
        "assisting agency has replied or returned its part",
    )

    @field_validator("divisions")
    @classmethod
    def _digits(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for prefix in value:
            if not re.fullmatch(r"\d{2,6}", prefix):
                raise ValueError(f"division prefix '{prefix}' must be 2–6 digits")
        return value


class Catalogue(Model):
    """A versioned, ordered list of routing rules; the first rule that matches wins."""

    version: str = Field(min_length=1)
    description: str = ""
    rules: tuple[Rule, ...] = Field(min_length=1)
