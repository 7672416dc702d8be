"""Polls on whatsmeow: the polls the line saw (sent or received) and their votes opened.

A vote arrives as a PollUpdateMessage: the voter's whole selection (a PollVoteMessage of SHA-256
hashes of option names), AES-GCM encrypted with a key derived from the poll's 32-byte message
secret (whatsmeow msgsecret.go `generateMsgSecretKey`, `decryptMsgSecret`, `HashPollOptions`;
FACTS.md). The secret travels in the poll's `messageContextInfo` and the names only in the poll,
so votes are opened here, in Python, for the polls the engine remembers: no call into Go (whose
`DecryptPollVote` would also answer only hashes) and testable offline.

Which JIDs went into the key is what WhatsApp's move from phone numbers to LIDs keeps changing:
whatsmeow takes the poll's sender from the vote's key (or the one it stored with the secret) and
the voter as `Info.Sender`; a vote encrypted for the voter's other identity (`SenderAlt`) fails
there (whatsmeow#1217). GCM authenticates, so each candidate pair is simply tried.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import PollVoteMessage

from wamesh.engines.base import Poll
from wamesh.engines.whatsmeow.jids import non_ad, non_ad_of
from wamesh.jid import LID_SERVER, USER_SERVER

_LOGGER = logging.getLogger(__name__)
POLLS = 1000  # polls remembered for their votes (apart from RECENT: text traffic cannot push
# a poll out)
POLL_VOTE = b"Poll Vote"  # whatsmeow msgsecret.go EncSecretPollVote


@dataclass(frozen=True)
class KnownPoll:
    """A poll the line saw: its chat, content, message secret and sender (`user@server`)."""

    chat_id: str
    poll: Poll
    secret: bytes
    sender: str


class Polls:
    """The last POLLS polls by message id."""

    def __init__(self) -> None:
        self._polls: OrderedDict[str, KnownPoll] = OrderedDict()

    def add(self, poll_id: str, known: KnownPoll) -> None:
        """Remember a poll (sent or received)."""
        self._polls[poll_id] = known
        self._polls.move_to_end(poll_id)
        while len(self._polls) > POLLS:
            self._polls.popitem(last=False)

    def get(self, poll_id: str) -> KnownPoll | None:
        """A remembered poll, or None."""
        return self._polls.get(poll_id)


def vote_key(secret: bytes, poll_id: str, poll_sender: str, voter: str) -> tuple[bytes, bytes]:
    """The AES-GCM key and additional data of a vote (msgsecret.go generateMsgSecretKey): HKDF-
    SHA256 of the secret, no salt, info = poll id + poll sender + voter + "Poll Vote"; the
    additional data is `<poll id>\\0<voter>`. Senders are non-AD JID strings."""
    info = poll_id.encode() + poll_sender.encode() + voter.encode() + POLL_VOTE
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)
    return key, f"{poll_id}\0{voter}".encode()


def option_hash(name: str) -> bytes:
    """An option as a vote names it (msgsecret.go HashPollOptions: SHA-256 of the name)."""
    return hashlib.sha256(name.encode()).digest()


def open_vote(known: KnownPoll, update: Any, source: Any) -> tuple[str, ...] | None:
    """The option names a PollUpdateMessage selects (empty: withdrawn), or None when no candidate
    key opens it. `source` is the vote's MessageSource."""
    key, vote = update.pollCreationMessageKey, update.vote
    poll_id = str(key.ID)
    voters = _distinct(non_ad_of(source.Sender), non_ad_of(source.SenderAlt))
    creators = _distinct(*_key_creators(key, source, voters), known.sender)
    for creator in creators:
        for voter in voters:
            aes, additional = vote_key(known.secret, poll_id, creator, voter)
            try:
                plain = AESGCM(aes).decrypt(bytes(vote.encIV), bytes(vote.encPayload), additional)
            except (InvalidTag, ValueError):
                continue
            return names_of(known.poll, PollVoteMessage.FromString(plain).selectedOptions)
    _LOGGER.warning("vote on poll %s not opened (senders %s, voters %s)", poll_id, creators, voters)
    return None


def names_of(poll: Poll, selected: Any) -> tuple[str, ...]:
    """Selected option hashes as the poll's option names (unknown hashes are left out)."""
    by_hash = {option_hash(name): name for name in poll.options}
    return tuple(by_hash[bytes(h)] for h in selected if bytes(h) in by_hash)


def _key_creators(key: Any, source: Any, voters: tuple[str, ...]) -> tuple[str, ...]:
    """The poll's sender as the vote's key names it (msgsecret.go getOrigSenderFromKey): the voter
    for their own poll, the chat in a 1:1 chat, the participant in a group."""
    if key.fromMe:
        return voters
    if source.Chat.Server in (USER_SERVER, LID_SERVER):
        return (non_ad(str(key.remoteJID)),)
    return (non_ad(str(key.participant)),)


def _distinct(*values: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))
