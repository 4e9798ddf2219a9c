"""The catalog service (skeleton until its issue lands: database, outbox and health are in place)."""
