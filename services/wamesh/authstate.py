"""Engine auth state at rest: AES-256-GCM encrypted in `session_auth`, last good copy kept.

The key is derived from WAMESH_AUTH_KEY with HKDF-SHA256 (any string works; a long random one is
best). Each row is `version byte || 12-byte nonce || ciphertext+tag`, with the line's id as
associated data, so a row copied to another line does not decrypt. Every save bumps `generation`
and moves the previous copy to `previous_state`; a load that cannot decrypt the current copy falls
back to the previous one. State bytes are never logged.

`cryptography` is imported only when a state is sealed or unsealed: a line that has none yet
(every sandbox line until it is paired) starts without it (README, "Budgets": start-up). The key
is derived with the standard library's HMAC (HKDF is two HMAC steps, RFC 5869), giving the same
bytes as `cryptography`'s HKDF (tested).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os

from wamesh.db.pool import Pool
from wamesh.errors import AuthStateError, ConfigError
from wamesh.settings import Settings

_LOGGER = logging.getLogger(__name__)
_FORMAT = b"\x01"
_NONCE_BYTES = 12
_DEV_KEY = "wamesh-dev-mode-insecure-auth-key"


_KEY_SALT = b"wamesh-auth-state"
_KEY_INFO = b"aes-256-gcm"


def derive_key(secret: str) -> bytes:
    """The 32-byte AES key for `secret`: HKDF-SHA256 (RFC 5869) with our salt and info; one
    expand block covers 32 bytes."""
    prk = hmac.new(_KEY_SALT, secret.encode(), hashlib.sha256).digest()
    return hmac.new(prk, _KEY_INFO + b"\x01", hashlib.sha256).digest()


def key_from_settings(settings: Settings) -> bytes:
    """The key from WAMESH_AUTH_KEY; in dev mode a fixed (insecure) key stands in when unset."""
    if settings.auth_key:
        return derive_key(settings.auth_key)
    if settings.dev_mode:
        _LOGGER.warning("WAMESH_AUTH_KEY is unset: dev mode encrypts auth state with a fixed key")
        return derive_key(_DEV_KEY)
    raise ConfigError(
        "WAMESH_AUTH_KEY is required: it encrypts each line's WhatsApp auth state in PostgreSQL "
        "(set any long random string, e.g. `openssl rand -base64 32`, and keep it: without it "
        "stored lines must scan a QR again)"
    )


def seal(key: bytes, session_id: str, state: bytes) -> bytes:
    """Encrypt `state` for `session_id`."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(_NONCE_BYTES)
    return _FORMAT + nonce + AESGCM(key).encrypt(nonce, state, session_id.encode())


def unseal(key: bytes, session_id: str, blob: bytes) -> bytes:
    """Decrypt; AuthStateError when the key, the line or the bytes do not match."""
    if not blob.startswith(_FORMAT) or len(blob) < 1 + _NONCE_BYTES + 16:
        raise AuthStateError("stored auth state has an unknown format")
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce, body = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, session_id.encode())
    except InvalidTag:
        raise AuthStateError(
            "stored auth state does not decrypt (wrong WAMESH_AUTH_KEY?)"
        ) from None


class AuthStore:
    """Load, save and purge one line's auth state."""

    def __init__(self, pool: Pool, key: bytes, session_id: str) -> None:
        self._pool = pool
        self._key = key
        self._session_id = session_id

    async def load(self) -> bytes | None:
        """The current state, or the previous one if the current cannot be read; None if none."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT state, previous_state, generation FROM wamesh.session_auth "
                "WHERE session_id = %s",
                (self._session_id,),
            )
            row = await cursor.fetchone()
        if row is None:
            return None
        for column in ("state", "previous_state"):
            if row[column] is None:
                continue
            try:
                return unseal(self._key, self._session_id, bytes(row[column]))
            except AuthStateError as exc:
                _LOGGER.error(
                    "auth state %s of generation %s unreadable: %s", column, row["generation"], exc
                )
        return None

    async def save(self, state: bytes) -> int:
        """Store a new generation, keeping the previous copy; return the generation."""
        blob = seal(self._key, self._session_id, state)
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                """
                INSERT INTO wamesh.session_auth (session_id, generation, state) VALUES (%s, 1, %s)
                ON CONFLICT (session_id) DO UPDATE SET
                    previous_state = session_auth.state,
                    previous_generation = session_auth.generation,
                    state = EXCLUDED.state,
                    generation = session_auth.generation + 1,
                    updated_at = now()
                RETURNING generation
                """,
                (self._session_id, blob),
            )
            row = await cursor.fetchone()
        assert row is not None
        return int(row["generation"])

    async def purge(self) -> None:
        """Forget the line's auth state (after a logout)."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "DELETE FROM wamesh.session_auth WHERE session_id = %s", (self._session_id,)
            )
