"""Plain-Python rules of the catalogue: what makes a service definition valid, versions, template adoption."""
