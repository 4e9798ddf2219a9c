"""MPPI shared package: contracts (data), indonesia (domain knowledge), runtime (the nameko edge)."""
