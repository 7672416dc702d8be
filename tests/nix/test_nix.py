"""What can be checked of the Nix build with Debian's Nix 2.8, offline: every .nix file parses,
the pure helpers evaluate, the flake's apps reach the CLI with their arguments, the app names and
entry points agree with pyproject.toml, and uv.lock is current. These fail (never skip) when
nix-instantiate is missing."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from wamesh.cli import _COMMANDS

ROOT = Path(__file__).resolve().parents[2]
STUBS = Path(__file__).resolve().parent / "stub-inputs.nix"


def _nix_instantiate() -> str:
    found = shutil.which("nix-instantiate")
    if found is None:
        raise RuntimeError(
            "nix-instantiate is needed: apt-get install -y nix-bin (make test installs it)"
        )
    return found


def _eval(expression: str) -> object:
    done = subprocess.run(
        [_nix_instantiate(), "--eval", "--strict", "--json", "-E", expression],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _tracked_nix_files() -> list[str]:
    done = subprocess.run(
        ["git", "ls-files", "*.nix"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def _flake(attr: str) -> str:
    return (
        f"let inputs = import {STUBS}; o = (import ./flake.nix).outputs "
        f"(inputs // {{ self = o; }}); in {attr}"
    )


class TestParse:
    """Every tracked .nix file is valid Nix (syntax and scoping)."""

    def test_every_nix_file_parses(self) -> None:
        files = _tracked_nix_files()
        assert "flake.nix" in files
        for name in files:
            done = subprocess.run(
                [_nix_instantiate(), "--parse", name], cwd=ROOT, capture_output=True, text=True
            )
            assert done.returncode == 0, f"{name}: {done.stderr}"


class TestRoles:
    """The role table, its wrappers and the flake's apps."""

    def test_app_names_match_the_cli_subcommands(self) -> None:
        names = _eval("(import ./nix/lib/roles.nix).names")
        assert set(names) == {"session", "worker", "gateway", "dev", "migrate"}  # type: ignore[arg-type]
        assert set(names) <= set(_COMMANDS)  # type: ignore[arg-type]

    def test_flake_exposes_the_apps_and_images(self) -> None:
        apps = _eval(_flake('builtins.attrNames o.apps."x86_64-linux"'))
        assert set(apps) == {"session", "worker", "gateway", "dev", "migrate", "default"}  # type: ignore[arg-type]
        packages = _eval(_flake('builtins.attrNames o.packages."x86_64-linux"'))
        assert {"image-core", "image-session", "venv", "session", "gateway", "worker"} <= set(
            packages
        )  # type: ignore[arg-type]

    def test_nix_run_session_passes_its_arguments_to_wamesh_session(self) -> None:
        program = _eval(_flake('o.apps."x86_64-linux".session.program'))
        assert program == "/nix/store/stub-wamesh-session/bin/wamesh-session"
        text = _eval(_flake('o.packages."x86_64-linux".session.text'))
        assert isinstance(text, str)
        assert text.splitlines()[-1] == 'exec /nix/store/stub-wamesh-env/bin/wamesh session "$@"'
        assert (
            'WAMESH_CHROMIUM_PATH="${WAMESH_CHROMIUM_PATH:-/nix/store/stub-chromium/bin/chromium}"'
            in text
        )

    def test_gateway_and_worker_need_no_chromium(self) -> None:
        for role in ("gateway", "worker"):
            text = _eval(_flake(f'o.packages."x86_64-linux".{role}.text'))
            assert "CHROMIUM" not in str(text)
            assert str(text).endswith(f'wamesh {role} "$@"')

    @pytest.mark.parametrize("role", ["session", "worker", "gateway", "dev"])
    def test_wrappers_run_the_cli_in_the_wheel(self, role: str) -> None:
        scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
        assert scripts == {"wamesh": "wamesh.cli:main"}
        text = _eval(
            f'(import ./nix/lib/roles.nix).script {{ role = "{role}"; venv = "/v"; chromium = "/c"; '
            'cacert = "/ca"; fontconfig = "/f"; }'
        )
        assert str(text).splitlines()[-1] == f'exec /v/bin/wamesh {role} "$@"'


class TestLock:
    """uv.lock is current, and Nix reads the same versions from it."""

    def test_uv_lock_is_current(self) -> None:
        uv = shutil.which("uv")
        assert uv is not None, "uv is needed: pip install uv (make test installs it)"
        done = subprocess.run(
            [uv, "lock", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr

    def test_nix_reads_the_locked_versions(self) -> None:
        lock = tomllib.loads((ROOT / "uv.lock").read_text())
        locked = {p["name"]: p["version"] for p in lock["package"]}
        for name in ("playwright", "taskiq", "grpcio"):
            assert (
                _eval(f'((import ./nix/lib/uvlock.nix) ./uv.lock).version "{name}"') == locked[name]
            )
