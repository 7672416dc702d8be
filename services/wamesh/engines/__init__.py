"""Engines: how a session worker talks to WhatsApp (`base.Engine`), one module per kind."""
