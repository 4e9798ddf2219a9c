"""Indonesian search normalisation and a small in-memory index for service catalogues.

Shared by the catalogue service and the gateway cache so both agree on what a query means.
"""

from __future__ import annotations

import heapq
import math
import re
import unicodedata
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping

__all__ = [
    "DEFAULT_WEIGHTS",
    "SPELLING_VARIANTS",
    "SYNONYMS",
    "SearchIndex",
    "canonical",
    "concepts",
    "normalize",
    "tokens",
]

_APOSTROPHES = re.compile(r"['\u2018\u2019`\u00b4]")  # "Jum'at" -> "jumat", not "jum at"
_NON_WORD = re.compile(r"[\W_]+")  # \W is Unicode-aware: letters and digits of any script survive

# Single-token spellings people type, mapped to the official (KBBI / regulation) spelling. A value with a
# space expands into several tokens.
SPELLING_VARIANTS: dict[str, str] = {
    "ijin": "izin",
    "perijinan": "perizinan",
    "akte": "akta",
    "sertipikat": "sertifikat",  # BPN's own spelling
    "praktek": "praktik",
    "kwitansi": "kuitansi",
    "nomer": "nomor",
    "ektp": "e ktp",
    "ktpel": "ktp el",
    "pasport": "paspor",
    "passport": "paspor",
}

# Concept -> equivalent phrases (abbreviations, official names, old names, colloquial names). A document or
# query mentioning any phrase gets the concept as an extra term, so "izin bangunan" meets "PBG".
SYNONYMS: dict[str, tuple[str, ...]] = {
    "ktp": ("ktp", "ktp el", "e ktp", "kartu tanda penduduk", "kartu tanda penduduk elektronik"),
    "akta_kelahiran": ("akta kelahiran", "akta lahir", "akta kenal lahir"),
    "akta_kematian": ("akta kematian", "akta mati", "surat kematian"),
    "kk": ("kk", "kartu keluarga"),
    "kia": ("kia", "kartu identitas anak"),
    "skpwni": ("skpwni", "surat pindah", "surat keterangan pindah", "pindah domisili"),
    "pbg": (
        "pbg",
        "persetujuan bangunan gedung",
        "imb",
        "izin mendirikan bangunan",
        "izin bangunan",
        "izin membangun",
    ),
    "slf": ("slf", "sertifikat laik fungsi"),
    "skck": ("skck", "surat keterangan catatan kepolisian", "surat kelakuan baik"),
    "sktm": ("sktm", "surat keterangan tidak mampu"),
    "ak1": (
        "ak1",
        "ak 1",
        "ak i",
        "kartu ak1",
        "kartu kuning",
        "kartu pencari kerja",
        "kartu tanda pencari kerja",
    ),
    "pbb": ("pbb", "pbb p2", "pajak bumi dan bangunan", "pajak bumi bangunan"),
    "sip": ("sip", "surat izin praktik"),
    "nib": ("nib", "nomor induk berusaha"),
    "samsat": ("samsat", "pajak kendaraan", "pajak kendaraan bermotor", "pkb"),
    "bpjs_kesehatan": ("bpjs kesehatan", "jkn", "kis", "kartu indonesia sehat"),
    "paspor": ("paspor",),
    "nikah": ("pencatatan nikah", "pencatatan perkawinan", "daftar nikah", "buku nikah"),
    "legalisir": ("legalisir", "legalisasi"),
    "tdup": ("tdup", "tanda daftar usaha pariwisata"),
}

# name > abbreviation/keywords > category > description; unknown fields count like a description.
DEFAULT_WEIGHTS: dict[str, float] = {
    "name": 10.0,
    "abbreviation": 6.0,
    "abbreviations": 6.0,
    "keywords": 6.0,
    "category": 3.0,
    "description": 1.0,
}
_DEFAULT_FIELD_WEIGHT = 1.0
_PREFIX_FACTOR = 0.5  # a prefix match of the last query token is worth half an exact match
_MIN_PREFIX_LEN = 2  # a single letter would expand to most of the vocabulary
_MAX_PREFIX_TERMS = 100
_CONCEPT_MARK = "~"  # normalize() never produces it, so concept terms cannot clash with words


