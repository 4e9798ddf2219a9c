"""The tenants service: regions as tenants and their configuration, agencies (OPD), accounts and tokens."""
