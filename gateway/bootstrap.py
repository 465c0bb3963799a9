"""The composition root: settings in, a wired Gateway out. Nothing else reads settings.

Tests and the demo call the same `bootstrap` with overrides (connectors, clock), so the
object graph under test is the one that runs in production.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

import connectors
from connectors.soap.server import SoapEndpoint
from gateway.crypto import keys as key_policy
from gateway.crypto.checkpoint_keys import checkpoint_signer
from gateway.crypto.sealing import data_keyring, ephemeral_keyring
from gateway.crypto.signing import (
    MessageSigner,
    MessageVerifier,
    parse_signing_key,
)
from gateway.domain.errors import ConfigError
from gateway.domain.messages import HOTLINE
from gateway.mapping.calendar_files import load_calendars
from gateway.mapping.calendars import ChineseWorkdays
from gateway.mapping.loader import Mappings, load_mappings
from gateway.mapping.profiles import AgencyProfile
from gateway.observability.log_masking import install_log_masking
from gateway.observability.metrics import PrometheusMetrics
from gateway.observability.tracing import provider_for, tracing_for
from gateway.service.audit import Chain
from gateway.service.checkpoints import Checkpointer, CheckpointPolicy
from gateway.service.deadlines.setting import DeadlineSetter
from gateway.service.deadlines.supervision import AutoSupervision
from gateway.service.deadlines.watch import DeadlineWatch
from gateway.service.delivery.dispatcher import Dispatcher, DispatchSettings
from gateway.service.directory import Directory
from gateway.service.evidence import EvidenceExporter
from gateway.service.operations.keyring import Configured, KeyRing
from gateway.service.operations.refusal_summary import RefusalSummary
from gateway.service.orders.agency_updates import AgencyUpdates
from gateway.service.orders.hotline_events import HotlineEvents
from gateway.service.orders.intake import Intake
from gateway.service.orders.status_sync import StatusSync
from gateway.service.orders.transitions import OrderSteps
from gateway.service.personal_data import Sealing
from gateway.service.ports.crypto import DataCipher, SigningKey
from gateway.service.ports.evidence import CheckpointStore, Witness
from gateway.service.ports.store import RunningStore
from gateway.service.ports.telemetry import Tracing
from gateway.service.ports.transport import (
    BoardState,
    Connector,
    InboundHandler,
    Listener,
    Poller,
)
from gateway.service.tracing import NoTracing
from gateway.settings import Settings
from gateway.store.boards import SqlBoardState
from gateway.store.checkpoints import SqlCheckpoints
from gateway.store.migrate import upgrade
from gateway.store.sql import SqlStore
from gateway.store.startup import wait_for_database
from gateway.witnessing.database import DatabaseWitness
from gateway.witnessing.timestamping import TsaClient
from gateway.witnessing.witnesses import FileWitness, HttpWitness

log = logging.getLogger("lianxin")


@dataclass
class Gateway:
    """The running object graph."""

    settings: Settings
    store: RunningStore
    directory: Directory
    intake: Intake
    sync: StatusSync
    dispatcher: Dispatcher
    connectors: dict[str, Connector]
    public_keys: list[str]
    soap: SoapEndpoint
    watch: DeadlineWatch
    boards: BoardState
    keyring: KeyRing
    metrics: PrometheusMetrics
    checkpoints: CheckpointStore
    checkpointer: Checkpointer
    evidence: EvidenceExporter
    tracer_provider: TracerProvider | None = None  # None: tracing is off
    tracing: Tracing = field(default_factory=NoTracing)  # spans of `tracer_provider`
    _task: asyncio.Task[None] | None = field(default=None, repr=False)
    _listeners: list[asyncio.Task[None]] = field(default_factory=list, repr=False)
    _watch_task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        """True while the dispatcher task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start delivering from the outbox, listening on inbound transports, polling boards."""
        self._task = asyncio.create_task(self.dispatcher.run(), name="lianxin-dispatcher")
        self._watch_task = asyncio.create_task(self.watch.run(), name="lianxin-deadline-watch")
        checkpointing = asyncio.create_task(self.checkpointer.run(), name="lianxin-checkpoints")
        self._listeners.append(checkpointing)
        refresh = self.keyring.run(self.settings.key_refresh_interval)
        self._listeners.append(asyncio.create_task(refresh, name="lianxin-keyring"))
        summaries = self.sync.refusals.run()
        self._listeners.append(asyncio.create_task(summaries, name="lianxin-refusal-summary"))
        for name, connector in self.connectors.items():
            if isinstance(connector, Listener):
                handler = continuing(self.sync.receive, self.tracing)
                task = asyncio.create_task(
                    connector.listen(handler, self.dispatcher.signers[name].headers),
                    name=f"listen-{name}",
                )
                self._listeners.append(task)
        self._start_pollers()
        self.dispatcher.wake_all()

    def _start_pollers(self) -> None:
        for name, connector in self.connectors.items():
            if isinstance(connector, Poller):
                sign = self.dispatcher.signers[name].headers
                task = asyncio.create_task(
                    connector.poll(self.sync.accept_pulled, self.boards, sign), name=f"poll-{name}"
                )
                self._listeners.append(task)

    async def aclose(self) -> None:
        """Stop delivering, finish what is under way, release every resource."""
        stopping = [*self._listeners, *([self._watch_task] if self._watch_task else [])]
        for task in stopping:
            task.cancel()
        await asyncio.gather(*stopping, return_exceptions=True)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            await self.dispatcher.drain()
        # a cancelled task's unit of work may still be committing (a watch pass's alerts):
        # the closing checkpoint must cover what it appends
        await self.store.settle()
        await self._last_checkpoint()
        self._close_witnesses()
        for connector in self.connectors.values():
            await connector.aclose()
        await self.store.aclose()
        if self.tracer_provider is not None:  # the last spans leave before the process does
            await asyncio.to_thread(self.tracer_provider.force_flush)

    def _close_witnesses(self) -> None:
        """Release what a witness holds open (a witness database's connections); only
        after the closing checkpoint, which is witnessed too."""
        for witness in self.checkpointer.witnesses:
            if isinstance(witness, DatabaseWitness):
                witness.close()

    async def _last_checkpoint(self) -> None:
        try:  # whatever was appended last is signed and witnessed before the process ends
            await self.checkpointer.checkpoint_now()
        except Exception:
            log.exception("the closing checkpoint failed; the next start makes it")


def bootstrap(
    settings: Settings,
    *,
    connector_overrides: Mapping[str, Connector] | None = None,
    clock: Callable[[], float] = time.time,
    tracer_provider: TracerProvider | None = None,
) -> Gateway:
    """Load and check mappings and keys, migrate the database, and wire the gateway.

    `tracer_provider` (tests) replaces the OTLP one LIANXIN_TRACING would build."""
    mappings = load_mappings(settings.mappings_dir, settings.catalogue, connectors.TRANSPORTS)
    profiles = {name: _with_endpoint(p, settings) for name, p in mappings.agencies.items()}
    if HOTLINE not in profiles:
        raise ConfigError(f"{settings.mappings_dir}/agencies: no profile with id 'hotline'")
    directory = Directory(
        profiles=profiles,
        catalogue=mappings.catalogue,
        deadlines=mappings.deadlines,
        ciphers=dict(key_policy.field_ciphers(profiles, settings)),
    )
    own_keys = key_policy.own_keys(settings)
    signers = {name: key_policy.signer_for(p, own_keys, settings) for name, p in profiles.items()}
    verifiers = {name: key_policy.verifier_for(p, settings) for name, p in profiles.items()}
    install_log_masking()  # before anything below can log a caller's number
    wait_for_database(settings.database_url, settings.database_wait)
    upgrade(settings.database_url)
    data_keys = [key.get_secret_value() for key in settings.data_keys]
    data_cipher = data_keyring(data_keys)
    provider = provider_for(settings, tracer_provider)
    tracing = tracing_for(provider)
    store = open_sql_store(
        settings.database_url,
        cipher=data_cipher,
        clock=clock,
        tracing=tracing,
        writers=settings.db_writers,
    )
    overrides = dict(connector_overrides or {})
    wired = {
        name: overrides.get(name) or connectors.resolve(p.transport)(p, settings)
        for name, p in profiles.items()
    }
    limits = DispatchSettings(
        owner=settings.node_id,
        poll_interval=settings.poll_interval,
        lease_seconds=settings.lease_seconds,
        attempt_seconds=settings.attempt_seconds,
    )
    metrics = PrometheusMetrics(profiles)
    calendar = ChineseWorkdays(mappings.calendars)
    # the one transition path, shared by every direction (agencies, receipts, the hotline)
    steps = OrderSteps(directory, clock)
    updates = AgencyUpdates(directory, steps, clock)
    deadlines = DeadlineSetter(directory, calendar)
    dispatcher = Dispatcher(
        store,
        directory,
        wired,
        signers,
        limits,
        updates,
        clock=clock,
        metrics=metrics,
        tracing=tracing,
    )
    public_keys = [k.verifying_key().public_text() for k in own_keys]
    refusals = RefusalSummary(store, clock, settings.refusal_summary_interval, metrics)
    events = HotlineEvents(steps, clock, calendar)
    sync = StatusSync(
        store, directory, verifiers, dispatcher.wake, clock, updates, events, deadlines, refusals
    )
    watch = DeadlineWatch(
        store,
        directory,
        dispatcher.wake,
        clock,
        settings.watch_interval,
        supervise=AutoSupervision(steps),
    )
    return Gateway(
        settings=settings,
        store=store,
        directory=directory,
        intake=Intake(store, directory, deadlines, dispatcher.wake, clock),
        watch=watch,
        sync=sync,
        dispatcher=dispatcher,
        connectors=wired,
        public_keys=public_keys,
        keyring=KeyRing(
            store,
            _configured(own_keys, signers, verifiers, profiles),
            signers,
            verifiers,
            public_keys,
            data_cipher if data_keys else None,
            clock,
        ),
        soap=SoapEndpoint(profiles, settings.mappings_dir, sync),
        boards=SqlBoardState(store, clock),
        metrics=metrics,
        checkpoints=(checkpoints := SqlCheckpoints(store)),
        checkpointer=(checkpointer := _checkpointer(settings, checkpoints, clock)),
        evidence=evidence_exporter(
            settings, checkpoints, checkpointer, profiles, public_keys, clock
        ),
        tracer_provider=provider,
        tracing=tracing,
    )


def continuing(handler: InboundHandler, tracing: Tracing) -> InboundHandler:
    """`handler` for a listener (MQTT): each message is handled in its sender's trace, named
    by the W3C headers it carries (MQTT 5 user properties), as an HTTP request is; the
    handler as it is when nothing is traced."""
    if not tracing.active:
        return handler

    async def handle(agency: str, headers: Mapping[str, str], body: bytes) -> Any:
        with tracing.continued(headers):
            return await handler(agency, headers, body)

    return handle


def open_sql_store(
    url: str,
    *,
    cipher: DataCipher | None = None,
    clock: Callable[[], float] = time.time,
    tracing: Tracing | None = None,
    writers: int | None = None,
    group_budget: float | None = None,
) -> SqlStore:
    """The SQL store with what the service layer gives it: `cipher` seals personal data at
    rest (without one, a random key: enough for tools that never read what others sealed)
    and `clock` times the audit entries the service layer links onto the chain."""
    budget = {} if group_budget is None else {"group_budget": group_budget}
    return SqlStore(
        url,
        seal=Sealing(cipher or ephemeral_keyring()),
        chain=Chain(clock),
        tracing=tracing,
        writers=writers,
        **budget,
    )


class Tools:
    """The composition root's entry for the command line's verbs that run with no gateway
    (`deliveries`, `replay`, `agencies`, `keys`, `purge`, `evidence`, `audit verify`, `certs
    init`, `calendar`): the same settings, mappings and wiring as `bootstrap`, opened piece
    by piece, each only when a verb asks for it. `gateway()` is `bootstrap` itself."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def gateway(self) -> Gateway:
        """The whole gateway (`lianxin serve`, `lianxin keys rotate`)."""
        return bootstrap(self.settings)

    @cached_property
    def mappings(self) -> Mappings:
        """The mappings directory, loaded and checked as at start-up."""
        settings = self.settings
        return load_mappings(settings.mappings_dir, settings.catalogue, connectors.TRANSPORTS)

    @cached_property
    def directory(self) -> Directory:
        """The agencies' profiles, catalogue and deadline policies."""
        return Directory.from_mappings(self.mappings)

    def store(self, *, migrate: bool = True, sealed: bool = False) -> SqlStore:
        """A store on LIANXIN_DATABASE_URL, migrated first unless `migrate` is False;
        `sealed`: able to read sealed bodies and fields (with LIANXIN_DATA_KEYS, when set)."""
        url = self.settings.database_url
        if migrate:
            upgrade(url)
        keys = [key.get_secret_value() for key in self.settings.data_keys] if sealed else []
        return open_sql_store(url, cipher=data_keyring(keys) if keys else None)

    @staticmethod
    def store_at(url: str) -> SqlStore:
        """A store on `url` as it is (not migrated, nothing unsealed): to read the audit
        chain of any database, with no settings needed."""
        return open_sql_store(url)

    @staticmethod
    def workdays(mappings_dir: Path) -> ChineseWorkdays:
        """The working-day calendar of a mappings directory, as the gateway would load it."""
        return ChineseWorkdays(load_calendars(mappings_dir))

    def evidence(self, store: SqlStore, clock: Callable[[], float] = time.time) -> EvidenceExporter:
        """The evidence exporter alone (`lianxin evidence export`)."""
        settings, agencies = self.settings, self.mappings.agencies
        checkpoints = SqlCheckpoints(store)
        checkpointer = _checkpointer(settings, checkpoints, clock)
        own = [parse_signing_key(k.get_secret_value()) for k in settings.signing_keys]
        public = [key.verifying_key().public_text() for key in own if key.scheme == "v1a"]
        return evidence_exporter(settings, checkpoints, checkpointer, agencies, public, clock)


def evidence_exporter(
    settings: Settings,
    checkpoints: SqlCheckpoints,
    checkpointer: Checkpointer,
    profiles: Mapping[str, AgencyProfile],
    own_public_keys: list[str],
    clock: Callable[[], float],
) -> EvidenceExporter:
    """Bundles sealed with the checkpoint key, listing the keys messages verify with."""
    keys = {"lianxin": own_public_keys}  # the keyring's own list: rotations show up
    for name, profile in profiles.items():
        texts = [*profile.inbound.public_keys, *settings.agency_keys.get(name, [])]
        if public := [text for text in texts if text.startswith("whpk_")]:
            keys[name] = public
    witnesses = [witness.name for witness in checkpointer.witnesses]
    return EvidenceExporter(checkpoints, checkpointer, checkpointer.signer, keys, witnesses, clock)


def _checkpointer(
    settings: Settings, checkpoints: SqlCheckpoints, clock: Callable[[], float]
) -> Checkpointer:
    key = settings.checkpoint_key
    witnesses: list[Witness] = [FileWitness(path) for path in settings.witness_files]
    witnesses += [HttpWitness(url) for url in settings.witness_urls]
    witnesses += [DatabaseWitness(url.get_secret_value()) for url in settings.witness_databases]
    policy = CheckpointPolicy(
        interval=settings.checkpoint_interval,
        entries=settings.checkpoint_entries,
        poll=min(1.0, settings.checkpoint_interval / 4),
    )
    return Checkpointer(
        checkpoints,
        checkpoint_signer(key.get_secret_value() if key else None),
        witnesses,
        policy,
        stamper=TsaClient(settings.tsa_url) if settings.tsa_url else None,
        clock=clock,
    )


def _with_endpoint(profile: AgencyProfile, settings: Settings) -> AgencyProfile:
    endpoint = settings.agency_endpoints.get(profile.id, profile.endpoint)
    if profile.id == HOTLINE and settings.hotline_callback_url:
        endpoint = settings.hotline_callback_url
    if not endpoint and profile.transport == "mqtt":  # the broker plus the agency's topic
        prefix = (profile.mqtt and profile.mqtt.topic_prefix) or settings.mqtt_topic_prefix
        endpoint = f"{settings.mqtt_url}/{prefix}/utilities/{profile.id}"
    if not endpoint and profile.transport != "memory":
        where = (
            "LIANXIN_HOTLINE_CALLBACK_URL" if profile.id == HOTLINE else "LIANXIN_AGENCY_ENDPOINTS"
        )
        raise ConfigError(
            f"agency '{profile.id}' has no endpoint: set it in its mapping file or {where}"
        )
    return profile.model_copy(update={"endpoint": endpoint})


def _configured(
    own: list[SigningKey],
    signers: Mapping[str, MessageSigner],
    verifiers: Mapping[str, MessageVerifier],
    profiles: Mapping[str, AgencyProfile],
) -> Configured:
    """The keys configured before any rotation, for the keyring to start from."""
    shared = {
        name: list(signers[name].keys)
        for name, profile in profiles.items()
        if profile.signing.scheme != "v1a"
    }
    verifying = {name: list(verifier.keys) for name, verifier in verifiers.items()}
    return Configured(own=list(own), verifying=verifying, shared=shared)
