"""The nameko edge written once: settings, database, outbox, events, RPC, metrics, logging, blobs."""
