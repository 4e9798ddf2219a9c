"""The notifications service: everything that leaves the platform (messages to people, the public feed, webhooks).
For now it keeps the directory of tenants it will address messages for."""
