"""The book's monophonic melody model (SEEDS.md C, last item): an LSTM with attention over a window of notes.

Input: a window of SEQ_LEN notes, each two tokens (pitch id, duration id; genlab.data.melodies).
  pitch embedding (P -> 100) and duration embedding (D -> 100), concatenated -> (N, L, 200)
  -> LSTM 256 -> LSTM 256, every step's output kept             h: (N, L, 256)
  -> attention: a score per step e_t, weights alpha = softmax_t(e) over the window (they sum to 1), context
     c = sum_t alpha_t h_t                                                          (N, 256)
  -> pitch head Dense(P) and duration head Dense(D): logits of the next note's pitch and duration.
Two forms of the score (config.attention):
  "additive" (default): Bahdanau's additive attention with the last step as the query,
     e_t = v . tanh(W h_t + U h_L + b), W, U: 256 -> 128. The scores are unbounded, so the model can look
     hard at one note.
  "book": the book's Dense(1, tanh): e_t = tanh(w . h_t + b), no query. Its scores lie in [-1, 1], so no
     note can get more than e / (e + 31 / e) = 19% of the weight in a window of 32: the context is always a
     blur of the window, and such a model learned more slowly than counting pitch pairs (a bigram) here.
The vocabulary is part of the config, so a checkpoint carries the tokens its ids mean.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

MAX_VOCABULARY = 512
MAX_TOKEN = 40
ATTENTIONS = ("additive", "book")


def _default_pitches() -> list[str]:
    from ..data.melodies import load_melodies

    return [str(p) for p in load_melodies().pitches]


def _default_durations() -> list[str]:
    from ..data.melodies import load_melodies

    return [str(d) for d in load_melodies().durations]


@dataclass
class MelodyConfig:
    pitches: list = field(default_factory=_default_pitches)      # pitch tokens by id (0: START)
    durations: list = field(default_factory=_default_durations)  # duration tokens by id (0: "0", START's)
    seq_len: int = 32          # notes in the window (the book: 32)
    embed: int = 100           # size of each embedding (the book: 100)
    hidden: int = 256          # LSTM units (the book: 256)
    layers: int = 2            # stacked LSTMs (the book: 2)
    attention: str = "additive"  # "additive" (Bahdanau, the last step as query) or "book" (Dense(1, tanh))
    attention_size: int = 128  # additive: the size of W h_t + U h_L

    def __post_init__(self):
        for name in ("pitches", "durations"):
            tokens = getattr(self, name)
            if (not isinstance(tokens, list) or not 2 <= len(tokens) <= MAX_VOCABULARY
                    or not all(isinstance(t, str) and 0 < len(t) <= MAX_TOKEN for t in tokens)
                    or len(set(tokens)) != len(tokens)):
                raise ValueError(f"{name} must be a list of 2..{MAX_VOCABULARY} distinct tokens of at most "
                                 f"{MAX_TOKEN} characters")
        if self.attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}, got {self.attention!r}")
        for name, low, high in (("seq_len", 2, 256), ("embed", 2, 1024), ("hidden", 4, 2048), ("layers", 1, 4),
                                ("attention_size", 1, 2048)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer in {low}..{high}, got {value!r}")


class MelodyLSTM(nn.Module):
    kind = "melody"

    def __init__(self, config: MelodyConfig):
        super().__init__()
        self.config = config
        c = config
        self.pitch_embedding = nn.Embedding(len(c.pitches), c.embed)
        self.duration_embedding = nn.Embedding(len(c.durations), c.embed)
        self.lstm = nn.LSTM(2 * c.embed, c.hidden, num_layers=c.layers, batch_first=True)
        if c.attention == "book":
            self.attention = nn.Linear(c.hidden, 1)
        else:
            self.attention = AdditiveAttention(c.hidden, c.attention_size)
        self.pitch_head = nn.Linear(c.hidden, len(c.pitches))
        self.duration_head = nn.Linear(c.hidden, len(c.durations))

    @property
    def seq_len(self) -> int:
        return self.config.seq_len

    def _states(self, pitch_ids: torch.Tensor, duration_ids: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.pitch_embedding(pitch_ids), self.duration_embedding(duration_ids)], dim=-1)
        return self.lstm(x)[0]                                         # (N, L, hidden)

    def _scores(self, h: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """Scores (N, Q, L) of the L steps for each of the Q query steps (query: (N, Q, hidden))."""
        if self.config.attention == "book":
            return torch.tanh(self.attention(h)).squeeze(-1).unsqueeze(1).expand(-1, query.shape[1], -1)
        return self.attention(h, query)

    def forward(self, pitch_ids: torch.Tensor, duration_ids: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(N, L) pitch and duration ids -> (pitch logits (N, P), duration logits (N, D), attention (N, L))."""
        h = self._states(pitch_ids, duration_ids)
        alpha = torch.softmax(self._scores(h, h[:, -1:]), dim=-1)     # (N, 1, L)
        context = (alpha @ h).squeeze(1)                                # (N, hidden)
        return self.pitch_head(context), self.duration_head(context), alpha.squeeze(1)

    def forward_every_step(self, pitch_ids: torch.Tensor, duration_ids: torch.Tensor
                           ) -> tuple[torch.Tensor, torch.Tensor]:
        """The next note's logits after every prefix of the window, (N, L, P) and (N, L, D): at step t the
        attention runs over steps 1..t only (a causal mask) with step t as the query, so step L is exactly
        `forward`. Training on every step gives each window L targets for one LSTM pass."""
        h = self._states(pitch_ids, duration_ids)
        scores = self._scores(h, h)                                     # (N, L, L): [query t, step s]
        n = scores.shape[1]
        later = torch.ones(n, n, dtype=torch.bool, device=scores.device).triu(1)   # s after t
        alpha = torch.softmax(scores.masked_fill(later, -torch.inf), dim=-1)
        context = alpha @ h                                             # (N, L, hidden)
        return self.pitch_head(context), self.duration_head(context)


class AdditiveAttention(nn.Module):
    """Bahdanau's score v . tanh(W h_s + U q_t + b) of every step s for every query t."""

    def __init__(self, hidden: int, size: int):
        super().__init__()
        self.keys = nn.Linear(hidden, size)
        self.query = nn.Linear(hidden, size, bias=False)
        self.v = nn.Linear(size, 1, bias=False)

    def forward(self, h: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        mixed = torch.tanh(self.keys(h).unsqueeze(1) + self.query(query).unsqueeze(2))   # (N, Q, L, size)
        return self.v(mixed).squeeze(-1)                                                 # (N, Q, L)
