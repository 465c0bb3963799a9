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

import connectors
from connectors.soap_server import SoapEndpoint
from gateway.calendars import ChineseWorkdays
from gateway.domain.errors import ConfigError
from gateway.domain.messages import HOTLINE
from gateway.mapping.loader import load_mappings
from gateway.mapping.profiles import AgencyProfile
from gateway.service.directory import Directory
from gateway.service.dispatch import Dispatcher, DispatchSettings
from gateway.service.intake import Intake
from gateway.service.ports import BoardState, Connector, Listener, Poller
from gateway.service.status_sync import StatusSync
from gateway.service.watch import DeadlineWatch
from gateway.settings import Settings
from gateway.signing import (
    MessageSigner,
    MessageVerifier,
    SigningKey,
    generate_ed25519_key,
    parse_signing_key,
    parse_verifying_key,
)
from gateway.store.boards import SqlBoardState
from gateway.store.migrate import upgrade
from gateway.store.sql import SqlStore

log = logging.getLogger("lianxin")


@dataclass
class Gateway:
    """The running object graph."""

    settings: Settings
    store: SqlStore
    directory: Directory
    intake: Intake
    sync: StatusSync
    dispatcher: Dispatcher
    connectors: dict[str, Connector]
    public_keys: list[str]
    soap: SoapEndpoint
    watch: DeadlineWatch
    boards: BoardState
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
        for name, connector in self.connectors.items():
            if isinstance(connector, Listener):
                task = asyncio.create_task(
                    connector.listen(self.sync.receive, self.dispatcher.signers[name].headers),
                    name=f"listen-{name}",
                )
                self._listeners.append(task)
        self._start_pollers()
        self.dispatcher.wake()

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
        for connector in self.connectors.values():
            await connector.aclose()
        await self.store.aclose()


def bootstrap(
    settings: Settings,
    *,
    connector_overrides: Mapping[str, Connector] | None = None,
    clock: Callable[[], float] = time.time,
) -> Gateway:
    """Load and check mappings and keys, migrate the database, and wire the gateway."""
    mappings = load_mappings(settings.mappings_dir, settings.catalogue, connectors.TRANSPORTS)
    profiles = {name: _with_endpoint(p, settings) for name, p in mappings.agencies.items()}
    if HOTLINE not in profiles:
        raise ConfigError(f"{settings.mappings_dir}/agencies: no profile with id 'hotline'")
    directory = Directory(
        profiles=profiles, catalogue=mappings.catalogue, deadlines=mappings.deadlines
    )
    own_keys = _own_keys(settings)
    signers = {name: _signer(p, own_keys, settings) for name, p in profiles.items()}
    verifiers = {name: _verifier(p, settings) for name, p in profiles.items()}
    upgrade(settings.database_url)
    store = SqlStore(settings.database_url)
    overrides = dict(connector_overrides or {})
    wired = {
        name: overrides.get(name) or connectors.resolve(p.transport)(p, settings)
        for name, p in profiles.items()
    }
    limits = DispatchSettings(
        owner=settings.node_id,
        poll_interval=settings.poll_interval,
        lease_seconds=settings.lease_seconds,
    )
    dispatcher = Dispatcher(store, directory, wired, signers, limits, clock=clock)
    calendar = ChineseWorkdays()
    sync = StatusSync(store, directory, verifiers, dispatcher.wake, clock, calendar)
    return Gateway(
        settings=settings,
        store=store,
        directory=directory,
        intake=Intake(directory, clock, calendar),
        watch=DeadlineWatch(store, directory, dispatcher.wake, clock, settings.watch_interval),
        sync=sync,
        dispatcher=dispatcher,
        connectors=wired,
        public_keys=[k.verifying_key().public_text() for k in own_keys],
        soap=SoapEndpoint(profiles, settings.mappings_dir, sync),
        boards=SqlBoardState(store, clock),
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


def _own_keys(settings: Settings) -> list[SigningKey]:
    if settings.signing_keys:
        return [parse_signing_key(k.get_secret_value()) for k in settings.signing_keys]
    key = parse_signing_key(generate_ed25519_key())
    log.warning(
        "LIANXIN_SIGNING_KEYS is not set: signing with a throw-away key %s (public %s); "
        "agencies cannot verify it after a restart",
        key.key_id,
        key.verifying_key().public_text(),
    )
    return [key]


def _signer(profile: AgencyProfile, own: list[SigningKey], settings: Settings) -> MessageSigner:
    if profile.signing.scheme == "v1a":
        return MessageSigner(own)
    secret = settings.agency_secrets.get(profile.id)
    if secret is None:
        raise ConfigError(
            f"agency '{profile.id}' signs with v1 (HMAC) "
            "but LIANXIN_AGENCY_SECRETS has no secret for it"
        )
    return MessageSigner([parse_signing_key(secret.get_secret_value())])


def _verifier(profile: AgencyProfile, settings: Settings) -> MessageVerifier:
    texts = [*profile.inbound.public_keys, *settings.agency_keys.get(profile.id, [])]
    secret = settings.agency_secrets.get(profile.id)
    if secret is not None:
        texts.append(secret.get_secret_value())
    keys = [parse_verifying_key(text) for text in texts]
    return MessageVerifier(keys, tolerance=profile.inbound.tolerance)
