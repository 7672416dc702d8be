"""What can be checked of the Nix build with Debian's Nix 2.8, offline: every .nix file parses; the
real flake.nix and nix/*.nix evaluate on the real uv2nix, pyproject.nix, build-system-pkgs and
nixpkgs lib (vendored, see tests/nix/vendor/SOURCES.md) with nixpkgs' packages modelled
(tests/nix/model/nixpkgs.nix); uv2nix selects a wheel for every package it resolves from uv.lock on
x86_64-linux and aarch64-linux; every app, package, image, dev shell and check evaluates; the
check's inputs hold what its tests run; flake.lock agrees with flake.nix's inputs. These fail (never
skip) when nix-instantiate is missing."""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from wamesh.cli import _COMMANDS

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SYSTEMS = ("x86_64-linux", "aarch64-linux")
ROLES = {"session", "worker", "gateway", "dev", "migrate"}
ARCH = {"x86_64-linux": "x86_64", "aarch64-linux": "aarch64"}


def _nix_instantiate() -> str:
    found = shutil.which("nix-instantiate")
    if found is None:
        raise RuntimeError(
            "nix-instantiate is needed: apt-get install -y nix-bin (make test installs it)"
        )
    return found


def _eval(expression: str) -> Any:
    done = subprocess.run(
        [_nix_instantiate(), "--eval", "--strict", "--json", "--readonly-mode", "-E", expression],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@functools.cache
def _harness(system: str, attr: str) -> Any:
    return _eval(f'(import ./tests/nix/harness.nix {{ system = "{system}"; }}).{attr}')


def _nix_files() -> list[Path]:
    skip = {".git", ".venv", "node_modules", ".wamesh"}
    return [p for p in ROOT.rglob("*.nix") if not skip & set(p.relative_to(ROOT).parts)]


def _lock() -> dict[str, Any]:
    return tomllib.loads((ROOT / "uv.lock").read_text())


class TestParse:
    """Every .nix file of the repository (vendored ones included) is valid Nix."""

    def test_every_nix_file_parses(self) -> None:
        files = _nix_files()
        assert ROOT / "flake.nix" in files
        assert len(files) > 50  # the vendored libraries are there
        for path in files:
            done = subprocess.run(
                [_nix_instantiate(), "--parse", str(path)], capture_output=True, text=True
            )
            assert done.returncode == 0, f"{path}: {done.stderr}"


class TestRoles:
    """The role table and the wrapper each app runs."""

    def test_app_names_match_the_cli_subcommands(self) -> None:
        names = _eval("(import ./nix/lib/roles.nix).names")
        assert set(names) == ROLES
        assert set(names) <= set(_COMMANDS)

    @pytest.mark.parametrize("role", sorted(ROLES))
    def test_wrappers_run_the_cli_in_the_wheel(self, role: str) -> None:
        scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
        assert scripts == {"wamesh": "wamesh.cli:main"}
        text = _eval(
            f'(import ./nix/lib/roles.nix).script {{ role = "{role}"; venv = "/v"; chromium = "/c"; '
            'cacert = "/ca"; fontconfig = "/f"; libmagic = "/m"; '
            'databasesPath = "/pg/bin:/redis/bin"; }'
        )
        assert text.splitlines()[-1] == f'exec /v/bin/wamesh {role} "$@"'
        assert ('export PATH="/pg/bin:/redis/bin${PATH:+:$PATH}"' in text) is (role == "dev")
        assert ("WAMESH_CHROMIUM_PATH" in text) is (role in {"session", "dev"})
        libmagic = 'export LD_LIBRARY_PATH="/m${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"'
        assert (libmagic in text) is (role in {"session", "dev"})


@pytest.mark.parametrize("system", SYSTEMS)
class TestFlakeEvaluates:
    """Every output of the real flake.nix evaluates for both systems."""

    def test_every_app_runs_its_role_wrapper(self, system: str) -> None:
        apps = _harness(system, "apps")
        packages = _harness(system, "packages")
        assert set(apps) == ROLES | {"default"}
        for name, app in apps.items():
            role = "gateway" if name == "default" else name
            assert app["type"] == "app"
            assert app["program"] == f"{packages[role]['path']}/bin/wamesh-{role}"
            assert app["description"], f"apps.{name} has no meta.description"

    def test_nix_run_session_passes_its_arguments_to_wamesh_session(self, system: str) -> None:
        text = _harness(system, "wrappers")["session"]
        assert re.fullmatch(
            r'exec /nix/store/\w+-wamesh-env/bin/wamesh session "\$@"', text.splitlines()[-1]
        )
        assert re.search(
            r'WAMESH_CHROMIUM_PATH="\$\{WAMESH_CHROMIUM_PATH:-/nix/store/\w+-chromium-model/bin/chromium\}"',
            text,
        )
        # The whatsmeow engine's neonize imports python-magic, which dlopens libmagic.so.1.
        assert re.search(r'LD_LIBRARY_PATH="/nix/store/\w+-file-model/lib\$\{LD_LIBRARY_PATH', text)

    def test_nix_run_dev_has_postgresql_and_redis_on_path(self, system: str) -> None:
        text = _harness(system, "wrappers")["dev"]
        line = next(x for x in text.splitlines() if x.startswith("export PATH="))
        assert re.search(
            r"/nix/store/\w+-postgresql-model/bin:/nix/store/\w+-redis-model/bin", line
        )

    def test_every_package_evaluates(self, system: str) -> None:
        packages = _harness(system, "packages")
        assert set(packages) == ROLES | {"venv", "default", "image-core", "image-session"}
        for name, drv in packages.items():
            assert drv["path"].startswith("/nix/store/"), name

    def test_images_have_users_and_their_entry_points(self, system: str) -> None:
        images = _harness(system, "images")
        assert set(images) == {"image-core", "image-session"}
        for image in images.values():
            assert "fake-nss-model" in image["contentNames"]
            assert image["config"]["WorkingDir"] == "/tmp"
        assert images["image-core"]["config"]["Cmd"] == ["/bin/wamesh-gateway"]
        assert {"wamesh-gateway", "wamesh-worker", "wamesh-migrate"} <= set(
            images["image-core"]["contentNames"]
        )
        assert images["image-session"]["config"]["Cmd"] == ["/bin/wamesh-session"]
        assert {"wamesh-session", "chromium-model"} <= set(images["image-session"]["contentNames"])

    def test_dev_shell_venv_is_editable_from_repo_root(self, system: str) -> None:
        shell = _harness(system, "devShell")
        assert "wamesh-editable-env" in shell["packages"]
        assert "nixfmt-model" in shell["packages"]
        assert "export REPO_ROOT=$(git rev-parse --show-toplevel)" in shell["shellHook"]
        wamesh = _harness(system, "wamesh")
        assert wamesh["editableRoot"] == "$REPO_ROOT"
        # hatchling (pyproject.toml's build backend) comes into the editable venv with it
        assert "hatchling" in wamesh["editableDependencies"]
        venvs = _harness(system, "venvs")
        assert re.search(r"-wamesh-0\.1\.0(:|$)", venvs["editable"])

    def test_venvs_hold_every_resolved_package(self, system: str) -> None:
        venvs = _harness(system, "venvs")
        selection = _harness(system, "selection")
        default = {re.sub(r"^/nix/store/\w+-", "", p) for p in venvs["default"].split(":")}
        dev = {re.sub(r"^/nix/store/\w+-", "", p) for p in venvs["dev"].split(":")}
        assert default < dev
        assert {f"{n}-{s['version']}" for n, s in selection.items()} | {"wamesh-0.1.0"} == dev
        for name in ("grpcio", "playwright", "psycopg-binary", "neonize", "taskiq"):
            assert any(p.startswith(f"{name}-") for p in default), name
        for name in ("pytest", "mypy", "ruff"):
            assert any(p.startswith(f"{name}-") for p in dev - default), name

    def test_build_systems_are_wheels(self, system: str) -> None:
        assert _harness(system, "buildSystems") == {"hatchling": "wheel", "setuptools": "wheel"}

    def test_formatter_is_nixfmt(self, system: str) -> None:
        assert _harness(system, "formatter") == "nixfmt-model"


def _wheel_tags(filename: str) -> tuple[str, str, str]:
    python, abi, platform = filename.removesuffix(".whl").split("-")[-3:]
    return python, abi, platform


@pytest.mark.parametrize("system", SYSTEMS)
class TestWheelSelection:
    """uv2nix (real, vendored) picks a wheel for every package it resolves from uv.lock."""

    def test_every_resolved_package_is_a_wheel_for_this_system(self, system: str) -> None:
        selection = _harness(system, "selection")
        wheels = {
            (p["name"], p["version"]): {
                w["url"].rsplit("/", 1)[1]: w["url"] for w in p.get("wheels", [])
            }
            for p in _lock()["package"]
        }
        assert len(selection) > 60
        for name, chosen in selection.items():
            assert chosen["format"] == "wheel", f"{name}: uv2nix would build {chosen['format']}"
            listed = wheels[(name, chosen["version"])]
            assert chosen["file"] in listed, f"{name}: {chosen['file']} is not in uv.lock"
            assert chosen["url"] == listed[chosen["file"]]
            _, abi, platform = _wheel_tags(chosen["file"])
            assert platform == "any" or ARCH[system] in platform, f"{name}: {chosen['file']}"
            assert "manylinux" in platform or platform == "any", f"{name}: {chosen['file']}"
            assert abi in {"none", "abi3", "cp312"} or abi.startswith("cp312"), f"{name}: {abi}"

    def test_packages_left_out_are_behind_markers(self, system: str) -> None:
        selection = _harness(system, "selection")
        lock = _lock()
        left_out = {p["name"] for p in lock["package"] if "registry" in p["source"]} - set(
            selection
        )
        edges = [
            (p["name"], d)
            for p in lock["package"]
            for group in [
                p.get("dependencies", []),
                *p.get("optional-dependencies", {}).values(),
                *p.get("dev-dependencies", {}).values(),
            ]
            for d in group
        ]
        for name in left_out:
            into = [(src, d) for src, d in edges if d["name"] == name]
            unmarked = [src for src, d in into if "marker" not in d and src in selection]
            assert not unmarked, (
                f"{name} is needed by {unmarked} without a marker, yet not resolved"
            )

    def test_patch_level_of_python_does_not_matter(self, system: str) -> None:
        """The model's Python is 3.12.11; any 3.12.x resolves alike: no marker splits 3.12."""
        del system
        text = (ROOT / "uv.lock").read_text()
        bounds = set(re.findall(r"python_full_version [<>=!]+ '([\d.]+)'", text))
        assert bounds
        assert not [b for b in bounds if b.startswith("3.12")], bounds


class TestSource:
    """The wamesh package is built from its code alone: a README edit rebuilds nothing."""

    @staticmethod
    def _source(root: Path) -> str:
        command = _eval(
            "let lib = import ./tests/nix/vendor/nixpkgs/lib; "
            'pkgs = import ./tests/nix/model/nixpkgs.nix { inherit lib; system = "x86_64-linux"; }; '
            f"in (import ./nix/source.nix {{ inherit pkgs lib; root = {root}; }}).buildCommand"
        )
        found = re.search(r"cp -r (/nix/store/\S+) ", command)
        assert found, command
        return found.group(1)

    def test_readme_and_tests_do_not_change_the_source_code_does(self, tmp_path: Path) -> None:
        for name in ("proto/wamesh", "services/wamesh", "gateway/wamesh"):
            shutil.copytree(ROOT / name, tmp_path / name)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(ROOT / name, tmp_path / name)
        before = self._source(tmp_path)
        (tmp_path / "README.md").write_text("edited")
        (tmp_path / "tests").mkdir()
        (tmp_path / "tests" / "test_new.py").write_text("")
        assert self._source(tmp_path) == before
        (tmp_path / "services/wamesh/constants.py").write_text("# edited")
        assert self._source(tmp_path) != before

    def test_source_is_pyproject_and_the_three_package_roots(self, tmp_path: Path) -> None:
        expected = tmp_path / "wamesh-code"
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for name in ("proto/wamesh", "services/wamesh", "gateway/wamesh"):
            shutil.copytree(ROOT / name, expected / name, ignore=ignore)
        shutil.copy(ROOT / "pyproject.toml", expected / "pyproject.toml")
        added = subprocess.run(
            ["nix-store", "--add", str(expected)], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert self._source(ROOT) == added


class TestChecks:
    """checks.<system>.tests runs pytest with the programs its tests run, or without those tests."""

    # Programs the suite runs that the sandboxed check does not provide, and where they are run.
    ELSEWHERE = {
        "git": ("tests/bench",),  # tests/webhooks/scenarios.py old_services()
        "nix-instantiate": ("tests/nix",),
        "nix-store": ("tests/nix",),
        "uv": ("tests/nix",),
        "unshare": ("tests/whatsmeow/test_offline.py",),
        "ip": ("tests/whatsmeow/test_offline.py", "tests/netns"),
        "socat": ("tests/netns",),
        "chromium": ("browser",),
        "chromium-browser": ("browser",),
        "kill": ("bash builtin",),
    }
    _CALL = re.compile(
        r'(?:subprocess\.(?:run|Popen|check_output|check_call)|create_subprocess_exec)\(\s*\[?\s*"([^"]+)"',
        re.S,
    )
    _LOOKUP = re.compile(r'(?:shutil\.which|find_binary)\(\s*"([^"]+)"')

    def _programs_run(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        sources = [*(ROOT / "tests").rglob("*.py"), *(ROOT / "services/wamesh/dev").rglob("*.py")]
        for path in sources:
            rel = str(path.relative_to(ROOT))
            if rel.startswith("tests/bench/"):
                continue
            text = path.read_text()
            for name in {*self._CALL.findall(text), *self._LOOKUP.findall(text)}:
                found.setdefault(name, set()).add(rel)
        return found

    @pytest.mark.parametrize("system", SYSTEMS)
    def test_every_program_is_an_input_or_its_tests_are_excluded(self, system: str) -> None:
        check = _harness(system, "checks")["tests"]
        programs = set(check["programs"])
        assert {"initdb", "postgres", "redis-server", "pgbouncer", "curl"} <= programs
        assert {"postgresql-model", "redis-model", "pgbouncer-model", "curl-model"} <= set(
            check["inputs"]
        )
        for name, files in self._programs_run().items():
            if name in programs:
                continue
            assert name in self.ELSEWHERE, f"{sorted(files)} run {name}: add it to nix/checks.nix"
            for where in self.ELSEWHERE[name]:
                if where.startswith("tests/") and where != "tests/bench":
                    assert where in check["excluded"], f"{where} runs {name}"
        assert check["markers"] == "not browser"
        for path in check["excluded"]:
            assert f"--ignore={path}" in check["pytestArgs"]
            assert (ROOT / path).exists(), path

    def test_git_in_scenarios_serves_only_the_benchmarks(self) -> None:
        users = [
            str(p.relative_to(ROOT))
            for p in (ROOT / "tests").rglob("*.py")
            if "old_services(" in p.read_text() and p.name not in {"scenarios.py", "test_nix.py"}
        ]
        assert users
        assert all(u.startswith("tests/bench/") for u in users), users


class TestLock:
    """flake.lock pins every input of flake.nix; uv.lock is current."""

    def test_flake_lock_matches_flake_inputs(self) -> None:
        inputs = _eval(
            "builtins.mapAttrs (_: i: { url = i.url; follows = builtins.mapAttrs (_: f: f.follows)"
            " (i.inputs or { }); }) (import ./flake.nix).inputs"
        )
        lock = json.loads((ROOT / "flake.lock").read_text())
        assert lock["version"] == 7
        nodes = lock["nodes"]
        assert set(nodes[lock["root"]]["inputs"]) == set(inputs)
        for name, spec in inputs.items():
            node = nodes[nodes[lock["root"]]["inputs"][name]]
            original = node["original"]
            url = f"github:{original['owner']}/{original['repo']}"
            url += f"/{original['ref']}" if "ref" in original else ""
            assert url == spec["url"], name
            assert node.get("inputs", {}) == {k: [v] for k, v in spec["follows"].items()}, name
            locked = node["locked"]
            assert locked["type"] == "github"
            assert re.fullmatch(r"[0-9a-f]{40}", locked["rev"]), name
            assert re.fullmatch(r"sha256-[A-Za-z0-9+/]{43}=", locked["narHash"]), name

    def test_vendored_libraries_are_the_locked_revisions(self) -> None:
        lock = json.loads((ROOT / "flake.lock").read_text())["nodes"]
        sources = (HERE / "vendor" / "SOURCES.md").read_text()
        for name in ("uv2nix", "pyproject-nix", "pyproject-build-systems"):
            assert lock[name]["locked"]["rev"] in sources, name
        for folder in ("uv2nix", "pyproject.nix", "build-system-pkgs", "nixpkgs"):
            licence = HERE / "vendor" / folder / ("COPYING" if folder == "nixpkgs" else "LICENSE")
            assert "Permission is hereby granted" in licence.read_text(), folder

    def test_uv_lock_is_current(self) -> None:
        uv = shutil.which("uv")
        assert uv is not None, "uv is needed: pip install uv (make test installs it)"
        done = subprocess.run(
            [uv, "lock", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
