"""The sandbox engine: a simulated phone and WhatsApp server, for offline use and users' own CI.

- `engine`: `SandboxEngine`, the line (the `Engine` interface, rich messages, the simulated phone);
- `config`: `SandboxConfig`, its timing and storage, and `fake_own_jid`;
- `pairing`: `PairingScreen`, the QR codes and pairing codes an unpaired line shows;
- `sent_log`: `SentLog`, what the simulated server received, fsynced to `sent.jsonl`;
- `server_state`: `ServerState`, what else the server knows (marks, groups, received messages),
  fsynced to `server.jsonl` and replayed when a worker restarts;
- `contacts`: `Directory`, who is on WhatsApp and the LID <-> phone mapping (`lid_of`);
- `groups`: `Groups`, the groups the phone side puts the line in and their members;
- `inbound`: `Inbound`, what a contact sends the line from the simulated phone.
"""

from wamesh.engines.sandbox.config import (
    PAIRING_CODE_TTL_S,
    RECONNECT_DELAY_S,
    SandboxConfig,
    fake_own_jid,
)
from wamesh.engines.sandbox.contacts import Directory, lid_of
from wamesh.engines.sandbox.engine import SandboxEngine
from wamesh.engines.sandbox.groups import Groups
from wamesh.engines.sandbox.inbound import MEDIA_CHUNK, Inbound
from wamesh.engines.sandbox.pairing import PAIRING_CODE_ALPHABET, PairingScreen, new_pairing_code
from wamesh.engines.sandbox.sent_log import SandboxAction, SentLog

__all__ = [
    "MEDIA_CHUNK",
    "PAIRING_CODE_ALPHABET",
    "PAIRING_CODE_TTL_S",
    "RECONNECT_DELAY_S",
    "Directory",
    "Groups",
    "Inbound",
    "PairingScreen",
    "SandboxAction",
    "SandboxConfig",
    "SandboxEngine",
    "SentLog",
    "fake_own_jid",
    "lid_of",
    "new_pairing_code",
]
