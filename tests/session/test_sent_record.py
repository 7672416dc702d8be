"""A send's result is recorded by one statement and stays the first one of its client message id:
a later or concurrent record of the same id answers the stored message, never its own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.support.workers import create_line
from wamesh.db.pool import Pool
from wamesh.engines.base import Message
from wamesh.session.store import LineStore

CHAT = "15550001111@s.whatsapp.net"
AT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def message(n: int, chat: str = CHAT) -> Message:
    return Message(
        id=f"3EB0{n:016X}",
        chat_id=chat,
        sender="15559990000@s.whatsapp.net",
        recipient=chat,
        from_me=True,
        text=f"text {n}",
        timestamp=AT + timedelta(seconds=n),
    )


async def rows(pool: Pool, line: str) -> list[tuple[str, str]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT client_message_id, message_id FROM wamesh.sent_messages WHERE session_id = %s "
            "ORDER BY client_message_id",
            (line,),
        )
        return [(r["client_message_id"], r["message_id"]) for r in await cursor.fetchall()]


class TestRememberSent:
    """The first record of a client message id wins, in sequence and at once."""

    async def test_first_record_is_answered_as_stored(self, pool: Pool, database_url: str) -> None:
        line = create_line(database_url)
        stored = await LineStore(pool, line).remember_sent("order-1", message(1))
        assert (stored.message_id, stored.chat_id, stored.sent_at) == (
            message(1).id,
            CHAT,
            message(1).timestamp,
        )
        assert await rows(pool, line) == [("order-1", message(1).id)]

    async def test_a_repeated_id_answers_the_first_message(
        self, pool: Pool, database_url: str
    ) -> None:
        line = create_line(database_url)
        store = LineStore(pool, line)
        first = await store.remember_sent("order-1", message(1))
        again = await store.remember_sent("order-1", message(2, chat="15550002222@s.whatsapp.net"))
        assert again == first
        assert await rows(pool, line) == [("order-1", message(1).id)]

    async def test_concurrent_records_of_one_id_all_answer_the_same_first(
        self, pool: Pool, database_url: str
    ) -> None:
        line = create_line(database_url)
        store = LineStore(pool, line)
        for round_ in range(5):  # each round races 12 records of one new id
            cmid = f"race-{round_}"
            answers = await asyncio.gather(
                *(store.remember_sent(cmid, message(100 * round_ + n)) for n in range(12))
            )
            stored = dict(await rows(pool, line))[cmid]
            assert {a.message_id for a in answers} == {stored}

    async def test_ids_are_per_line(self, pool: Pool, database_url: str) -> None:
        one, other = create_line(database_url), create_line(database_url)
        await LineStore(pool, one).remember_sent("order-1", message(1))
        theirs = await LineStore(pool, other).remember_sent("order-1", message(2))
        assert theirs.message_id == message(2).id
