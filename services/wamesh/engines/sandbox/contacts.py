"""The simulated server's directory: who is on WhatsApp, and the LID <-> phone mapping.

Every number is on WhatsApp except those the phone side marks as not (`mark_absent`). Each number
has a stable fake LID derived from it (`lid_of`), as WhatsApp gives every account one. A LID
resolves to its number only once the line has met that number (sent to it, received from it or
checked it): that is how WhatsApp's LID mapping behaves; an unknown LID answers exists=False.
Marks and meetings survive a worker restart (the engine's `ServerState` replays them).
"""

from __future__ import annotations

import hashlib

from wamesh.engines.rich import ContactInfo
from wamesh.errors import Unprocessable
from wamesh.jid import LID_SERVER, USER_SERVER, parse_phone

_LID_SALT = b"wamesh-sandbox-lid:"
_LID_LOW = 10**14  # 15 digits, like WhatsApp's LIDs


def lid_of(digits: str) -> str:
    """The fake LID of a phone number (digits): the same number always gets the same LID."""
    value = int.from_bytes(hashlib.sha256(_LID_SALT + digits.encode()).digest()[:8], "big")
    return f"{_LID_LOW + value % (9 * _LID_LOW)}@{LID_SERVER}"


def _digits(jid: str) -> str | None:
    """The phone number of a user JID (without a device suffix), else None."""
    user, _, server = jid.partition("@")
    return user.partition(":")[0] if server == USER_SERVER else None


class Directory:
    """Which numbers are on WhatsApp and which LIDs the line can map to a number."""

    def __init__(self) -> None:
        self._absent: set[str] = set()
        self._met: dict[str, str] = {}  # LID -> phone-number JID

    def mark_absent(self, phone: str) -> str:
        """`phone` is not on WhatsApp from now on; returns its digits."""
        digits = parse_phone(phone)
        self._absent.add(digits)
        return digits

    def require_on_whatsapp(self, jid: str, field: str = "to") -> None:
        """Unprocessable (`not_on_whatsapp`) for a number marked not on WhatsApp."""
        digits = _digits(jid)
        if digits is not None and digits in self._absent:
            message = f"{field}: {digits} is not on WhatsApp"
            raise Unprocessable(message, field, "not_on_whatsapp")

    def meet(self, jid: str) -> None:
        """The line sent to or received from `jid`: its LID now maps to it."""
        digits = _digits(jid)
        if digits is not None and digits not in self._absent:
            self._met[lid_of(digits)] = f"{digits}@{USER_SERVER}"

    def check(self, jid: str) -> ContactInfo:
        """A number or LID looked up (a number checked is met)."""
        if jid.endswith("@" + LID_SERVER):
            found = self._met.get(jid)
            if found is None or _digits(found) in self._absent:
                return ContactInfo(exists=False)
            return ContactInfo(True, found, jid)
        digits = _digits(jid)
        if digits is None or digits in self._absent:
            return ContactInfo(exists=False)
        self.meet(jid)
        return ContactInfo(True, f"{digits}@{USER_SERVER}", lid_of(digits))
