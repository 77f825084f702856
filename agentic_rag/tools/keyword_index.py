"""BM25 keyword search over chunk texts (bm25s), rebuilt in memory from the texts, never pickled."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np

__all__ = ["STOPWORDS", "tokenize", "KeywordIndex", "LazyKeywordIndex"]

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"\w+", re.UNICODE)

STOPWORDS: frozenset[str] = frozenset(
    """a an and are as at be been but by can could did do does for from had has have he her his how i if in
    into is it its me my no not of on or our she so such than that the their them then there these they this
    those to was we were what when where which who whom why will with would you your""".split()
)


# Chinese, Japanese and Korean scripts: no spaces between words, so a run of them is one \w+ token.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")


def _cjk_bigrams(run: str) -> list[str]:
    return [run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without English stopwords; runs of CJK characters as character bigrams."""
    tokens: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        if token in STOPWORDS:
            continue
        if not _CJK.search(token):
            tokens.append(token)
            continue
        position = 0
        for run in _CJK.finditer(token):  # "api鍵の更新" -> "api", "鍵の", "の更", "更新"
            if run.start() > position:
                tokens.append(token[position:run.start()])
            tokens.extend(_cjk_bigrams(run.group()))
            position = run.end()
        if position < len(token):
            tokens.append(token[position:])
    return tokens


class KeywordIndex:
    """BM25 (Lucene variant) over a fixed list of texts; results are positions in that list."""

    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s

        # bm25s sets its own logger to DEBUG on import; give the level back to the application.
        logging.getLogger("bm25s").setLevel(logging.NOTSET)
        self._size = len(texts)
        self._bm25: bm25s.BM25 | None = None
        if self._size:
            self._bm25 = bm25s.BM25()
            self._bm25.index([tokenize(t) for t in texts], show_progress=False)

    def __len__(self) -> int:
        return self._size

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` best ``(position, score)`` pairs with a positive score, best first.

        ``allowed`` is an optional boolean mask over positions (a source filter).
        """
        if self._bm25 is None or k < 1:
            return []
        token_ids = self._bm25.get_tokens_ids(tokenize(query))
        if not token_ids:
            return []
        scores = np.asarray(self._bm25.get_scores(token_ids), dtype=np.float64)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        candidates = np.flatnonzero(scores > 0)
        if candidates.size > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        # Sort by score, then by position, so equal scores come out in a stable order.
        order = sorted(candidates.tolist(), key=lambda i: (-scores[i], i))
        return [(i, float(scores[i])) for i in order]


class LazyKeywordIndex:
    """A :class:`KeywordIndex` over texts keyed by integer id, built at the first search after a change.

    ``texts()`` gives the current ``id -> text`` mapping; call :meth:`reset` whenever it changes.
    """

    def __init__(self, texts: Callable[[], Mapping[int, str]]) -> None:
        self._texts = texts
        self._built: tuple[KeywordIndex, np.ndarray] | None = None

    def reset(self) -> None:
        """Forget the index; the next search rebuilds it."""
        self._built = None

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` best ``(id, score)`` pairs, best first, among the ``allowed`` ids if given."""
        if self._built is None:
            texts = self._texts()
            ids = np.asarray(sorted(texts), dtype=np.int64)
            self._built = (KeywordIndex([texts[i] for i in ids.tolist()]), ids)
        index, ids = self._built
        mask = None if allowed is None else np.isin(ids, allowed)
        return [(int(ids[pos]), score) for pos, score in index.search(query, k, mask)]
