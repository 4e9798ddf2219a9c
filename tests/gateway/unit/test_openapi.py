"""The OpenAPI document is generated from the same models and routes the gateway serves."""
from gateway.routes import api


def test_every_route_is_in_the_document_with_its_request_schema():
    doc = api.openapi(title="t", version="1")
    for route in api.routes:
        path = route.path.replace("<", "{").replace(">", "}")
        op = doc["paths"][path][route.method.lower()]
        assert str(route.status) in op["responses"]
        if route.body:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[-1] in doc["components"]["schemas"]
        if route.auth:
            assert "401" in op["responses"]


def test_patch_tenant_schema_refuses_unknown_fields():
    schema = api.openapi(title="t", version="1")["components"]["schemas"]["TenantPatch"]
    assert schema["additionalProperties"] is False
