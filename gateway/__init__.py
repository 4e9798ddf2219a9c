"""The gateway: HTTP for people and regional systems (/api/v1, health, metrics), auth and tenant scoping,
rate limits, problem+json errors, and read caches kept fresh by events. No business rules, no database."""
