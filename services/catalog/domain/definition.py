"""Whether a service definition can be offered to citizens: the shape (pydantic) plus the rules that span fields,
each problem named by where it is (``["body", "form", "fields", 2, "key"]``)."""
from __future__ import annotations

from typing import Any

from mppi.contracts.catalog import ServiceDefinition
from mppi.contracts.errors import ValidationFailed, field_error, parse


def definition_problems(defn: ServiceDefinition, loc: tuple = ("body",)) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []

    def problem(path: tuple, msg: str) -> None:
        problems.append(field_error([*loc, *path], msg))

    seen: dict[str, int] = {}
    for i, f in enumerate(defn.form.fields):
        at = ("form", "fields", i)
        if f.key in seen:
            problem((*at, "key"), f"duplicate field key {f.key!r} (also field {seen[f.key]})")
        seen.setdefault(f.key, i)
        if f.type == "select":
            if not f.options:
                problem((*at, "options"), "a select field needs options")
            else:
                values = [o.value for o in f.options]
                if len(values) != len(set(values)):
                    problem((*at, "options"), "duplicate option values")
        elif f.options is not None:
            problem((*at, "options"), f"options apply only to select fields, not {f.type}")
        if f.type == "file":
            if not f.accept:
                problem((*at, "accept"), "a file field needs accept: the MIME types it takes")
            if f.max_size_mb is None:
                problem((*at, "max_size_mb"), "a file field needs max_size_mb")
        elif f.accept is not None or f.max_size_mb is not None:
            problem((*at, "accept" if f.accept is not None else "max_size_mb"), f"not for a {f.type} field")
        if f.level is not None and f.type != "region":
            problem((*at, "level"), "level applies only to region fields")
        if f.min is not None and f.max is not None and f.min > f.max:
            problem((*at, "min"), "min is above max")

    for i, r in enumerate(defn.standard.requirements):
        if r.field_key is not None:
            target = next((f for f in defn.form.fields if f.key == r.field_key), None)
            if target is None:
                problem(("standard", "requirements", i, "field_key"), f"no form field {r.field_key!r}")
            elif target.type != "file":
                problem(("standard", "requirements", i, "field_key"), f"field {r.field_key!r} is not a file field")

    steps = defn.workflow.steps
    step_keys: dict[str, int] = {}
    for i, s in enumerate(steps):
        at = ("workflow", "steps", i)
        if s.key in step_keys:
            problem((*at, "key"), f"duplicate step key {s.key!r}")
        step_keys.setdefault(s.key, i)
        if not s.roles:
            problem((*at, "roles"), f"no role can act on step {s.key!r}")
        if not s.actions:
            problem((*at, "actions"), f"step {s.key!r} has no actions")
        if len(set(s.actions)) != len(s.actions):
            problem((*at, "actions"), "duplicate actions")
        moves = {"verify", "approve", "complete"} & set(s.actions)
        if i < len(steps) - 1 and "complete" in s.actions:
            problem((*at, "actions"), f"step {s.key!r} completes the application but later steps follow it")
        if i < len(steps) - 1 and not moves:
            problem((*at, "actions"), f"step {s.key!r} has no action that moves on (verify or approve)")
    if not any("complete" in s.actions for s in steps):
        problem(("workflow", "steps"), "no terminal step: the last step must offer complete")
    fee = defn.standard.fee
    if (fee.amount > 0 or fee.kind == "variable") and fee.basis is None:
        problem(("standard", "fee", "basis"), "a fee needs its legal basis")
    return problems


def validate_definition(data: Any, loc: tuple = ("body",)) -> ServiceDefinition:
    """Parse and check a full definition; one 422 names every problem."""
    defn = parse(ServiceDefinition, data, loc=loc)
    problems = definition_problems(defn, loc)
    if problems:
        raise ValidationFailed("the service definition is not valid: " + "; ".join(p["msg"] for p in problems),
                               problems)
    return defn
