"""`wamesh dev`: the whole mesh on this machine (see wamesh.dev.mesh)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from wamesh.constants import ENGINES
from wamesh.settings import Settings

HELP = "run the whole mesh locally: PostgreSQL, Redis, gateway, webhook worker, one worker per line"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the dev mesh."""
    parser.add_argument("--state-dir", help="state folder (default: WAMESH_STATE_DIR or .wamesh)")
    parser.add_argument(
        "--engine",
        default="sandbox",
        choices=ENGINES,
        help="engine of new lines created without one (default: sandbox)",
    )
    parser.add_argument(
        "--http-port", type=int, default=8080, help="gateway REST port (default: 8080)"
    )
    parser.add_argument(
        "--grpc-port", type=int, default=50051, help="gateway gRPC port (default: 50051)"
    )
    parser.add_argument("--no-terminal-qr", action="store_true", help="do not print QR codes here")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run until Ctrl-C."""
    from wamesh.dev.mesh import DevOptions, run_dev

    options = DevOptions(
        state_dir=Path(args.state_dir or settings.state_dir),
        engine=args.engine,
        http_port=args.http_port,
        grpc_port=args.grpc_port,
        show_qr=not args.no_terminal_qr,
    )
    return asyncio.run(run_dev(settings, options))
