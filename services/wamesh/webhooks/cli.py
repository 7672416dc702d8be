"""`wamesh worker`: deliver webhooks until SIGTERM/SIGINT, in one process or several."""

from __future__ import annotations

import argparse
import asyncio

from wamesh.settings import Settings

HELP = "run a webhook delivery worker (reads the Redis stream WEBHOOK_QUEUE_NAME)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--processes N`; everything else comes from the environment."""
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        metavar="N",
        help="delivery processes sharing the stream (default: WEBHOOK_PROCESSES, else one per "
        "CPU less one, at most 4)",
    )


def process_count(args: argparse.Namespace, settings: Settings) -> int:
    """--processes, else WEBHOOK_PROCESSES, else chosen from the CPU count."""
    from wamesh.webhooks.processes import default_count

    wanted = args.processes if args.processes is not None else settings.webhook_processes
    return wanted if wanted and wanted > 0 else default_count()


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Deliver until stopped."""
    count = process_count(args, settings)
    if count == 1:
        from wamesh.webhooks.worker import main

        return asyncio.run(main(settings))
    from wamesh.webhooks.processes import supervise

    return asyncio.run(supervise(count))
