"""Data shared across services: pydantic models of RPC payloads and events, and error codes."""
