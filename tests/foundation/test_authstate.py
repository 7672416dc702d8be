"""Auth state keys and seals: the standard-library HKDF gives `cryptography`'s bytes (stored
states stay readable), and `cryptography` is loaded only to seal or unseal a state."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from wamesh.authstate import derive_key, seal, unseal
from wamesh.errors import AuthStateError

LINE = "00000000-0000-0000-0000-000000000001"


def _cryptography_hkdf(secret: str) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"wamesh-auth-state", info=b"aes-256-gcm"
    )
    return hkdf.derive(secret.encode())


class TestDeriveKey:
    """derive_key is HKDF-SHA256 with our salt and info, byte for byte."""

    @pytest.mark.parametrize("secret", ["test-auth-key", "", "ü" * 300, "x" * 4096])
    def test_equals_cryptography_hkdf(self, secret: str) -> None:
        assert derive_key(secret) == _cryptography_hkdf(secret)

    def test_a_state_sealed_with_the_old_key_unseals(self) -> None:
        blob = seal(_cryptography_hkdf("k"), LINE, b"state")
        assert unseal(derive_key("k"), LINE, blob) == b"state"

    def test_another_line_cannot_unseal(self) -> None:
        blob = seal(derive_key("k"), LINE, b"state")
        with pytest.raises(AuthStateError):
            unseal(derive_key("k"), "00000000-0000-0000-0000-000000000002", blob)


def test_deriving_a_key_loads_no_cryptography() -> None:
    code = (
        "import sys, wamesh.authstate as a; a.derive_key('k'); "
        "print(sorted(m for m in sys.modules if m.startswith('cryptography.hazmat')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
