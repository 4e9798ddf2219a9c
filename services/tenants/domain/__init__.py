"""Plain-Python rules of the tenants service: what a tenant is made of and what makes an account valid."""
