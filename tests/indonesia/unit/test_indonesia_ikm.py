"""SKM/IKM per PermenPANRB 14/2017: exact 1/9 weights, half-up rounding at the end, grade bands."""

from decimal import Decimal
from fractions import Fraction

import pytest

from mppi.indonesia.ikm import ELEMENTS, compute_ikm, grade_for, validate_answers

KEYS = list(ELEMENTS)


def respondents_with_total(respondents: int, total: int) -> list[dict[str, int]]:
    """Real answer sheets: everyone answers 4, then answers are lowered by one point at a time, sheet by
    sheet and element by element (4 -> 3 everywhere first, then 3 -> 2, …), until the grand total of all
    answers is ``total``."""
    sheets = [dict.fromkeys(KEYS, 4) for _ in range(respondents)]
    slots = 9 * respondents
    deficit = 36 * respondents - total
    assert 0 <= deficit <= 3 * slots  # every answer stays within 1..4
    for i in range(deficit):
        slot = i % slots
        sheets[slot // 9][KEYS[slot % 9]] -= 1
    return sheets


def sums_of(sheets: list[dict[str, int]]) -> dict[str, int]:
    for sheet in sheets:
        assert validate_answers(sheet) == []
    return {key: sum(sheet[key] for sheet in sheets) for key in KEYS}


def test_nine_elements_with_indonesian_names():
    assert KEYS == [f"u{i}" for i in range(1, 10)]
    assert ELEMENTS["u1"] == "Persyaratan"
    assert ELEMENTS["u9"] == "Penanganan pengaduan, saran dan masukan"


@pytest.mark.parametrize(
    ("score", "grade", "label"),
    [
        ("100.00", "A", "Sangat Baik"),
        ("88.31", "A", "Sangat Baik"),
        ("88.30", "B", "Baik"),
        ("76.61", "B", "Baik"),
        ("76.60", "C", "Kurang Baik"),
        ("65.00", "C", "Kurang Baik"),
        ("64.99", "D", "Tidak Baik"),
        ("25.00", "D", "Tidak Baik"),
    ],
)
def test_grade_bands_at_their_edges(score, grade, label):
    assert grade_for(Decimal(score)) == (grade, label)


def test_grade_is_taken_from_the_rounded_figure():
    assert grade_for(Decimal("88.305")) == ("A", "Sangat Baik")  # rounds half-up to 88.31
    assert grade_for(Decimal("88.3049")) == ("B", "Baik")


@pytest.mark.parametrize("score", ["24.99", "100.01"])
def test_grade_outside_the_scale_is_refused(score):
    with pytest.raises(ValueError):
        grade_for(Decimal(score))


def test_all_fours_is_100_and_all_ones_is_25():
    assert compute_ikm(dict.fromkeys(KEYS, 40), 10).score == Decimal("100.00")
    assert compute_ikm(dict.fromkeys(KEYS, 10), 10).score == Decimal("25.00")


def test_one_answer_point_moves_a_tenant_from_b_to_a():
    # 5,000 respondents, grand total 158,949: IKM = 25 × 158949 / (9 × 5000) = 88.305 exactly,
    # which rounds half-up to 88.31 -> A. One answer lower, 158,948: 88.3044… -> 88.30 -> B.
    a = compute_ikm(sums_of(respondents_with_total(5000, 158_949)), 5000)
    assert a.exact == Fraction("88.305")
    assert (a.score, a.grade, a.grade_label) == (Decimal("88.31"), "A", "Sangat Baik")
    b = compute_ikm(sums_of(respondents_with_total(5000, 158_948)), 5000)
    assert (b.score, b.grade) == (Decimal("88.30"), "B")


def test_small_surveys_at_the_a_b_edge():
    # 24 respondents, total 763: 25 × 763 / 216 = 88.3101… -> 88.31 -> A.
    assert compute_ikm(sums_of(respondents_with_total(24, 763)), 24).grade == "A"
    # 19 respondents, total 604: 25 × 604 / 171 = 88.3040… -> 88.30 -> B.
    result = compute_ikm(sums_of(respondents_with_total(19, 604)), 19)
    assert (result.score, result.grade) == (Decimal("88.30"), "B")


@pytest.mark.parametrize(
    ("total", "score", "grade"),
    [
        # 5,000 respondents: IKM = total / 1800.
        (137_889, "76.61", "B"),  # 76.605 exactly, half-up
        (137_888, "76.60", "C"),  # 76.6044…
        (116_991, "65.00", "C"),  # 64.995 exactly, half-up
        (116_990, "64.99", "D"),  # 64.9944…
    ],
)
def test_lower_band_edges_from_real_sums(total, score, grade):
    result = compute_ikm(sums_of(respondents_with_total(5000, total)), 5000)
    assert (result.score, result.grade) == (Decimal(score), grade)


def test_weight_one_ninth_differs_from_the_rounded_0111():
    # Every element's NRR = 17661 / 5000 = 3.5322.
    sums = dict.fromkeys(KEYS, 17_661)
    exact = compute_ikm(sums, 5000)
    assert exact.score == Decimal("88.31") and exact.grade == "A"
    nrr = Decimal(17_661) / Decimal(5000)
    with_0111 = (sum(nrr * Decimal("0.111") for _ in KEYS) * 25).quantize(Decimal("0.01"))
    with_011 = (sum(nrr * Decimal("0.11") for _ in KEYS) * 25).quantize(Decimal("0.01"))
    assert with_0111 == Decimal("88.22")  # would be graded B
    assert with_011 == Decimal("87.42")
    assert grade_for(with_0111)[0] == "B"


def test_element_nrr_is_shown_with_two_decimals():
    result = compute_ikm({**dict.fromkeys(KEYS, 10), "u1": 11}, 3)
    assert result.elements["u1"] == Decimal("3.67")  # 11/3 = 3.666…
    assert result.elements["u2"] == Decimal("3.33")
    assert result.respondents == 3


def test_no_respondents_gives_no_index():
    assert compute_ikm(dict.fromkeys(KEYS, 0), 0) is None


@pytest.mark.parametrize(
    "sums",
    [
        {**dict.fromkeys(KEYS, 10), "u1": 41},  # above 4 × respondents
        {**dict.fromkeys(KEYS, 10), "u1": 9},  # below 1 × respondents
        {key: 10 for key in KEYS[:8]},  # u9 missing
        {**dict.fromkeys(KEYS, 10), "u10": 10},
    ],
)
def test_impossible_sums_are_refused(sums):
    with pytest.raises(ValueError):
        compute_ikm(sums, 10)


def test_validate_answers_reports_each_problem():
    assert validate_answers(dict.fromkeys(KEYS, 4)) == []
    problems = validate_answers({**dict.fromkeys(KEYS[:8], 4), "u1": 5, "u2": True, "x": 1})
    assert "missing answer for u9 (Penanganan pengaduan, saran dan masukan)" in problems
    assert "unknown element 'x'" in problems
    assert "answer for u1 must be an integer from 1 to 4" in problems
    assert "answer for u2 must be an integer from 1 to 4" in problems
    assert len(problems) == 4


# --- reporting periods ---------------------------------------------------------------------------------------------

def test_a_period_is_a_year_or_a_quarter():
    import datetime as dt

    from mppi.indonesia.ikm import ReportingPeriod

    year = ReportingPeriod.parse("2026")
    assert (year.label, year.first_day, year.last_day) == ("2026", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    q3 = ReportingPeriod.parse("2026-Q3")
    assert (q3.label, q3.first_day, q3.last_day) == ("2026-Q3", dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    q4 = ReportingPeriod.parse("2026-Q4")
    assert (q4.first_day, q4.end) == (dt.date(2026, 10, 1), dt.date(2027, 1, 1))
    assert ReportingPeriod.year_of(dt.date(2026, 5, 2)) == year
    wit = dt.timezone(dt.timedelta(hours=9))
    start, end = q3.bounds(wit)
    assert start == dt.datetime(2026, 6, 30, 15, 0, tzinfo=dt.UTC)
    assert end == dt.datetime(2026, 9, 30, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("bad", ["", "26", "2026-Q5", "2026-Q0", "2026-q3", "2026Q3", "2026-S1", " 2026", "2026-",
                                 "0000", "2026\n", "١٢٣٤", None, 2026])
def test_a_malformed_period_is_refused(bad):
    from mppi.indonesia.ikm import ReportingPeriod

    with pytest.raises(ValueError):
        ReportingPeriod.parse(bad)
