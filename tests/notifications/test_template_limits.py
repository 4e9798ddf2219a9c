"""A region's message template is untrusted code run on every message: one that would take long or build a huge
value is refused when saved, and one that got into the database anyway cannot stall the sender (its message goes
out in the default wording)."""
import time

import pytest

from mppi.contracts.errors import ValidationFailed
from services.notifications import templates

ATTACKS = {
    "huge repetition": "{{ 'a' * 10**10 }}",
    "huge loop": "{% for i in range(10**9) %}x{% endfor %}",
    "nested loops": "{% for a in 'x'*1000 %}{% for b in 'x'*1000 %}{% for c in 'x'*1000 %}{% endfor %}"
                    "{% endfor %}{% endfor %}",
    "doubling in a namespace": "{% set ns = namespace(s='a') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
                               "{% endfor %}{{ ns.s }}",
    "huge power": "{{ 9 ** 999999999 }}",
    "power tower": "{{ (10 ** 4000) ** 10 }}",
    "huge product": "{{ 10**4000 * 10**4000 }}",
    "printf repetition": "{{ '%s' * 1000000 }}",
    "printf width": "{{ '%0999999999d' % 1 }}",
    "format width": "{{ '{:>999999999}'.format(1) }}",
    "center": "{{ tracking_number.center(999999999) }}",
    "join of a big range": "{{ range(100000)|join('x' * 1000) }}",
    "replace growth": "{{ tracking_number|replace('', 'aaaaaaaaaa')|replace('', 'aaaaaaaaaa')"
                      "|replace('', 'aaaaaaaaaa') }}",
    "concatenation": "{{ ('a' * 9000) ~ ('a' * 9000) }}",
    "list repetition": "{{ [tracking_number] * 100000000 }}",
    "long output": "{{ 'a' * 6000 }}{{ 'a' * 6000 }}",
    "lipsum": "{{ lipsum(100000) }}",
    "recursive macro": "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "recursive block": "{% block b %}{{ self.b() }}{{ self.b() }}{% endblock %}",
    "deep nesting": "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}",
}


@pytest.mark.parametrize("source", ATTACKS.values(), ids=ATTACKS.keys())
def test_a_slow_or_huge_template_is_refused_when_saved(source):
    started = time.monotonic()
    with pytest.raises(ValidationFailed) as refused:
        templates.check_override("application_submitted", "id", "Judul", source)
    assert time.monotonic() - started < 1
    [problem] = refused.value.errors
    assert problem["loc"] == ["body", "body"] and problem["msg"].startswith("template error: ")


@pytest.mark.parametrize("source", ATTACKS.values(), ids=ATTACKS.keys())
def test_a_costly_template_in_the_database_still_sends_the_default_message_at_once(source):
    """As one saved before these limits: rendering it costs little and the default wording goes out."""
    started = time.monotonic()
    title, body = templates.render("application_submitted", "en", dict(templates.SAMPLE),
                                   {("application_submitted", "en"): (source, source)})
    assert time.monotonic() - started < 1
    assert (title, body) == templates.render("application_submitted", "en", dict(templates.SAMPLE))


def test_what_a_message_needs_still_works():
    source = ("{{ tracking_number|upper }} {{ '-' * 5 }} "
              "{% if note %}{{ note|truncate(9, leeway=0) }}{% else %}-{% endif %}"
              " {{ (service_name ~ '!')|length }} {{ 2 ** 10 + 1 }} {{ tracking_number[:3] }}"
              " {{ missing|default('n/a') if false else status|replace('_', ' ') }}")
    templates.check_override("application_submitted", "id", "Judul", source)
    title, body = templates.render("application_submitted", "id", dict(templates.SAMPLE),
                                   {("application_submitted", "id"): ("Judul", source)})
    assert body == "SNJ-26-7K3Q9X ----- Contoh... 15 1025 SNJ in review"


def test_a_long_text_up_to_the_limit_is_kept_whole():
    source = "{{ 'a' * 9000 }}" + "b" * 900
    templates.check_override("application_submitted", "id", "Judul", source)
    _, body = templates.render("application_submitted", "id", dict(templates.SAMPLE),
                               {("application_submitted", "id"): ("Judul", source)})
    assert body == "a" * 9000 + "b" * 900
