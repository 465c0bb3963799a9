"""The `lianxin` command: demo, serve, audit verify."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import SettingsError

from gateway.domain.errors import LianxinError


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
    verbs = parser.add_subparsers(title="commands")
    demo = verbs.add_parser("demo", help="run the scripted demo on loopback simulators")
    demo.add_argument("--keep", type=Path, metavar="DIR", help="keep the database and logs in DIR")
    demo.set_defaults(run=_demo)
    serve = verbs.add_parser("serve", help="run the gateway with settings from the environment")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8345)
    serve.set_defaults(run=_serve)
    audit = verbs.add_parser("audit", help="audit trail tools").add_subparsers(title="audit")
    verify = audit.add_parser("verify", help="check the whole hash chain")
    verify.add_argument("--database", metavar="URL", help="default: LIANXIN_DATABASE_URL")
    verify.set_defaults(run=_audit_verify)
    return parser


def _demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo

    return run_demo(keep=args.keep)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.api.app import create_app
    from gateway.bootstrap import bootstrap
    from gateway.settings import Settings

    settings = Settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    gateway = bootstrap(settings)  # configuration errors surface here, before serving
    app = create_app(settings, gateway=gateway)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from gateway.service.audit import verify_chain
    from gateway.settings import Settings
    from gateway.store.sql import SqlStore

    url = args.database or Settings().database_url
    store = SqlStore(url)
    try:
        report = verify_chain(store.audit_records(), store.audit_head())
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


if __name__ == "__main__":
    sys.exit(main())
