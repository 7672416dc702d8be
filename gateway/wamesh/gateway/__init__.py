"""The gateway: REST and gRPC fronts that route each call to the worker that owns the line."""
