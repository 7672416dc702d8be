"""The committed Python generated from proto/ is what `make proto` would write now."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from wamesh.v1 import admin_pb2_grpc, common_pb2, session_pb2, session_pb2_grpc


def _load_generator(repo_root: Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "proto_generate", repo_root / "proto" / "generate.py"
    )
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestGeneratedCode:
    """Generated code is fresh and complete."""

    def test_committed_code_matches_a_fresh_generation(
        self, repo_root: Path, tmp_path: Path
    ) -> None:
        generator = _load_generator(repo_root)
        fresh = {p.name: p.read_text() for p in generator.generate(tmp_path)}
        committed_dir = repo_root / "proto" / "wamesh" / "v1"
        committed = {
            p.name: p.read_text()
            for p in committed_dir.iterdir()
            if p.name.endswith(generator.GENERATED_SUFFIXES)
        }
        assert sorted(fresh) == sorted(committed), "run `make proto` and commit the result"
        stale = [name for name in fresh if fresh[name] != committed[name]]
        assert stale == [], f"stale generated files {stale}: run `make proto` and commit"

    def test_every_request_names_its_session(self) -> None:
        service = session_pb2.DESCRIPTOR.services_by_name["SessionService"]
        for method in service.methods:
            assert "session_id" in method.input_type.fields_by_name, method.name

    def test_services_are_importable_as_wamesh_v1(self) -> None:
        assert hasattr(session_pb2_grpc, "SessionServiceStub")
        assert hasattr(admin_pb2_grpc, "SessionAdminServiceServicer")
        assert common_pb2.SessionStatus.Name(3) == "SESSION_STATUS_READY"
