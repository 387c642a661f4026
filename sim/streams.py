"""Named random streams: one per stochastic element, so variants share random numbers (CRN).

A stream is a function of (seed, replication, name) alone, and is named by what it drives
(``fates``, ``answer:<person>:<incident>``, ...): adding a person to the roster adds a stream
without shifting anyone else's draws, and replication *i* faces the same incidents in every
variant.

Two kinds of stream, named alike:

- ``streams[name]``: a ``numpy.random.Generator`` (PCG64) seeded by the child of
  ``numpy.random.SeedSequence(seed, spawn_key=(replication,))`` whose spawn key is derived from
  the name: for the few streams that need numpy's distributions (the Poisson counts of
  stochastic incidents, a generated drill).
- ``streams.uniforms(name)``: a counter-based stream of uniforms. Block *k* (eight numbers) is
  a BLAKE2b hash of *k* keyed by a hash of (seed, replication, name): the design of Random123's
  Philox, with a cryptographic hash as the mixing function. Making one costs about a
  microsecond instead of the 25 µs of a ``SeedSequence`` + ``PCG64`` + ``Generator``; a run
  makes one per person phoned per incident, which made stream creation 14 % of a replication.
  Every duration is drawn from one uniform by its inverse CDF (:meth:`sim.scenario.Dist.sample`),
  so uniforms are all these streams need.
"""

from __future__ import annotations

import struct
import zlib
from hashlib import blake2b

import numpy as np

_TO_UNIT = 2.0**-53  # the top 53 bits of a 64-bit word, as a double on [0, 1)
_WORDS = struct.Struct("<8Q")


def stream_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


class Uniforms:
    """A counter-based stream of uniforms on [0, 1): block *k* of eight is a keyed hash of *k*.

    Offers ``random()`` (one number) and ``random(n)`` (a list), the part of
    ``numpy.random.Generator`` the model uses for durations, answers and fates, and
    ``pick(n, wanted)``: some of the next ``n`` numbers, the others skipped unmade."""

    __slots__ = ("_key", "_block", "_left")

    def __init__(self, key: bytes):
        self._key = key
        self._block = 0
        self._left: list[int] = []

    def _words(self, block: int) -> tuple[int, ...]:
        """Block ``block`` (from 1): a 64-byte keyed hash of its number, as eight 64-bit words."""
        return _WORDS.unpack(blake2b(block.to_bytes(8, "little"), key=self._key).digest())

    def random(self, n: int | None = None):
        if n is None:
            left = self._left
            if not left:  # the next block
                self._block += 1
                left = self._left = list(self._words(self._block))
                left.reverse()
            return (left.pop() >> 11) * _TO_UNIT
        words = self._left[::-1]  # what is left of the block, in draw order
        while len(words) < n:  # then whole new blocks, in order
            self._block += 1
            words.extend(self._words(self._block))
        rest = words[n:]
        rest.reverse()  # back on the stack, whose end is drawn first
        self._left = rest
        return [(w >> 11) * _TO_UNIT for w in words[:n]]

    def pick(self, n: int, wanted: tuple[int, ...]) -> list[float]:
        """Take ``n`` numbers and return those at offsets ``wanted`` (ascending, each < n): the
        same numbers ``random(n)`` gives there, and the stream goes on from the same place,
        but a block none of them falls in is never made (a fate's fixed durations are drawn
        for common random numbers, and never read)."""
        left, block = self._left, self._block
        start = 8 * block - len(left)  # numbers taken so far
        made: dict[int, tuple[int, ...]] = {}

        def words(b: int) -> tuple[int, ...]:  # each block made once here
            got = made.get(b)
            if got is None:
                got = made[b] = self._words(b)
            return got

        out = []
        for j in wanted:
            at = start + j
            # still in the block on the stack (its end is drawn first), or in a later block
            w = left[len(left) - 1 - j] if at < 8 * block else words(at // 8 + 1)[at % 8]
            out.append((w >> 11) * _TO_UNIT)
        end = start + n
        if end <= 8 * block:  # the rest of the current block stays on the stack
            del left[len(left) - n :]
        else:
            self._block = -(-end // 8)
            rest = list(words(self._block)[end % 8 :]) if end % 8 else []
            rest.reverse()
            self._left = rest
        return out


class Streams:
    """The named streams of one (seed, replication), each made when first asked for."""

    def __init__(self, seed: int, replication: int = 0):
        self.seed = int(seed)
        self.replication = int(replication)
        self._root_hash = None  # a BLAKE2b keyed with the replication's key, copied per name
        self._made: dict[str, np.random.Generator] = {}
        self._uniforms: dict[str, Uniforms] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._made.get(name)
        if gen is None:
            # the child of SeedSequence(seed, spawn_key=(replication,)) for this name, made
            # without making that root first (its entropy is the seed, its key the replication)
            child = np.random.SeedSequence(
                self.seed, spawn_key=(self.replication, stream_key(name))
            )
            gen = self._made[name] = np.random.Generator(np.random.PCG64(child))
        return gen

    def uniforms(self, name: str) -> Uniforms:
        got = self._uniforms.get(name)
        if got is None:
            root = self._root_hash
            if root is None:
                # the replication's own key: a hash of (seed, replication), as cheap as a stream
                seed_rep = f"drillsim:{self.seed}:{self.replication}".encode()
                root_key = blake2b(seed_rep, digest_size=32).digest()
                root = self._root_hash = blake2b(digest_size=32, key=root_key)
            # the stream's key is BLAKE2b(name) keyed by the replication's key: a copy of the
            # keyed hash, which has taken in its key block once, is the same hash for less
            keyed = root.copy()
            keyed.update(name.encode("utf-8"))
            got = self._uniforms[name] = Uniforms(keyed.digest())
        return got

    @property
    def names(self) -> list[str]:
        return sorted({*self._made, *self._uniforms})
