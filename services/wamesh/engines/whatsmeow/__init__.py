"""The whatsmeow engine: WhatsApp's multi-device protocol through neonize (Go whatsmeow), no
browser. See engine.py for the lifecycle and FACTS.md for what it is built on."""

from wamesh.engines.whatsmeow.engine import WhatsmeowConfig, WhatsmeowEngine

__all__ = ["WhatsmeowConfig", "WhatsmeowEngine"]
