"""`wamesh gateway`: the REST and gRPC fronts until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import errno

from wamesh.errors import ConfigError
from wamesh.settings import Settings

HELP = "run the gateway (REST on WAMESH_GATEWAY_HTTP_PORT, gRPC on WAMESH_GATEWAY_GRPC_PORT)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ports, as `wamesh dev` takes them (else from the environment)."""
    parser.add_argument(
        "--http-port", type=int, help="REST port (default: WAMESH_GATEWAY_HTTP_PORT)"
    )
    parser.add_argument(
        "--grpc-port", type=int, help="gRPC port (default: WAMESH_GATEWAY_GRPC_PORT)"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until stopped; a taken port is one line naming the flag that changes it."""
    ports = {"gateway_http_port": args.http_port, "gateway_grpc_port": args.grpc_port}
    settings = dataclasses.replace(settings, **{k: v for k, v in ports.items() if v is not None})
    try:
        return asyncio.run(_main(settings))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise ConfigError(
            f"a port is taken (REST {settings.gateway_http_port}, gRPC "
            f"{settings.gateway_grpc_port}): {exc.strerror}; pick others with --http-port / "
            "--grpc-port"
        ) from None


async def _main(settings: Settings) -> int:
    from wamesh.gateway.app import running_gateway
    from wamesh.process import install_stop_signals

    stop = asyncio.Event()
    install_stop_signals(stop)
    async with running_gateway(settings) as gateway:
        print(
            f"gateway: http://{settings.gateway_http_host}:{gateway.http_port}"
            f"  grpc: {gateway.grpc_port}",
            flush=True,
        )
        await stop.wait()
    return 0
