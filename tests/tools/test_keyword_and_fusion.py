import numpy as np
import pytest

from agentic_rag.errors import ConfigurationError
from agentic_rag.tools.fusion import reciprocal_rank_fusion
from agentic_rag.tools.keyword_index import KeywordIndex, tokenize

TEXTS = [
    "The cat sat on the mat.",
    "Dogs and cats are common pets.",
    "The zygomorphic flower has bilateral symmetry.",
    "Flowers bloom in spring; the cat watches.",
]


def test_tokenize_lowercases_and_drops_stopwords():
    assert tokenize("The Cat and THE hat, 42 times!") == ["cat", "hat", "42", "times"]


def test_bm25_ranks_rare_term_first():
    index = KeywordIndex(TEXTS)
    hits = index.search("zygomorphic", k=3)
    assert hits[0][0] == 2 and len(hits) == 1 and hits[0][1] > 0


def test_bm25_returns_only_matching_positions_best_first():
    hits = KeywordIndex(TEXTS).search("cat", k=10)
    assert {pos for pos, _ in hits} == {0, 3}
    assert hits == sorted(hits, key=lambda h: -h[1])


def test_bm25_mask_filters_positions():
    mask = np.array([False, True, True, True])
    assert [pos for pos, _ in KeywordIndex(TEXTS).search("cat", k=5, allowed=mask)] == [3]


def test_bm25_edge_cases():
    assert KeywordIndex([]).search("cat", 3) == []
    index = KeywordIndex(TEXTS)
    assert index.search("the and of", 3) == []  # only stopwords
    assert index.search("unknownword", 3) == []
    assert index.search("cat", 0) == []
    assert len(index) == 4


def test_rrf_scores_on_hand_made_lists():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a", "d"]], k=60)
    scores = dict(fused)
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["b"] == pytest.approx(1 / 62)
    assert scores["d"] == pytest.approx(1 / 63)
    assert [item for item, _ in fused] == ["a", "c", "b", "d"]


def test_rrf_ties_are_deterministic():
    # x and y tie exactly (ranks 1+2 vs 2+1); the one that reached rank 1 in the earlier list wins.
    assert [i for i, _ in reciprocal_rank_fusion([["x", "y"], ["y", "x"]])] == ["x", "y"]
    assert [i for i, _ in reciprocal_rank_fusion([["y", "x"], ["x", "y"]])] == ["y", "x"]
    # p and q tie with the same best rank in different lists: the earlier list wins.
    assert [i for i, _ in reciprocal_rank_fusion([["p"], ["q"]])] == ["p", "q"]
    for _ in range(5):
        assert reciprocal_rank_fusion([[3, 1, 2], [2, 3, 1], [1, 2, 3]]) == reciprocal_rank_fusion(
            [[3, 1, 2], [2, 3, 1], [1, 2, 3]]
        )


def test_rrf_weights_duplicates_and_empty_lists():
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[], ["a"]]) == [("a", pytest.approx(1 / 61))]
    assert dict(reciprocal_rank_fusion([["a", "a", "b"]]))["a"] == pytest.approx(1 / 61)
    fused = reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0, 2.0])
    assert [i for i, _ in fused] == ["b", "a"]
    with pytest.raises(ConfigurationError):
        reciprocal_rank_fusion([["a"]], weights=[1.0, 2.0])
    with pytest.raises(ConfigurationError):
        reciprocal_rank_fusion([["a"]], k=-1)


def test_cjk_text_is_searched_by_character_bigrams():
    assert tokenize("API鍵の更新") == ["api", "鍵の", "の更", "更新"]
    assert tokenize("東") == ["東"] and tokenize("Who leads Harbor?") == ["leads", "harbor"]
    texts = ["署名鍵は九十日ごとに更新します。", "食堂は正午に開きます。", "東京オフィスの責任者は佐藤です。"]
    index = KeywordIndex(texts)
    assert index.search("鍵の更新", k=1)[0][0] == 0
    assert index.search("東京オフィス", k=1)[0][0] == 2
