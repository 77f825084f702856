import random

import pytest

from agentic_rag.errors import ConfigurationError
from agentic_rag.tools.chunking import Chunker, chunk_id

WORDS = "alpha beta gamma delta river mountain city engine protein galaxy theorem novel".split()


def _random_text(seed: int, paragraphs: int = 12) -> str:
    rng = random.Random(seed)
    out = []
    for _ in range(paragraphs):
        sentences = []
        for _ in range(rng.randint(1, 8)):
            sentences.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 25))).capitalize() + ".")
        out.append(" ".join(sentences))
    sep = rng.choice(["\n\n", "\n", "\n\n\n", "  \n\n "])
    return sep.join(out)


REPEATED = ("The same sentence appears again and again in this file. " * 60).strip()
REPEATED_PARAGRAPHS = "\n\n".join(["A repeated paragraph about rivers and mountains."] * 40)
TEXTS = [
    _random_text(1),
    _random_text(2, 40),
    REPEATED,
    REPEATED_PARAGRAPHS,
    "  leading and trailing whitespace  \n\n" + _random_text(3) + "\n\n  ",
    "x" * 3000,  # no separators at all
    "Ünïcödé text — with dashes, “quotes” and emoji 🚀. " * 50,
    "short",
]


def _check(chunker: Chunker, text: str) -> None:
    chunks = chunker.split("doc.txt", text, "Doc")
    assert chunks, "every non-empty text gives chunks"
    previous = None
    for n, chunk in enumerate(chunks):
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.id == chunk_id("doc.txt", n) == f"doc.txt#{n}"
        assert chunk.number == n and chunk.source == "doc.txt" and chunk.title == "Doc"
        assert 0 < len(chunk.text) <= chunker.chunk_size
        if previous is not None:
            assert chunk.start > previous.start
            assert chunk.start >= previous.end - chunker.chunk_overlap  # overlap bounded
        previous = chunk


@pytest.mark.parametrize("size,overlap", [(800, 100), (200, 50), (100, 0), (64, 32), (30, 29)])
@pytest.mark.parametrize("text_index", range(len(TEXTS)))
def test_span_property_holds(size, overlap, text_index):
    _check(Chunker(size, overlap), TEXTS[text_index])


def test_span_property_on_many_random_texts():
    for seed in range(60):
        rng = random.Random(seed)
        size = rng.randint(40, 400)
        _check(Chunker(size, rng.randint(0, size // 2)), _random_text(seed, rng.randint(1, 20)))


def test_repeated_passages_get_increasing_distinct_spans():
    chunks = Chunker(120, 30).split("r.txt", REPEATED_PARAGRAPHS)
    starts = [c.start for c in chunks]
    assert starts == sorted(set(starts))
    # The last chunk really is at the end of the text, not at an earlier identical passage.
    assert chunks[-1].end == len(REPEATED_PARAGRAPHS)


def test_chunks_overlap_when_asked():
    chunks = Chunker(200, 60).split("a", _random_text(5, 30))
    assert any(b.start < a.end for a, b in zip(chunks, chunks[1:]))


def test_chunking_is_deterministic():
    text = _random_text(9, 25)
    assert Chunker(150, 40).split("s", text) == Chunker(150, 40).split("s", text)


def test_empty_text_has_no_chunks():
    assert Chunker().split("s", "") == []
    assert Chunker().split("s", "  \n ") == []


@pytest.mark.parametrize("size,overlap", [(0, 0), (100, 100), (100, -1)])
def test_invalid_settings_are_refused(size, overlap):
    with pytest.raises(ConfigurationError):
        Chunker(size, overlap)


def test_chunks_fit_what_the_embedding_model_reads_breadcrumb_included():
    from agentic_rag.knowledge.structure import Section

    def words(text: str) -> int:  # a stand-in tokenizer: one token a word
        return len(text.split())

    text = " ".join(f"word{i}" for i in range(100))
    chunker = Chunker(10_000, 0, max_tokens=30, count_tokens=words)
    chunks = chunker.split("doc", text, "Manual", sections=[Section(("Part one", "Setup"), 0, len(text))])
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.title == "Manual > Part one > Setup"
        assert 2 + words(chunk.title) + 1 + words(chunk.text) <= 30  # special tokens, breadcrumb, line break, text
        assert text[chunk.start:chunk.end] == chunk.text
    assert " ".join(c.text for c in chunks) == text
    # Counts of pieces add up: a text far below the limit is one chunk, however many words it has.
    short = " ".join(f"w{i}" for i in range(20))
    assert len(Chunker(10_000, 0, max_tokens=30, count_tokens=words).split("doc", short, "T")) == 1


def test_empty_sections_make_no_chunks():
    from agentic_rag.knowledge.structure import Section

    text = "alpha\n\n  \n\nbeta"
    sections = [Section(("A",), 0, 5), Section(("Blank",), 5, 9), Section(("B",), 11, 15)]
    chunks = Chunker(8, 0).split("doc", text, "T", sections=sections)
    assert [(c.title, c.text, c.number) for c in chunks] == [("T > A", "alpha", 0), ("T > B", "beta", 1)]


def test_chunker_for_a_sentence_transformers_model_counts_pieces_without_special_tokens():
    from agentic_rag.tools.chunking import chunker_for

    class Tokenizer:  # adds [CLS] and [SEP] when asked, as a BERT tokenizer does
        def __call__(self, text, add_special_tokens=True, verbose=True):
            ids = list(range(len(text.split())))
            return {"input_ids": [101, *ids, 102] if add_special_tokens else ids}

    class Client:
        tokenizer = Tokenizer()
        max_seq_length = 64

    class Embeddings:
        _client = Client()

    chunker = chunker_for(Embeddings())
    assert chunker.max_tokens == 64
    fifty_words = " ".join(f"w{i}" for i in range(50))
    assert len(chunker.split("doc", fifty_words, "T")) == 1  # 2 + 1 + 1 + 50 tokens: it fits
    chunks = chunker.split("doc", " ".join(f"w{i}" for i in range(200)), "T")
    assert len(chunks) > 3 and all(2 + 1 + 1 + len(c.text.split()) <= 64 for c in chunks)


def test_a_tiny_section_joins_the_chunk_before_it_when_both_fit():
    from agentic_rag.knowledge.structure import Section

    intro = "parcel-pulse sends shipment notifications to the people waiting for their parcels."
    owner = "It is owned by the Signal Harbor team."
    steps = "It listens to state changes. " * 10
    text = f"{intro}\n\n{owner}\n\n{steps.strip()}"
    sections = [Section((), 0, len(intro)), Section(("Ownership",), len(intro) + 2, len(intro) + 2 + len(owner)),
                Section(("How it works",), len(intro) + 4 + len(owner), len(text))]
    chunks = Chunker(400, 0).split("pp.md", text, "parcel-pulse", sections=sections)
    assert [(c.title, c.text) for c in chunks] == [
        ("parcel-pulse", f"{intro}\n\n{owner}"),  # the one-line section joined its predecessor
        ("parcel-pulse > How it works", steps.strip()),  # too large to join: a chunk of its own
    ]
    assert [c.number for c in chunks] == [0, 1] and all(text[c.start:c.end] == c.text for c in chunks)
    # Where the joined chunk would not fit, the tiny section stays apart.
    apart = Chunker(100, 0).split("pp.md", text, "parcel-pulse", sections=sections)
    assert apart[1].title == "parcel-pulse > Ownership" and apart[1].text == owner
