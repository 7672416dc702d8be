"""Session worker tests use the shared worker fixtures (tests/support/session_fixtures.py)."""

from tests.support.session_fixtures import SpawnWorker, Stubs

__all__ = ["SpawnWorker", "Stubs"]
