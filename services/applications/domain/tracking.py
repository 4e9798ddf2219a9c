"""Tracking numbers: short, readable aloud, unique, not guessable in sequence, e.g. ``BKT-26-7K3Q9X``."""
from __future__ import annotations

import secrets

# no 0/O, 1/I/L or U: nothing that is misread or misheard over the phone
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
VOWELS = set("aeiou")


def prefix_for(slug: str) -> str:
    """Three letters from the region's slug: the first letter of each word, then consonants of the first word."""
    words = [w for w in slug.split("-") if w and w not in {"kabupaten", "kota", "kab"}] or [slug]
    letters = [w[0] for w in words[:3]]
    for ch in words[0][1:]:
        if len(letters) >= 3:
            break
        if ch.isalpha() and ch not in VOWELS:
            letters.insert(len(letters) - (len(words[:3]) - 1), ch)
    while len(letters) < 3:
        letters.append("X")
    return "".join(letters[:3]).upper()


def new_tracking_number(slug: str, year: int) -> str:
    suffix = "".join(secrets.choice(ALPHABET) for _ in range(6))  # 30^6 ≈ 729 million per region and year
    return f"{prefix_for(slug)}-{year % 100:02d}-{suffix}"
