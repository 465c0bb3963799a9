"""The `lianxin` command: demo, serve, audit verify, purge, data-key, certs init."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from pydantic_settings import SettingsError

from gateway.cli_calendar import add_verbs as add_calendar_verbs
from gateway.cli_evidence import add_verbs as add_evidence_verbs
from gateway.cli_keys import add_verbs as add_key_verbs
from gateway.cli_ops import add_verbs as add_ops_verbs
from gateway.cli_personal import add_verbs as add_personal_data_verbs
from gateway.cli_simulators import add_verbs as add_simulator_verbs
from gateway.domain.errors import ConfigError, LianxinError

if TYPE_CHECKING:
    from gateway.settings import Settings

GIL_SWITCH_INTERVAL = 0.001  # seconds; see _serve


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except LianxinError as exc:
        print(f"lianxin: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    except (ValidationError, SettingsError) as exc:  # settings from the environment
        print(f"lianxin: config_error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lianxin", description="Lianxin 连心 integration gateway")
    parser.add_argument("--version", action="version", version=f"lianxin {_version()}")
    verbs = parser.add_subparsers(title="commands")
    demo = verbs.add_parser("demo", help="run the scripted demo on loopback simulators")
    demo.add_argument("--keep", type=Path, metavar="DIR", help="keep the database and logs in DIR")
    demo.set_defaults(run=_demo)
    serve = verbs.add_parser("serve", help="run the gateway with settings from the environment")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8345)
    serve.add_argument(
        "--open-api",
        action="store_true",
        help="development only: serve without LIANXIN_API_TOKENS, every caller admin "
        "(refused unless --host is a loopback address)",
    )
    serve.set_defaults(run=_serve)
    audit = verbs.add_parser("audit", help="audit trail tools").add_subparsers(title="audit")
    verify = audit.add_parser("verify", help="check the whole hash chain")
    verify.add_argument("--database", metavar="URL", help="default: LIANXIN_DATABASE_URL")
    verify.add_argument(
        "--witness",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="also check against the signed checkpoints in this witness file (repeatable)",
    )
    verify.add_argument(
        "--key",
        action="append",
        metavar="WHPK",
        help="accept only checkpoints signed by this whpk_ public key (repeatable)",
    )
    verify.set_defaults(run=_audit_verify)
    add_evidence_verbs(verbs)  # evidence export, verify, key
    add_personal_data_verbs(verbs)  # purge, data-key
    add_key_verbs(verbs)  # keys rotate, keys list
    add_ops_verbs(verbs)  # deliveries list, replay, agencies pause|resume
    add_simulator_verbs(verbs)  # simulators (the demo's hotline and agencies, standalone)
    add_calendar_verbs(verbs)  # calendar (years covered, provisional, next gap)
    certs = verbs.add_parser("certs", help="TLS certificates").add_subparsers(title="certs")
    init = certs.add_parser("init", help="a development CA, server and agency certificates")
    init.add_argument("directory", type=Path, metavar="DIR")
    init.add_argument(
        "--host", action="append", default=[], help="another server name or IP (repeatable)"
    )
    init.add_argument("--mappings", type=Path, metavar="DIR", help="default: LIANXIN_MAPPINGS_DIR")
    init.set_defaults(run=_certs_init)
    return parser


def _version() -> str:
    """The installed package's version (pyproject.toml), as pip sees it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lianxin")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo

    return run_demo(keep=args.keep)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.api.app import create_app
    from gateway.api.tls import uvicorn_options
    from gateway.bootstrap import bootstrap
    from gateway.observability.logs import configure_logging
    from gateway.settings import Settings

    settings = Settings()
    if args.open_api:
        settings = settings.model_copy(update={"open_api": True})
    closed_by_default(settings, args.host)
    configure_logging(settings.log_level, settings.log_format)
    tls = uvicorn_options(settings)
    gateway = bootstrap(settings)  # configuration errors surface here, before serving
    if not settings.data_keys:  # a throw-away key would make the outbox unreadable after a crash
        raise ConfigError(
            "LIANXIN_DATA_KEYS is not set: queued handoffs and callers' data are stored "
            "encrypted, and a throw-away key could not read them after a restart; "
            "`lianxin data-key` prints a key"
        )
    app = create_app(settings, gateway=gateway)
    # The database thread gives up the GIL for every statement and fsync and must win it
    # back from the event loop: at the default 5 ms switch interval it queued for it
    # (measured on the e2e benchmark: 73–82 handoffs/s at 5 ms, 89–92 at 1 ms).
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    uvicorn.run(  # log_config=None: uvicorn's own lines go through ours (JSON, masked)
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        log_config=None,
        access_log=False,
        **tls,
    )
    return 0


