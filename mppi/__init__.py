"""MPPI shared package: contracts (data), indonesia (domain knowledge), runtime (the nameko edge)."""

import warnings

# eventlet announces at import that it is in bugfix-only mode; we know (DESIGN.md, "Framework risk")
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
