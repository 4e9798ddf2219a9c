"""The platform admin's pages: onboard a region, and the national view of adoption."""
