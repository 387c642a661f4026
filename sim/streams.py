"""Named random streams: one per stochastic element, so variants share random numbers (CRN).

Each stream is a child of the replication's ``SeedSequence`` whose spawn key is derived from the
stream's name, so adding a person to the roster adds a stream without shifting anyone else's
draws, and replication *i* faces the same incidents in every variant.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Lazily created ``numpy.random.Generator`` per name, for one (seed, replication)."""

    def __init__(self, seed: int, replication: int = 0):
        self.seed = int(seed)
        self.replication = int(replication)
        self._root = np.random.SeedSequence(self.seed, spawn_key=(self.replication,))
        self._made: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._made.get(name)
        if gen is None:
            child = np.random.SeedSequence(
                self._root.entropy, spawn_key=(*self._root.spawn_key, stream_key(name))
            )
            gen = self._made[name] = np.random.Generator(np.random.PCG64(child))
        return gen

    @property
    def names(self) -> list[str]:
        return sorted(self._made)
