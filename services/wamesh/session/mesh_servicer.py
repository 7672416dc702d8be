"""MeshService on the worker: calls from the gateway that clients never make."""

from __future__ import annotations

from wamesh.reminders.runner import ReminderRunner
from wamesh.rpc.errors import translate_errors
from wamesh.session.line import Line
from wamesh.session.servicer import Context, check_line
from wamesh.v1 import mesh_pb2, mesh_pb2_grpc


class MeshServicer(mesh_pb2_grpc.MeshServiceServicer):
    """Wake-ups for the one line this worker serves."""

    def __init__(self, line: Line, reminders: ReminderRunner) -> None:
        self._line = line
        self._reminders = reminders

    @translate_errors
    async def WakeReminders(
        self, request: mesh_pb2.WakeRemindersRequest, context: Context
    ) -> mesh_pb2.WakeRemindersResponse:
        """Look for due reminders now (a reminder was created or moved)."""
        check_line(self._line, request.session_id)
        self._reminders.wake()
        return mesh_pb2.WakeRemindersResponse()

    @translate_errors
    async def Release(
        self, request: mesh_pb2.ReleaseRequest, context: Context
    ) -> mesh_pb2.ReleaseResponse:
        """Let the line go (deleted or stopped): the worker stops it and releases its lease."""
        check_line(self._line, request.session_id)
        (self._line.deleted if request.deleted else self._line.released).set()
        return mesh_pb2.ReleaseResponse()
