"""How each nurse answers each request, drawn once per (request, nurse) pair from the seed: the
draw depends on nothing else (not the order of events, not the policy), so the platform and the
broadcast see exactly the same nurses answering the same way after the same delay."""

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from steering.simulation.params import SimulationParams


@dataclass(frozen=True)
class Answer:
    delay: timedelta  # from the moment she is asked
    accepts: bool


class NurseBehaviour:
    def __init__(self, params: SimulationParams):
        self.seed = params.seed
        self.answer_rate = params.answer_rate
        self.median_minutes = params.answer_median_minutes
        self.spread = params.answer_spread
        self.decline_rate = params.decline_rate
        self.answer = lru_cache(maxsize=None)(self._draw)

    def _draw(self, request_key: str, nurse_key: str) -> Answer | None:
        """Her answer, or None if she never answers this request."""
        digest = hashlib.sha256(f"{self.seed}:{request_key}:{nurse_key}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        answers = rng.random() < self.answer_rate
        minutes = self.median_minutes * math.exp(self.spread * rng.gauss(0.0, 1.0))
        accepts = rng.random() >= self.decline_rate
        if not answers:
            return None
        return Answer(timedelta(minutes=minutes), accepts)
