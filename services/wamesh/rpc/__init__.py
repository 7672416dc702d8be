"""gRPC plumbing shared by the session worker and the gateway: errors, auth, servers, clients."""
