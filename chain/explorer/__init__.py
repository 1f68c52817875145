"""The explorer: server-rendered pages over the node's gRPC port (docs/explorer.md)."""
