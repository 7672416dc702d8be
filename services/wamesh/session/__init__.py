"""The session worker: one process per line (`wamesh session --id <uuid>`).

Modules, outside in: `cli` (the command) -> `worker` (lease, gRPC server, signals, shutdown order)
-> `servicer` (thin gRPC handlers) -> `line` (the line's runtime: engine events to status, outbox
and subscribers; send; logout; restart) -> `store` (its SQL) and `hub` (in-process subscribers).
"""
