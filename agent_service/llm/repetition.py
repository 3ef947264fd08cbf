"""Noticing an answer that repeats itself, so a small model stops there instead
of filling the token limit with one paragraph over and over."""

from __future__ import annotations

WINDOW = 1200  # characters of the answer's tail looked at: the check costs the same at any length
MIN_PERIOD = 12
MIN_WORDS = 2


def repeats_itself(text: str) -> bool:
    """True when the answer ends with one passage written three times in a row
    (four times for a passage shorter than 40 characters): a loop, not a list."""
    tail = text[-WINDOW:]
    for period in range(MIN_PERIOD, len(tail) // 3 + 1):
        times = 4 if period < 40 else 3
        if period * times > len(tail):
            break
        unit = tail[-period:]
        if not all(tail[-period * (n + 1) : len(tail) - period * n] == unit for n in range(1, times)):
            continue
        if len(unit.split()) >= MIN_WORDS and any(c.isalpha() for c in unit):  # words, not a ruler of dashes
            return True
    return False
