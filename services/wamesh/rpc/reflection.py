"""Server reflection under both names tools ask for: `grpc.reflection.v1` and `v1alpha`.

grpcio-reflection serves only v1alpha; grpcurl, Postman and newer clients ask for v1 first. The two
protocols are the same messages under another package: every field number of
`src/proto/grpc/reflection/v1/reflection.proto` (grpc/grpc a389e6fb) equals v1alpha's, so one
servicer answers both, with the v1 method decoded and encoded by the v1alpha message classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
import grpc.aio
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"


def enable_reflection(service_names: Sequence[str], server: grpc.aio.Server) -> None:
    """Answer reflection for `service_names` (and both reflection services) as v1 and v1alpha."""
    names = [*service_names, V1_SERVICE_NAME, reflection.SERVICE_NAME]
    servicer = reflection.aio.ReflectionServicer(names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    v1 = grpc.method_handlers_generic_handler(
        V1_SERVICE_NAME,
        {
            "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                servicer.ServerReflectionInfo,
                request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((v1,))