def normalize(text: str) -> str:
    """Casefold, strip accents, turn punctuation into spaces and collapse whitespace: "PÉRIZINAN (Izin)" ->
    "perizinan izin"."""
    decomposed = unicodedata.normalize("NFKD", str(text).casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = _APOSTROPHES.sub("", stripped)
    return " ".join(_NON_WORD.sub(" ", stripped).split())


def _respell(token: str) -> str:
    token = SPELLING_VARIANTS.get(token, token)
    # Covers derived forms too: perijinan, diijinkan, pengijinan.
    return token.replace("ijin", "izin")


def tokens(text: str) -> list[str]:
    """Normalised tokens with common spelling variants replaced by the official spelling."""
    out: list[str] = []
    for raw in normalize(text).split():
        out.extend(_respell(raw).split())
    return out


def canonical(text: str) -> str:
    """One string per meaning-equivalent spelling, e.g. for a cache key: the tokens joined by spaces."""
    return " ".join(tokens(text))


def _build_phrases() -> tuple[dict[tuple[str, ...], frozenset[str]], int]:
    phrases: dict[tuple[str, ...], set[str]] = {}
    for concept, variants in SYNONYMS.items():
        for variant in variants:
            phrases.setdefault(tuple(tokens(variant)), set()).add(concept)
    longest = max(len(p) for p in phrases)
    return {p: frozenset(c) for p, c in phrases.items()}, longest


_PHRASES, _LONGEST_PHRASE = _build_phrases()


def concepts(toks: list[str]) -> set[str]:
    """Concept names from :data:`SYNONYMS` whose phrases occur (as whole tokens) in ``toks``."""
    found: set[str] = set()
    n = len(toks)
    for i in range(n):
        for length in range(1, min(_LONGEST_PHRASE, n - i) + 1):
            hit = _PHRASES.get(tuple(toks[i : i + length]))
            if hit:
                found |= hit
    return found


def _terms(text: str) -> tuple[list[str], set[str]]:
    toks = tokens(text)
    return toks, {_CONCEPT_MARK + c for c in concepts(toks)}


class SearchIndex:
    """Inverted index over documents ``(doc_id, {field: text})``; rebuild it by constructing a new one.

    Score of a document = Σ over query units of (best field-weight sum × idf) × the share of units matched,
    where a unit is a query token (the last one also matching as a prefix) or a synonym concept it mentions.
    """

    def __init__(
        self,
        documents: Iterable[tuple[str, Mapping[str, str]]],
        *,
        weights: Mapping[str, float] | None = None,
    ) -> None:
        self.weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
        # term -> {doc_id: sum of the weights of the fields containing the term (each field once)}
        self._postings: dict[str, dict[str, float]] = {}
        self._doc_ids: set[str] = set()
        for doc_id, fields in documents:
            if doc_id in self._doc_ids:
                raise ValueError(f"duplicate document id {doc_id!r}")
            self._doc_ids.add(doc_id)
            for field_name, text in fields.items():
                if not text:
                    continue
                weight = self.weights.get(field_name, _DEFAULT_FIELD_WEIGHT)
                toks, concept_terms = _terms(text)
                for term in set(toks) | concept_terms:
                    posting = self._postings.setdefault(term, {})
                    posting[doc_id] = posting.get(doc_id, 0.0) + weight
        # Fold the idf in once here so a query only adds numbers up. Rarer terms weigh more ("ktp" beats
        # "surat"); the +1 keeps the weight positive when every document has the term.
        n_docs = len(self._doc_ids)
        for posting in self._postings.values():
            idf = math.log(1.0 + n_docs / len(posting))
            for doc_id in posting:
                posting[doc_id] *= idf
        # Sorted plain words (no concepts) for prefix lookups by bisection.
        self._vocabulary = sorted(t for t in self._postings if not t.startswith(_CONCEPT_MARK))

    def __len__(self) -> int:
        return len(self._doc_ids)

    def _prefix_terms(self, prefix: str) -> list[str]:
        start = bisect_left(self._vocabulary, prefix)
        found: list[str] = []
        for term in self._vocabulary[start : start + _MAX_PREFIX_TERMS + 1]:
            if not term.startswith(prefix):
                break
            if term != prefix:
                found.append(term)
        return found[:_MAX_PREFIX_TERMS]

    def _unit_scores(self, alternatives: list[tuple[str, float]]) -> dict[str, float]:
        # Best alternative per document, so a short prefix matching many words does not add them all up.
        postings = [(self._postings[t], f) for t, f in alternatives if t in self._postings]
        if len(postings) == 1 and postings[0][1] == 1.0:
            return postings[0][0]  # the common case: read-only use, no copy needed
        best: dict[str, float] = {}
        for posting, factor in postings:
            for doc_id, weight in posting.items():
                score = weight * factor
                if score > best.get(doc_id, 0.0):
                    best[doc_id] = score
        return best

    def search(self, q: str, limit: int = 20) -> list[tuple[str, float]]:
        """Documents matching ``q``, best first (score descending, then doc_id), at most ``limit``."""
        if limit <= 0:
            return []
        toks, concept_terms = _terms(q)
        if not toks:
            return []
        last = toks[-1]  # likely still being typed, so it also matches as a prefix
        units: list[list[tuple[str, float]]] = []
        for tok in dict.fromkeys(toks):  # repeated tokens count once
            alternatives = [(tok, 1.0)]
            if tok == last and len(tok) >= _MIN_PREFIX_LEN:
                alternatives += [(t, _PREFIX_FACTOR) for t in self._prefix_terms(tok)]
            units.append(alternatives)
        units += [[(c, 1.0)] for c in sorted(concept_terms)]

        totals: dict[str, float] = {}
        matched: Counter[str] = Counter()
        for alternatives in units:
            scores = self._unit_scores(alternatives)
            get = totals.get
            for doc_id, score in scores.items():
                totals[doc_id] = get(doc_id, 0.0) + score
            matched.update(scores.keys())  # counted in C
        n_units = len(units)
        final = {doc_id: total * matched[doc_id] / n_units for doc_id, total in totals.items()}
        # Only the top `limit` are ordered; equal documents get bit-identical sums, so ties go to doc_id.
        best = heapq.nsmallest(limit, final.items(), key=lambda item: (-item[1], item[0]))
        return [(doc_id, round(score, 6)) for doc_id, score in best]
