"""Alembic environment of this service (shared body in mppi.runtime.migrations)."""
from mppi.runtime.migrations import run_env

run_env()
