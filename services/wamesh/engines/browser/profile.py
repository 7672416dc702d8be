"""Auth state of the browser engine: the profile's `Default/IndexedDB` and `Default/Local Storage`.

Playwright's `storage_state` cannot carry WhatsApp's non-extractable CryptoKey (measured), so the
state is a gzipped tar of those two Chromium folders, the way whatsapp-web.js' RemoteAuth does it.
The profile folder is scratch: it is wiped and rebuilt from PostgreSQL's copy at every start.
"""

from __future__ import annotations

import io
import logging
import shutil
import tarfile
from pathlib import Path

_LOGGER = logging.getLogger(__name__)
KEPT = ("Default/IndexedDB", "Default/Local Storage")


def pack(profile: Path) -> bytes | None:
    """The archive of the kept folders, or None when there is nothing to keep."""
    present = [name for name in KEPT if (profile / name).is_dir()]
    if not present:
        return None
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name in present:
            archive.add(profile / name, arcname=name)
    return buffer.getvalue()


def wipe(profile: Path) -> None:
    """Remove the profile folder and create it empty."""
    shutil.rmtree(profile, ignore_errors=True)
    profile.mkdir(parents=True, exist_ok=True)


def restore(profile: Path, state: bytes) -> bool:
    """Unpack into a wiped profile; False (and an empty profile) when the archive is unusable."""
    wipe(profile)
    try:
        with tarfile.open(fileobj=io.BytesIO(state), mode="r:gz") as archive:
            allowed = {tuple(name.split("/")) for name in KEPT}
            if any(tuple(m.name.split("/", 2)[:2]) not in allowed for m in archive.getmembers()):
                raise tarfile.TarError("unexpected paths in the archive")
            archive.extractall(profile, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        _LOGGER.error(
            "restoring the browser profile failed (%s); the line will ask for a QR again", exc
        )
        wipe(profile)
        return False
    return True
