"""gRPC reflection answers under `grpc.reflection.v1` (what grpcurl asks first) and `v1alpha`.

The v1 client is compiled here from `reflection_v1.proto`, written from gRPC's own v1 definition
(cited in that file), so the check does not rest on the server's assumption that v1 and v1alpha share
their wire format.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType

import grpc
import grpc.aio
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2 as alpha_pb2
from grpc_reflection.v1alpha import reflection_pb2_grpc as alpha_grpc
from grpc_tools import protoc

from wamesh.rpc.server import RunningServer, serve

PROTO = Path(__file__).with_name("reflection_v1.proto")
V1_METHOD = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"


@pytest.fixture(scope="module")
def v1_pb2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The v1 messages, compiled from the cited definition."""
    out = tmp_path_factory.mktemp("reflection_v1")
    code = protoc.main(["protoc", f"-I{PROTO.parent}", f"--python_out={out}", str(PROTO)])
    assert code == 0, "protoc could not compile reflection_v1.proto"
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("reflection_v1_pb2")
    finally:
        sys.path.remove(str(out))


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    async with serve("127.0.0.1", 0, lambda _server, _port: []) as running:
        yield running


async def ask_v1(port: int, v1: ModuleType, **request: str) -> object:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.stream_stream(
            V1_METHOD,
            request_serializer=v1.ServerReflectionRequest.SerializeToString,
            response_deserializer=v1.ServerReflectionResponse.FromString,
        )
        responses = [r async for r in call(iter([v1.ServerReflectionRequest(**request)]))]
    assert len(responses) == 1
    return responses[0]


async def test_v1_lists_services_including_both_reflection_names(
    server: RunningServer, v1_pb2: ModuleType
) -> None:
    response = await ask_v1(server.port, v1_pb2, list_services="")
    names = {s.name for s in response.list_services_response.service}
    assert {
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names


async def test_v1_returns_the_file_declaring_a_symbol(
    server: RunningServer, v1_pb2: ModuleType
) -> None:
    response = await ask_v1(server.port, v1_pb2, file_containing_symbol="grpc.health.v1.Health")
    files = response.file_descriptor_response.file_descriptor_proto
    declared = [descriptor_pb2.FileDescriptorProto.FromString(raw) for raw in files]
    assert any(
        f.package == "grpc.health.v1" and any(s.name == "Health" for s in f.service)
        for f in declared
    )


async def test_v1_unknown_symbol_is_not_found(server: RunningServer, v1_pb2: ModuleType) -> None:
    response = await ask_v1(server.port, v1_pb2, file_containing_symbol="no.such.Service")
    assert response.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]


async def test_v1alpha_still_answers(server: RunningServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = alpha_grpc.ServerReflectionStub(channel)
        call = stub.ServerReflectionInfo(
            iter([alpha_pb2.ServerReflectionRequest(list_services="")])
        )
        responses = [r async for r in call]
    names = {s.name for s in responses[0].list_services_response.service}
    assert "grpc.reflection.v1.ServerReflection" in names
