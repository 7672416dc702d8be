"""Reminder tests use the gateway fixtures (an in-process gateway and its client) and the shared
worker fixtures (workers without a mesh token accept the gateway's calls)."""

from tests.gateway.conftest import api, gateway, grpc_channel

__all__ = ["api", "gateway", "grpc_channel"]
