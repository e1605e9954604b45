"""The BS.1770 K-weighting of a session's PCM as the meter needs it: the weighted energy of
every few frames, block after block, at a fraction of what ffmpeg's ebur128 costs in the encoder.

The filter is the one ffmpeg's ebur128 designs for any rate (libebur128's formulas: a +4 dB
high shelf near 1.68 kHz, then the RLB high-pass at 38 Hz), so the momentary loudness agrees
with ffmpeg's log to its 3 decimals (tests/test_chunked.py). `loudness.py` keeps its FIR
approximation for the short clips the mix plan predicts from; this one measures the result.

A recursive filter runs sample by sample; here it runs L frames at a time (L divides the
meter's 100 ms step, 63 at 44.1 kHz): the two biquads, cascaded, are one 4-state linear
system x' = A x + B u, y = C x + D u, so a block's output is its input through the block's
impulse response (an L x L matrix product) plus its starting state through C A^k, and the
states at the blocks' starts follow x_(k+1) = A^L x_k + w_k, a linear recurrence over blocks
solved by prefix doubling until A^L's powers vanish (A^L shrinks by ~0.7 a block at 44.1 kHz).
The matrix products are float32 (the state in float64): the energy of every step is within
1e-5 of a float64 sosfilt's. The response product runs near this machine's float32 peak
(~29 GFLOPS on one core); 20 stereo minutes cost ~1.1 CPU s alone (scipy's float32 sosfilt
about the same), against ~1.7 s for asplit + ebur128 in the encoders' ffmpeg.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

MAX_BLOCK = 64  # frames a filter block holds at most (the largest divisor of the step)
NEGLIGIBLE = 1e-13  # a power of A^L this small no longer carries a state across blocks


def sections(rate_hz: int) -> tuple[tuple[tuple[float, ...], tuple[float, ...]], ...]:
    """((b, a) of the pre-filter, (b, a) of the RLB high-pass) at `rate_hz`, a[0] = 1."""
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate_hz)
    vh, a0 = 10 ** (gain_db / 20), 1 + k / q + k * k
    vb = vh**0.4996667741545416
    pre = (
        ((vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0),
        (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0),
    )
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate_hz)
    d = 1 + k / q + k * k
    rlb = ((1.0, -2.0, 1.0), (1.0, 2 * (k * k - 1) / d, (1 - k / q + k * k) / d))
    return pre, rlb


def _state_space(b: tuple[float, ...], a: tuple[float, ...]) -> tuple[np.ndarray, ...]:
    """A biquad as (A, B, C, D), 2 states (controller form)."""
    A = np.array([[-a[1], -a[2]], [1.0, 0.0]])
    B = np.array([[1.0], [0.0]])
    C = np.array([[b[1] - b[0] * a[1], b[2] - b[0] * a[2]]])
    return A, B, C, np.array([[b[0]]])


@dataclass(frozen=True)
class BlockFilter:
    """The K-weighting, L frames at a time (see the module's docstring)."""

    frames: int  # L
    response: np.ndarray  # (L + 4, L) float32: input (its impulse response) and start state
    to_state: np.ndarray  # (L, 4) float32: each input frame's share of the next block's state
    step: np.ndarray  # (4, 4) float64: A^L, the state carried over one block


@cache
def block_filter(rate_hz: int, step_frames: int) -> BlockFilter:
    """The filter in blocks of the largest L <= MAX_BLOCK that divides `step_frames`."""
    frames = max(d for d in range(1, MAX_BLOCK + 1) if step_frames % d == 0)
    (b1, a1), (b2, a2) = sections(rate_hz)
    A1, B1, C1, D1 = _state_space(b1, a1)
    A2, B2, C2, D2 = _state_space(b2, a2)
    # the cascade, pre-filter first: states of the same size as the signal (a single 4th-order
    # controller form carries states ~1e4 x larger and loses float32's digits to them)
    A = np.block([[A1, np.zeros((2, 2))], [B2 @ C1, A2]])
    B = np.vstack([B1, B2 * D1[0, 0]])
    C = np.hstack([D2[0, 0] * C1, C2])
    D = D2[0, 0] * D1[0, 0]
    powers = [np.eye(4)]
    for _ in range(frames):
        powers.append(A @ powers[-1])
    impulse = [D] + [float((C @ powers[k] @ B)[0, 0]) for k in range(frames - 1)]
    toeplitz = np.zeros((frames, frames))
    for i in range(frames):
        toeplitz[i, : i + 1] = impulse[i::-1]
    observe = np.array([(C @ powers[i])[0] for i in range(frames)])  # (L, 4)
    response = np.vstack([toeplitz.T, observe.T]).astype(np.float32)
    to_state = np.array([(powers[frames - 1 - j] @ B)[:, 0] for j in range(frames)])
    return BlockFilter(frames, response, to_state.astype(np.float32), powers[frames])


def weighted_energies(
    frames: np.ndarray, state: np.ndarray, filt: BlockFilter
) -> tuple[np.ndarray, np.ndarray]:
    """(the K-weighted energy of each L-frame block of `frames`, summed over its channels
    (float64, (n / L,)), the filter's state after it) for `frames` (n, channels) float32, n a
    multiple of L, filtered on from `state` ((channels, 4)). The blocks are read straight from
    the interleaved frames and each one's squares summed as its output is made (no planar copy
    of the input, no array of squares): the meter costs ~12 % less than filtering first and
    summing after."""
    n, channels = frames.shape
    size, blocks = filt.frames, n // filt.frames
    rows = np.empty((channels, blocks, size + 4), dtype=np.float32)
    rows[:, :, :size] = frames.T.reshape(channels, blocks, size)
    flat = rows.reshape(channels * blocks, size + 4)
    pushed = (flat[:, :size] @ filt.to_state).astype(np.float64).reshape(channels, blocks, 4)
    starts = np.empty((channels, blocks + 1, 4))  # the state at each block's start (and end)
    starts[:, 0], starts[:, 1:] = state, pushed
    power, reach = filt.step, 1  # prefix doubling: starts[k] = sum over j of A^(L(k-j)) w_j
    while reach <= blocks and np.abs(power).max() > NEGLIGIBLE:
        starts[:, reach:] += starts[:, :-reach] @ power.T
        power, reach = power @ power, 2 * reach
    rows[:, :, size:] = starts[:, :-1]
    out = flat @ filt.response
    energies = np.einsum("ij,ij->i", out, out).reshape(channels, blocks)
    return energies.sum(axis=0, dtype=np.float64), starts[:, -1].copy()
