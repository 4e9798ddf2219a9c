"""Message templates per type and language (Jinja2, sandboxed): Indonesian and English defaults, which a region may
override; an override is rendered against sample data when saved, so a broken one is refused then, not at send.

A region's template is untrusted code run on every message, so its language is cut down to what a message needs:
text, ``{{ values }}``, ``{% if %}``, comparisons, arithmetic and a few filters; no loops, assignments, macros or
calls. What is left runs once per node of a template of bounded length, and every value it makes (a repeated or
joined string, a power, a replacement) is checked against a size limit before it is made: rendering is bounded in
time and memory without threads or signals (the sender runs under eventlet)."""
from __future__ import annotations

import functools
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.compiler import CodeGenerator
from jinja2.defaults import DEFAULT_FILTERS
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mppi.contracts.common import localize
from mppi.contracts.errors import ValidationFailed, field_error

MAX_TEXT = 10_000  # characters of any value a template makes, and of a rendered title or body
MAX_INT_BITS = 4096  # of a number a template computes (a 10**10**10 would take forever)


class TooCostly(SecurityError):
    """A template tried to make a value larger than the limits."""


# what a message template may contain: anything else is refused when it is compiled (so also at send time, for an
# override saved before these limits existed)
ALLOWED_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name, nodes.If, nodes.CondExpr,
    nodes.And, nodes.Or, nodes.Not, nodes.Neg, nodes.Pos, nodes.Compare, nodes.Operand, nodes.Concat,
    nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow,
    nodes.Filter, nodes.Test, nodes.Keyword, nodes.Getattr, nodes.Getitem, nodes.Slice, nodes.Tuple, nodes.List,
)
NOT_ALLOWED = {nodes.For: "loops ({% for %})", nodes.Assign: "assignments ({% set %})",
               nodes.AssignBlock: "assignments ({% set %})", nodes.Macro: "macros", nodes.CallBlock: "{% call %}",
               nodes.Call: "calls (use a filter: {{ x|upper }})", nodes.Dict: "dict literals",
               nodes.With: "{% with %}", nodes.FilterBlock: "{% filter %}", nodes.Block: "blocks",
               nodes.Extends: "{% extends %}", nodes.Include: "{% include %}", nodes.Import: "imports",
               nodes.FromImport: "imports"}
FILTERS = ("abs", "capitalize", "count", "d", "default", "e", "escape", "first", "float", "int", "last", "length",
           "lower", "replace", "reverse", "round", "string", "title", "trim", "truncate", "upper", "wordcount")