def closed_by_default(settings: Settings, host: str) -> None:
    """Refuse to serve without API tokens, unless open_api is asked for on a loopback host."""
    if settings.api_tokens:
        return
    if not settings.open_api:
        raise ConfigError(
            "LIANXIN_API_TOKENS is not set: refusing to serve a closed API with nobody "
            "allowed in; configure tokens, or pass --open-api (development, loopback only)"
        )
    if not _loopback(host):
        raise ConfigError(
            f"--open-api (LIANXIN_OPEN_API) serves an API without tokens and is allowed on "
            f"a loopback host only, not on '{host}'; configure LIANXIN_API_TOKENS"
        )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _certs_init(args: argparse.Namespace) -> int:
    import connectors
    from gateway.crypto import certs
    from gateway.mapping.loader import load_mappings
    from gateway.settings import Settings

    settings = Settings()
    mappings_dir = args.mappings or settings.mappings_dir
    agencies = load_mappings(mappings_dir, settings.catalogue, connectors.TRANSPORTS).agencies
    issued = certs.init(args.directory, sorted(agencies), args.host)
    print(f"CA {issued.ca}; server certificate {issued.server_cert}")
    for agency, (cert, _key) in issued.clients.items():
        print(f"client certificate for {agency}: {cert}")
    print("private keys (*.key) are 0600: keep them out of version control")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from gateway.service.audit import verify_chain
    from gateway.settings import Settings
    from gateway.store.sql import SqlStore

    url = args.database or Settings().database_url
    missing = _missing_sqlite_file(url)
    if missing is not None:  # opening it would create an empty database that "verifies"
        print(f"audit chain: no database file at {missing}", file=sys.stderr)
        return 2
    if args.witness:
        return _audit_verify_witnessed(args, url)
    store = SqlStore(url)
    try:
        with store.audit_snapshot() as (head, records):  # one snapshot: writers may go on
            report = verify_chain(records, head)
    except Exception as exc:  # an unreadable database is a failed verification, said plainly
        print(f"audit chain: cannot read {url}: {exc}", file=sys.stderr)
        return 2
    finally:
        store.engine.dispose()
    if report.ok:
        print(f"audit chain verified: {report.entries} entries, head intact")
        return 0
    print(f"audit chain BROKEN at entry {report.seq}: {report.problem}", file=sys.stderr)
    return 1


def _audit_verify_witnessed(args: argparse.Namespace, url: str) -> int:
    from gateway.cli_witness import report, verify_against, witnessed_checkpoints
    from gateway.domain.errors import EvidenceError
    from gateway.store.sql import SqlStore

    try:
        checkpoints = witnessed_checkpoints(args.witness, set(args.key) if args.key else None)
    except EvidenceError as exc:
        print(f"audit chain: witness unusable: {exc.message}", file=sys.stderr)
        return 1
    store = SqlStore(url)
    try:
        chain, witness = verify_against(store, checkpoints)
    except Exception as exc:  # an unreadable database is a failed verification, said plainly
        print(f"audit chain: cannot read {url}: {exc}", file=sys.stderr)
        return 2
    finally:
        store.engine.dispose()
    return report(chain, witness)


def _missing_sqlite_file(url: str) -> Path | None:
    """The path of a SQLite URL's file when it does not exist; None otherwise."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database or "")
    return None if path.exists() else path


if __name__ == "__main__":
    sys.exit(main())
