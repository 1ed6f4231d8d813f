"""The manager's Kubernetes adapters: the only place the manager talks to the API server."""