def _size(value: Any, limit: int = MAX_TEXT) -> int:
    """Roughly how many characters ``value`` prints as; stops counting past ``limit``."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() // 3 + 1
    if isinstance(value, (list, tuple)):
        total = 2
        for item in value:
            total += _size(item, limit - total) + 2
            if total > limit:
                break
        return total
    if isinstance(value, dict):
        total = 2
        for k, v in value.items():
            total += _size(k, limit - total) + _size(v, limit - total) + 4
            if total > limit:
                break
        return total
    return 20  # floats, undefined values and the like


def _bounded(value: Any, what: str = "a value") -> Any:
    if _size(value) > MAX_TEXT:
        raise TooCostly(f"{what} longer than {MAX_TEXT} characters")
    return value


def _bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


class _BoundedCodeGenerator(CodeGenerator):
    def visit_Concat(self, node: nodes.Concat, frame) -> None:  # noqa: N802 - Jinja's visitor name
        """``a ~ b`` through the size check below instead of Jinja's plain join."""
        self.write("environment.concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class MessageEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, cut down to message templates and with every growing operation checked before it runs."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        # not optimized: the optimizer would evaluate constant expressions (a 9**9**9) while compiling
        super().__init__(undefined=StrictUndefined, autoescape=False, trim_blocks=True, optimized=False,
                         finalize=lambda value: _bounded(value, "an output"))
        self.globals.clear()
        self.filters = {name: _guarded(DEFAULT_FILTERS[name]) for name in FILTERS}
        self.filters["replace"] = _replace

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for node in tree.find_all(nodes.Node):
            if not isinstance(node, ALLOWED_NODES):
                what = next((label for kind, label in NOT_ALLOWED.items() if isinstance(node, kind)),
                            type(node).__name__)
                raise TemplateSyntaxError(f"{what} cannot be used in a message template", node.lineno, name,
                                          filename)
        return tree

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if not all(isinstance(v, (int, float)) for v in (left, right)):
                raise TooCostly("** takes numbers")
            if isinstance(left, int) and isinstance(right, int) and (_bits(left) - 1) * right > MAX_INT_BITS:
                raise TooCostly(f"a number larger than {MAX_INT_BITS} bits")
        elif operator == "*":
            if isinstance(left, int) and isinstance(right, str) and not isinstance(left, bool):
                left, right = right, left
            if isinstance(left, str) and isinstance(right, int):
                if len(left) * right > MAX_TEXT:
                    raise TooCostly(f"a text longer than {MAX_TEXT} characters")
            elif not all(isinstance(v, (int, float)) for v in (left, right)):
                raise TooCostly("* repeats text or multiplies numbers")
            elif _bits(left) + _bits(right) > MAX_INT_BITS:
                raise TooCostly(f"a number larger than {MAX_INT_BITS} bits")
        elif operator == "%" and not all(isinstance(v, (int, float)) for v in (left, right)):
            raise TooCostly("% formatting cannot be used in a message template; use ~ and filters")
        elif operator == "+" and not all(isinstance(v, (int, float)) for v in (left, right)):
            if _size(left) + _size(right) > MAX_TEXT:
                raise TooCostly(f"a value longer than {MAX_TEXT} characters")
        return super().call_binop(context, operator, left, right)

    @staticmethod
    def concat(values: tuple) -> str:
        total = 0
        for value in values:
            total += _size(value)
            if total > MAX_TEXT:
                raise TooCostly(f"a text longer than {MAX_TEXT} characters")
        return "".join(map(str, values))


def _guarded(filter_):
    """A filter whose input and arguments are checked for size first (it keeps Jinja's pass_* marker)."""
    passes = hasattr(filter_, "jinja_pass_arg")

    def guarded(*args, **kwargs):
        for value in (*args[1 if passes else 0:], *kwargs.values()):
            _bounded(value, "a filter's input")
        return filter_(*args, **kwargs)

    if passes:
        guarded.jinja_pass_arg = filter_.jinja_pass_arg
    return functools.update_wrapper(guarded, filter_)


def _replace(s: Any, old: Any, new: Any, count: int | None = None) -> str:
    s, old, new = str(_bounded(s)), str(_bounded(old)), str(_bounded(new))
    found = (s.count(old) if old else len(s) + 1)
    if count is not None and count >= 0:
        found = min(found, count)
    if len(s) + found * (len(new) - len(old)) > MAX_TEXT:
        raise TooCostly(f"a text longer than {MAX_TEXT} characters")
    return s.replace(old, new, -1 if count is None else count)


ENV = MessageEnvironment()

STATUS_LABELS = {
    "id": {"submitted": "diterima", "in_review": "sedang diperiksa", "revision_requested": "perlu perbaikan",
           "approved": "disetujui", "rejected": "ditolak", "completed": "selesai"},
    "en": {"submitted": "received", "in_review": "under review", "revision_requested": "needs changes",
           "approved": "approved", "rejected": "rejected", "completed": "completed"},
}

DEFAULTS: dict[tuple[str, str], tuple[str, str]] = {
    ("application_submitted", "id"): (
        "Permohonan {{ tracking_number }} diterima",
        "Permohonan {{ service_name }} Anda di {{ tenant_name }} telah kami terima dengan nomor {{ tracking_number }}. "
        "Target selesai: {{ sla_due }}."),
    ("application_submitted", "en"): (
        "Application {{ tracking_number }} received",
        "Your application for {{ service_name }} in {{ tenant_name }} was received as {{ tracking_number }}. "
        "Due by {{ sla_due }}."),
    ("application_status_changed", "id"): (
        "Permohonan {{ tracking_number }} {{ status_label }}",
        "Status permohonan {{ service_name }} Anda kini: {{ status_label }}."
        "{% if note %} Catatan petugas: {{ note }}{% endif %}"),
    ("application_status_changed", "en"): (
        "Application {{ tracking_number }} {{ status_label }}",
        "Your {{ service_name }} application is now {{ status_label }}.{% if note %} Note: {{ note }}{% endif %}"),
    ("survey_invitation", "id"): (
        "Bagaimana layanan kami?",
        "Permohonan {{ tracking_number }} telah selesai diproses. Mohon isi survei kepuasan (SKM) untuk "
        "{{ service_name }}."),
    ("survey_invitation", "en"): (
        "How did we do?",
        "Your application {{ tracking_number }} has been dealt with. Please answer the satisfaction survey."),
    ("work_assigned", "id"): (
        "Tugas baru: {{ tracking_number }}",
        "Permohonan {{ service_name }} ({{ tracking_number }}) menunggu tindakan Anda di tahap {{ step }}. "
        "Batas waktu: {{ sla_due }}."),
    ("work_assigned", "en"): (
        "New work: {{ tracking_number }}",
        "Application {{ tracking_number }} ({{ service_name }}) waits for you at step {{ step }}. Due {{ sla_due }}."),
    ("sla_breached", "id"): (
        "Lewat batas waktu: {{ tracking_number }}",
        "Permohonan {{ service_name }} ({{ tracking_number }}) telah melewati batas waktu layanan."),
    ("sla_breached", "en"): (
        "Past due: {{ tracking_number }}",
        "Application {{ tracking_number }} ({{ service_name }}) is past its service deadline."),
    ("webhook_disabled", "id"): (
        "Webhook dinonaktifkan",
        "Semua pengiriman ke webhook {{ subscription_id }} gagal selama 3 hari, sehingga webhook dinonaktifkan. "
        "Periksa alamatnya lalu buat langganan baru."),
    ("webhook_disabled", "en"): (
        "Webhook disabled",
        "Every delivery to webhook {{ subscription_id }} failed for 3 days, so it was disabled. Check the endpoint "
        "and subscribe again."),
    ("sign_in_failures", "id"): (
        "Percobaan masuk gagal berulang ke akun Anda",
        "Ada {{ failures }} percobaan masuk dengan kata sandi yang salah ke akun Anda dalam {{ minutes }} menit "
        "terakhir. Jika itu bukan Anda, Anda tidak perlu berbuat apa-apa: alamat asal percobaan itu ditahan "
        "sementara, dan Anda tetap dapat masuk seperti biasa. Jangan berikan kata sandi Anda kepada siapa pun."),
    ("sign_in_failures", "en"): (
        "Repeated failed sign-ins to your account",
        "There were {{ failures }} sign-ins with a wrong password to your account in the last {{ minutes }} minutes. "
        "If that was not you, you need do nothing: the addresses they came from are held back for a while, and you "
        "can still sign in as usual. Never give your password to anyone."),
}
TYPES = sorted({t for t, _ in DEFAULTS})
SAMPLE = {"tracking_number": "SNJ-26-7K3Q9X", "service_name": "Akta Kelahiran", "tenant_name": "Kabupaten Sinjai",
          "status": "in_review", "status_label": "sedang diperiksa", "note": "Contoh catatan", "step": "verification",
          "sla_due": "04-12-2026 16:00", "subscription_id": "sub123", "failures": 10, "minutes": 5}


def render(type_: str, lang: str, params: dict[str, Any],
           overrides: dict[tuple[str, str], tuple[str, str]] | None = None) -> tuple[str, str]:
    """Title and body of a message in ``lang`` (Indonesian when there is no such language)."""
    lang = lang if (type_, lang) in DEFAULTS else "id"
    title, body = (overrides or {}).get((type_, lang)) or DEFAULTS[(type_, lang)]
    values = {**params, "status_label": STATUS_LABELS[lang].get(params.get("status", ""), params.get("status", ""))}
    values["service_name"] = str(localize(params.get("service_name"), lang) or "")
    try:
        return _render(_compiled(title), values), _render(_compiled(body), values)
    except Exception:  # noqa: BLE001 - whatever a region's template does wrong, the message still goes out
        title, body = DEFAULTS[(type_, lang)]
        return _render(_compiled(title), values), _render(_compiled(body), values)


def _render(template, values: dict[str, Any]) -> str:
    """The template's text, refused once it passes MAX_TEXT characters (streamed, so it is never built whole)."""
    out, length = [], 0
    for chunk in template.generate(values):
        length += len(chunk)
        if length > MAX_TEXT:
            raise TooCostly(f"a message longer than {MAX_TEXT} characters")
        out.append(chunk)
    return "".join(out)


@functools.lru_cache(maxsize=2048)
def _compiled(source: str):
    """A template compiled once: compiling is most of rendering's cost (a region's overrides are few)."""
    return ENV.from_string(source)


def check_override(type_: str, lang: str, title: str, body: str) -> None:
    """Refuse an override that does not parse or render with the data its type provides."""
    problems = []
    if type_ not in TYPES:
        problems.append(field_error(["path", "type"], f"unknown type; one of {', '.join(TYPES)}"))
    if lang not in ("id", "en"):
        problems.append(field_error(["path", "language"], "id or en"))
    for name, text in (("title", title), ("body", body)):
        try:
            _render(ENV.from_string(text), SAMPLE)
        except TemplateError as exc:
            problems.append(field_error(["body", name], f"template error: {exc}"))
        except Exception as exc:  # noqa: BLE001 - 1/0, a number too long to print, a parser too deep: all refused
            problems.append(field_error(["body", name], f"template error: {type(exc).__name__}: {exc}"[:300]))
    if problems:
        raise ValidationFailed("the template cannot be used", problems)
