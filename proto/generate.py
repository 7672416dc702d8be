"""Regenerate the committed Python for proto/wamesh/v1/*.proto (`make proto`).

Writes messages (`*_pb2.py`), gRPC stubs (`*_pb2_grpc.py`) and typed stubs for both (`.pyi`, by
mypy-protobuf) beside the protos, so the package imports as `wamesh.v1`. The versions of
grpcio-tools and mypy-protobuf are pinned by uv.lock, so the output is reproducible;
tests/contracts/test_generated_code.py fails when the committed files are stale.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = PROTO_ROOT / "wamesh" / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def proto_files() -> list[Path]:
    """The .proto sources, in a stable order."""
    return sorted(PACKAGE_DIR.glob("*.proto"))


def generate(out_root: Path) -> list[Path]:
    """Run protoc into `out_root` (which mirrors proto/) and return the files written."""
    well_known = resources.files("grpc_tools") / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_root}",
        f"--grpc_python_out={out_root}",
        f"--mypy_out={out_root}",
        f"--mypy_grpc_out={out_root}",
        *(str(p.relative_to(PROTO_ROOT)) for p in proto_files()),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed; see the messages above")
    out_dir = out_root / "wamesh" / "v1"
    return sorted(p for p in out_dir.iterdir() if p.name.endswith(GENERATED_SUFFIXES))


def main() -> None:
    """Regenerate in place: into a scratch folder first, so a protoc error leaves the committed
    code as it was."""
    with tempfile.TemporaryDirectory() as scratch:
        fresh = generate(Path(scratch))
        for stale in PACKAGE_DIR.iterdir():
            if stale.name.endswith(GENERATED_SUFFIXES):
                stale.unlink()
        for path in fresh:
            shutil.copyfile(path, PACKAGE_DIR / path.name)
            sys.stdout.write(f"wrote {(PACKAGE_DIR / path.name).relative_to(PROTO_ROOT.parent)}\n")


if __name__ == "__main__":
    main()
