"""`wamesh gateway`: the REST and gRPC fronts until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio

from wamesh.settings import Settings

HELP = "run the gateway (REST on WAMESH_GATEWAY_HTTP_PORT, gRPC on WAMESH_GATEWAY_GRPC_PORT)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments: everything comes from the environment."""
    del parser


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until stopped."""
    del args
    return asyncio.run(_main(settings))


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
