"""Pool tests reuse the gateway tests' in-process gateway fixtures."""

from tests.gateway.conftest import api, gateway, grpc_channel

__all__ = ["api", "gateway", "grpc_channel"]
