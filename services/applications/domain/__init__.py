"""Plain-Python rules of applications: the workflow state machine and SLA, form and file checks, tracking numbers
and verification codes (standard library, mppi.contracts and mppi.indonesia only)."""
