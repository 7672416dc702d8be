"""Number check and the LID <-> phone mapping on the browser engine, against the stand-in
(whatsapp-web.js enforceLidAndPnRetrieval: WAWebApiContact's mapping, else queryWidExists)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.test_engine import PEER, _ready

pytestmark = pytest.mark.browser


class TestContacts:
    """Known, unknown and LID-only contacts, both ways."""

    async def test_known_number_and_its_lid_both_ways(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await _ready(start_engine)
        lid = await run.page("() => window.__standin.lidOf('15550001111')")
        found = await run.engine.check_contact(PEER)
        assert (found.exists, found.jid, found.lid) == (True, PEER, lid)
        back = await run.engine.check_contact(lid)
        assert (back.exists, back.jid, back.lid) == (True, PEER, lid)

    async def test_unknown_number(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        await run.page("() => window.__standin.notOnWhatsApp('15550003333')")
        found = await run.engine.check_contact("15550003333@s.whatsapp.net")
        assert (found.exists, found.jid, found.lid) == (False, None, None)

    async def test_lid_only_contact(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        lid = "99887766554433@lid"
        await run.page("([l]) => window.__standin.lidOnlyContact(l)", [lid])
        found = await run.engine.check_contact(lid)
        assert (found.exists, found.jid, found.lid) == (True, None, lid)
