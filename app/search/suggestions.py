"""Did you mean: the indexed words near a word that is in no field at all (typo matching uses
them too), and the query with each unknown word replaced by its nearest indexed word.

A correction is offered only when the corrected words find something the user may see (the
search service checks that), so "did you mean" never gives away a hidden offer."""

from __future__ import annotations

from .index.schema import SCHEMA, SPELLING_FIELDS
from .query import Word, words_of

NEAR_LIMIT = 8


def _distance(a: str, b: str) -> int:
    """Edit distance counting a swap of neighbours as one edit (optimal string alignment)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def near_words(reader, raw: str) -> list[str]:
    """Indexed words (unstemmed, from the spell_* fields) within one edit of a word of up to
    four letters, two edits of a longer one, sharing its first letter: nearest and most
    frequent first, at most NEAR_LIMIT."""
    maxdist = 1 if len(raw) <= 4 else 2
    scores: dict[str, tuple[int, int]] = {}
    for fieldname in SPELLING_FIELDS:
        spelled = SCHEMA[fieldname].spelling_fieldname(fieldname)
        try:
            suggestions = list(reader.terms_within(spelled, raw, maxdist, prefix=1))
        except (KeyError, ValueError):
            continue
        for suggestion in suggestions:
            if suggestion == raw:
                continue
            distance = _distance(raw, suggestion)
            if distance > maxdist:
                continue
            frequency = reader.doc_frequency(spelled, suggestion)
            best_distance, total = scores.get(suggestion, (distance, 0))
            scores[suggestion] = (min(best_distance, distance), total + frequency)
    ranked = sorted(scores, key=lambda word: (scores[word][0], -scores[word][1], word))
    return ranked[:NEAR_LIMIT]


def nearest(raw: str, frequency: dict[str, int]) -> list[str]:
    """The words of `frequency` (word: how many documents have it) near `raw`, by the rule
    near_words applies to the index's words: within one edit of a word of up to four letters,
    two edits of a longer one, sharing its first letter; nearest and most frequent first."""
    maxdist = 1 if len(raw) <= 4 else 2
    scores = {
        word: (_distance(raw, word), -count)
        for word, count in frequency.items()
        if word != raw and word[:1] == raw[:1] and abs(len(word) - len(raw)) <= maxdist
    }
    ranked = sorted(
        (word for word, score in scores.items() if score[0] <= maxdist),
        key=lambda word: (*scores[word], word),
    )
    return ranked[:NEAR_LIMIT]


def correction(words: list[Word], near: list[list[str]]) -> list[Word] | None:
    """The query with each unknown word replaced by its nearest indexed word, if any changed."""
    corrected: list[Word] = []
    changed = False
    for word, candidates in zip(words, near, strict=True):
        replacement = words_of(candidates[0]) if candidates else []
        if replacement:
            corrected.append(replacement[0])
            changed = True
        else:
            corrected.append(word)
    return corrected if changed else None
