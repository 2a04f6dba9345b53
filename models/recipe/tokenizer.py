"""The word tokenizer of byteedit-small; the TypeScript core implements exactly the same rules.

lowercase -> tokens = regex [a-z0-9]+ (everything else separates) -> ids from vocab.json
(unknown -> <unk>) -> [<bos>] + ids, truncated so that [<eos>] still fits maxLength -> [<eos>]
-> padded with <pad> to exactly maxLength. Ids: <pad> 0, <bos> 1, <eos> 2, <unk> 3.
"""
import re
from collections import Counter

SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]
WORD = re.compile(r"[a-z0-9]+")


def words(text):
    return WORD.findall(text.lower())


def build_vocab(base_words, captions, size):
    """Specials, then the fixed procedural words, then the most frequent caption words (ties by word)."""
    vocab = {}
    for w in SPECIALS + list(base_words):
        if w not in vocab:
            vocab[w] = len(vocab)
    counts = Counter(w for c in captions for w in words(c))
    for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= size:
            break
        if w not in vocab:
            vocab[w] = len(vocab)
    return vocab


class WordTokenizer:
    def __init__(self, vocab, max_length):
        assert [vocab[s] for s in SPECIALS] == [0, 1, 2, 3]
        self.vocab, self.max_length = vocab, max_length

    def encode(self, text):
        ids = [1] + [self.vocab.get(w, 3) for w in words(text)]
        ids = ids[: self.max_length - 1] + [2]
        return ids + [0] * (self.max_length - len(ids))
