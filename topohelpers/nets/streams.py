"""Per-member batch streams: which training images each member sees at each step.

Member ``m`` (its index in the whole ensemble, not in a shard) walks through the training set
in epochs; epoch ``e`` is the permutation drawn by ``numpy.random.default_rng([seed, m, e])``
and is cut into ``n // batch_size`` batches (the remainder is skipped, as a shuffled
``drop_remainder`` input pipeline does). The batch at a step is therefore a function of
(seed, member, step) alone: a stream can start at any step (resuming a run), and a shard of
members sees exactly the batches those members see in the full run.

Only indices are drawn here; the images are gathered where they are held (on the device for
the fused training loop).
"""

from __future__ import annotations

import numpy as np

from ..checks import nonnegative_int, positive_int


class BatchStreams:
    """Independent shuffled batch streams of ``members`` over a training set of ``n`` images.

    Examples
    --------
    >>> s = BatchStreams(10, batch_size=5, members=range(2), seed=0)
    >>> idx = s.indices(0, 2)           # steps 0 and 1: one epoch of each member
    >>> idx.shape, sorted(idx[:, 0].ravel().tolist()) == list(range(10))
    ((2, 2, 5), True)
    """

    def __init__(self, n: int, *, batch_size: int, members, seed: int = 0):
        self.n = positive_int("n (training-set size)", n)
        batch_size = positive_int("batch_size", batch_size)
        if batch_size > n:
            raise ValueError(
                f"batch_size must be in [1, {n}] (the training-set size), got {batch_size}."
            )
        self.batch_size = batch_size
        self.members = [nonnegative_int("member", m) for m in members]
        if not self.members:
            raise ValueError("members is empty: give at least one member index.")
        self.seed = int(seed)
        self.per_epoch = n // batch_size
        self._epoch, self._orders = None, None

    def _epoch_orders(self, epoch: int) -> np.ndarray:
        if epoch != self._epoch:
            self._orders = np.stack(
                [
                    np.random.default_rng([self.seed, m, epoch]).permutation(self.n)
                    for m in self.members
                ]
            ).astype(np.int32)
            self._epoch = epoch
        return self._orders

    def indices(self, start: int, count: int) -> np.ndarray:
        """Training-image indices of steps ``start, …, start + count − 1``: (count, members,
        batch_size)."""
        out = np.empty((count, len(self.members), self.batch_size), dtype=np.int32)
        B = self.batch_size
        for j, step in enumerate(range(start, start + count)):
            epoch, k = divmod(step, self.per_epoch)
            out[j] = self._epoch_orders(epoch)[:, k * B : (k + 1) * B]
        return out
