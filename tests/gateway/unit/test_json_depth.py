"""JSON nested ~300 levels in a service patch was a 500 (pen-test, Low): it is a 400 before anything walks it."""
import json

import pytest

from gateway.context import MAX_JSON_DEPTH, parse_json
from mppi.contracts.errors import BadRequest


def nested(levels: int) -> str:
    return "[" * (levels - 1) + '{"a": 1}' + "]" * (levels - 1)


def test_a_body_as_deep_as_the_limit_is_read_and_a_deeper_one_is_a_400():
    assert parse_json(nested(MAX_JSON_DEPTH), "the body")
    for levels in (MAX_JSON_DEPTH + 1, 300, 100_000):
        with pytest.raises(BadRequest):
            parse_json(nested(levels), "the body")


def test_wide_bodies_and_scalars_are_fine():
    assert parse_json(json.dumps({"k": [{"x": i} for i in range(10_000)]}), "the body")["k"][9_999] == {"x": 9_999}
    assert parse_json("3", "the body") == 3
    with pytest.raises(BadRequest):
        parse_json(b"\xff", "the body")
