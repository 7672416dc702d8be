"""`wamesh worker`: deliver webhooks until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio

from wamesh.settings import Settings

HELP = "run a webhook delivery worker (taskiq on the Redis stream WEBHOOK_QUEUE_NAME)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments: everything comes from the environment."""
    del parser


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Deliver until stopped."""
    from wamesh.webhooks.worker import main

    del args
    return asyncio.run(main(settings))
