"""`wamesh dev`: the mesh from one command, the README quickstart, the supervisor, a clean stop."""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from pathlib import Path

from tests.dev.conftest import DevMesh, alive, descendants, launch_dev, start_dev, stop_dev
from wamesh.dev.servers import free_port

README = Path(__file__).resolve().parents[2] / "README.md"


def _quickstart() -> str:
    text = README.read_text()
    block = text.split("<!-- quickstart:start -->", 1)[1].split("<!-- quickstart:end -->", 1)[0]
    return block.split("```sh", 1)[1].rsplit("```", 1)[0]


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class TestQuickstart:
    """The README's quickstart commands work against a running `wamesh dev`."""

    def test_readme_quickstart_commands(self, dev_mesh: DevMesh) -> None:
        script = _quickstart().replace("127.0.0.1:8080", f"127.0.0.1:{dev_mesh.http_port}")
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=dev_mesh.folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr + done.stdout + dev_mesh.output()
        out = done.stdout
        assert '"status": "ready"' in out
        assert '"message_id": "3EB0' in out
        assert re.search(r'"type": "message.received", "verified": true', out), out


class TestSupervisor:
    """A created line gets its worker at once; a deleted one loses it; a crashed one comes back."""

    def test_worker_follows_the_line(self, dev_mesh: DevMesh) -> None:
        status, created = dev_mesh.call("POST", "/v1/sessions", {"name": "followed"})
        assert status == 201
        line = created["session"]["id"]
        started = time.monotonic()
        _wait(
            lambda: dev_mesh.call("GET", f"/v1/sessions/{line}")[1]["worker"] is not None,
            15,
            "a worker",
        )
        assert time.monotonic() - started < 10
        pid = dev_mesh.call("GET", f"/v1/sessions/{line}")[1]["worker"]["pid"]
        subprocess.run(["kill", "-9", str(pid)], check=True)
        _wait(
            lambda: (
                (dev_mesh.call("GET", f"/v1/sessions/{line}")[1]["worker"] or {}).get("pid")
                not in (None, pid)
            ),
            30,
            "a restarted worker",
        )
        assert dev_mesh.call("DELETE", f"/v1/sessions/{line}")[0] == 204
        _wait(
            lambda: not any(line in p for p in _cmdlines()),
            20,
            "the worker of the deleted line to stop",
        )


def _cmdlines() -> list[str]:
    lines = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines.append(
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
            except OSError:
                continue
    return lines


class TestStop:
    """Stopping `wamesh dev` stops every process it started; its data survives a restart."""

    def test_sigterm_leaves_nothing_behind_and_data_is_kept(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="wamesh-dev-stop-"))
        folder.chmod(0o755)
        mesh = start_dev(folder)
        try:
            status, created = mesh.call("POST", "/v1/sessions", {"name": "kept"})
            assert status == 201
            _wait(
                lambda: (
                    mesh.call("GET", f"/v1/sessions/{created['session']['id']}")[1]["worker"]
                    is not None
                ),
                15,
                "a worker",
            )
            spawned = descendants(mesh.proc.pid)
            assert len(spawned) >= 5, spawned
        finally:
            stop_dev(mesh)
        assert mesh.proc.returncode == 0, mesh.output()
        assert alive(spawned) == set()
        again = start_dev(folder)
        try:
            names = [s["name"] for s in again.call("GET", "/v1/sessions")[1]["sessions"]]
            assert names == ["kept"]
        finally:
            stop_dev(again)


class TestPreflight:
    """A second `wamesh dev` on the same folder, or one whose port is taken, stops at once with
    one line (exit 2) and touches nothing of the running one."""

    def test_a_second_instance_and_a_taken_port_are_refused_in_one_line(
        self, dev_mesh: DevMesh
    ) -> None:
        second = launch_dev(dev_mesh.folder)
        assert second.proc.wait(timeout=60) == 2, second.output()
        [line] = second.output().strip().splitlines()
        assert "another `wamesh dev`" in line
        assert f"(pid {dev_mesh.proc.pid})" in line
        other = Path(tempfile.mkdtemp(prefix="wamesh-dev-port-"))
        taken = launch_dev(other, http_port=dev_mesh.http_port, grpc_port=free_port())
        assert taken.proc.wait(timeout=60) == 2, taken.output()
        [line] = taken.output().strip().splitlines()
        assert f"port {dev_mesh.http_port}" in line
        assert "--http-port" in line
        assert dev_mesh.call("GET", "/v1/sessions")[0] == 200  # the first one is untouched


class TestTerminalQr:
    """A line waiting for a scan can be shown in the terminal."""

    def test_qr_renders_as_block_characters(self) -> None:
        from wamesh.dev.terminal import render_terminal_qr

        drawing = render_terminal_qr("2@abc,def,ghi,jkl,chrome")
        lines = drawing.splitlines()
        assert len(lines) > 10
        assert any(ch in drawing for ch in "█▀▄")
