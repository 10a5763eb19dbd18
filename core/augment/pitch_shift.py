"""Pitch shift by whole semitones, duration kept: a batched phase-vocoder stretch plus polyphase resampling.

A shift of ``n`` semitones scales every frequency by ``2**(n/12)``. That ratio is irrational, so it is replaced
by the simplest fraction ``P/Q`` within ``max_cents`` (default: under 1 cent) of it
(:func:`core.augment.kernels.resample.rational_approx`). Every example is time-stretched by the rate ``Q/P``
(pitch kept) and resampled by ``Q/P`` (which scales its pitch by exactly ``P/Q`` and restores ``T`` samples).
The order is chosen so that the vocoder never synthesises more than ``T`` samples: a shift down is stretched
first (``T`` -> ``T*P/Q`` samples) and then resampled up to ``T``; a shift up is resampled first
(``T`` -> ``T*Q/P`` samples, dropping only what would be shifted past Nyquist anyway) and then stretched to
``T``. Resampling is one conv1d per distinct step (at most 31 for the default range) over all examples that
share it; the vocoder is one pass over the batch (on the CPU, one pass per cache-sized chunk of examples sorted
by step).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import Tensor

from core import SAMPLE_RATE
from core.augment.base import Augmentation, Params, randint
from core.augment.kernels.phase_vocoder import chunk_size, time_stretch
from core.augment.kernels.resample import rational_approx, resample_poly
from core.errors import ConfigError


@lru_cache(maxsize=512)
def step_fraction(semitones: int, max_cents: float = 1.0) -> tuple[int, int]:
    """``(P, Q)``: the simplest fraction within ``max_cents`` of the frequency ratio ``2**(semitones/12)``."""
    return rational_approx(2.0 ** (semitones / 12.0), max_cents=max_cents)


def pitch_shift(
    x: Tensor,
    semitones: Tensor,
    n_fft: int = 512,
    hop: int | None = None,
    max_cents: float = 1.0,
    phase_lock: bool = True,
    chunk: int | None = None,
    stretch: Tensor | None = None,
) -> Tensor:
    """Shift row ``b`` of ``x`` [B, T] by ``semitones[b]`` (integers) semitones; returns a new [B, T] tensor.

    Rows with a zero step (and no stretch) are copied unchanged. No loop over examples: rows are sorted by step,
    then one phase-vocoder pass per chunk of rows and one resampling conv1d per distinct step within it. Off the
    CPU the chunk is the whole batch (one vocoder pass, at most one conv1d per step); on the CPU chunks of about
    ``CHUNK_ELEMENTS`` STFT bins keep the working set in cache (``chunk`` overrides: examples per pass).

    ``stretch`` [B] (optional): a time stretch by these rates (``> 1`` faster, as :class:`TimeStretch` with
    ``method="stretch"``) done first, in the same vocoder pass: the vocoder runs at ``stretch[b] * Q/P`` instead of
    ``Q/P``, so a stretch followed by a shift costs one pass instead of two. The result is the stretch's (cropped
    or zero-padded to ``T``), then shifted.
    """
    n, length = x.shape
    steps = torch.as_tensor(semitones).reshape(-1).to(torch.int64).cpu()
    if steps.numel() != n:
        raise ConfigError(f"pitch_shift: need one step per example ({n}), got {steps.numel()}")
    tempo = torch.ones(n, dtype=torch.float64) if stretch is None else torch.as_tensor(stretch).double().cpu()
    if tempo.shape != (n,) or not bool(torch.all(tempo > 0)):
        raise ConfigError(f"pitch_shift: need one positive stretch rate per example ({n})")
    y = x.clone()
    rows = torch.nonzero((steps != 0) | (tempo != 1.0)).flatten()
    if rows.numel() == 0 or length == 0:
        return y
    hop = n_fft // 4 if hop is None else int(hop)
    # sort by step, so that a chunk holds few distinct steps and similar lengths
    rows = rows[torch.argsort(steps[rows], stable=True)]
    sub_steps = steps[rows]
    frac = {s: step_fraction(int(s), float(max_cents)) for s in torch.unique(sub_steps).tolist()}
    # the vocoder never writes more than T samples: a shift down is stretched first (to T*P/Q < T samples)
    # then resampled up to T; a shift up is resampled first (down to T*Q/P < T samples) then stretched to T
    lens = {s: math.ceil(length * min(p / q, q / p)) for s, (p, q) in frac.items()}
    # up-shifted rows are zero-padded to one common length, so that a row's result does not depend on its chunk
    up_len = max([lens[s] for s in lens if s > 0], default=0)
    step = chunk_size(x.device, (2 * length // hop + 2) * (n_fft // 2 + 1) // 2, rows.numel(), chunk)
    for i in range(0, rows.numel(), step):
        part_rows, part_steps = rows[i : i + step], sub_steps[i : i + step].tolist()
        dev_rows = part_rows.to(x.device)
        groups = {s: torch.tensor([j for j, t in enumerate(part_steps) if t == s], device=x.device) for s in part_steps}
        # vocoder rate Q/P for every row (T*P/Q samples out of T down, T out of T*Q/P up; pitch kept), times the
        # row's own time stretch
        rates = torch.tensor([frac[s][1] / frac[s][0] for s in part_steps], dtype=torch.float64)
        rates = rates * tempo[part_rows]
        xs = x.index_select(0, dev_rows)
        # rows sorted by step: the down-shifted ones first, then those only stretched, then the up-shifted ones
        n_down = sum(len(groups[s]) for s in groups if s < 0)
        n_up = sum(len(groups[s]) for s in groups if s > 0)
        n_still = len(part_steps) - n_down - n_up
        if n_down:
            stretched = time_stretch(
                xs[:n_down], rates[:n_down], max(lens[s] for s in groups if s < 0), n_fft=n_fft, hop=hop,
                phase_lock=phase_lock, chunk=n_down,
            )  # fmt: skip
            for s in (s for s in groups if s < 0):
                p, q = frac[s]  # resampling by Q/P back to T samples scales the pitch by exactly P/Q
                sel = groups[s]
                out = resample_poly(stretched.index_select(0, sel)[:, : lens[s]], q, p, out_len=length)
                y[dev_rows.index_select(0, sel)] = out
        if n_still:
            still = slice(n_down, n_down + n_still)
            y[dev_rows[still]] = time_stretch(
                xs[still], rates[still], length, n_fft=n_fft, hop=hop, phase_lock=phase_lock, chunk=n_still
            )
        if n_up:
            first = n_down + n_still
            shrunk = x.new_zeros(n_up, up_len)
            in_lengths = torch.zeros(n_up, dtype=torch.float64)
            for s in (s for s in groups if s > 0):
                p, q = frac[s]
                sel = groups[s] - first
                shrunk[sel, : lens[s]] = resample_poly(xs.index_select(0, groups[s]), q, p, out_len=lens[s])
                in_lengths[sel.cpu()] = lens[s]
            out = time_stretch(
                shrunk, rates[first:], length, n_fft=n_fft, hop=hop, phase_lock=phase_lock,
                chunk=n_up, in_lengths=in_lengths,
            )  # fmt: skip
            y[dev_rows[first:]] = out
    return y


class PitchShift(Augmentation):
    """Shift the pitch by a whole number of semitones drawn per example from [min_semitones, max_semitones].

    The duration is kept (output length = input length). The applied frequency ratio is reported as
    ``pitch_ratio`` (the fraction P/Q actually used, within ``max_cents`` of ``2**(semitones/12)``).

    Args:
        p: probability that an example is shifted.
        min_semitones, max_semitones: integer range of steps (both ends included), in semitones. The paper uses
            [-15, 15] and also studies small and large ranges.
        sample_rate: sample rate in Hz (the shift itself does not depend on it).
        n_fft: phase-vocoder frame size in samples (power of two; 512 = 32 ms at 16 kHz).
        hop: phase-vocoder hop in samples (default ``n_fft // 4``).
        max_cents: largest allowed error of the rational resampling ratio, in cents.
        phase_lock: identity phase locking in the vocoder (default): transients and phase coherence survive
            the stretch (click spacing is kept to within ~2 %, against ~10 % without); about 1.5x the vocoder's cost.
    """

    name = "pitch_shift"

    def __init__(
        self,
        p: float = 0.5,
        min_semitones: int = -15,
        max_semitones: int = 15,
        sample_rate: int = SAMPLE_RATE,
        n_fft: int = 512,
        hop: int | None = None,
        max_cents: float = 1.0,
        phase_lock: bool = True,
    ) -> None:
        super().__init__(p=p, sample_rate=sample_rate)
        if int(min_semitones) != min_semitones or int(max_semitones) != max_semitones:
            raise ConfigError(f"pitch_shift: semitone range [{min_semitones}, {max_semitones}] must be integers")
        if min_semitones > max_semitones:
            raise ConfigError(f"pitch_shift: min_semitones={min_semitones} > max_semitones={max_semitones}")
        if max(abs(min_semitones), abs(max_semitones)) > 48:
            raise ConfigError(f"pitch_shift: range [{min_semitones}, {max_semitones}] exceeds +-48 semitones")
        hop = n_fft // 4 if hop is None else int(hop)
        if n_fft < 16 or n_fft & (n_fft - 1) or not 1 <= hop <= n_fft // 2:
            raise ConfigError(f"pitch_shift: n_fft={n_fft} must be a power of two >= 16 and hop={hop} in [1, n_fft/2]")
        if not max_cents > 0:
            raise ConfigError(f"pitch_shift: max_cents={max_cents} must be > 0")
        self.min_semitones, self.max_semitones = int(min_semitones), int(max_semitones)
        self.n_fft, self.hop, self.max_cents, self.phase_lock = int(n_fft), hop, float(max_cents), bool(phase_lock)
        for s in range(self.min_semitones, self.max_semitones + 1):
            step_fraction(s, self.max_cents)  # fail early on an impossible tolerance

    def _draw(self, x: Tensor, generator: torch.Generator) -> Params:
        steps = randint(generator, x.shape[0], self.min_semitones, self.max_semitones)
        ratio = torch.tensor(
            [(lambda f: f[0] / f[1])(step_fraction(int(s), self.max_cents)) for s in steps.tolist()],
            dtype=torch.float64,
        )
        return {"semitones": steps, "pitch_ratio": ratio}

    def _apply(self, x: Tensor, params: Params) -> Tensor:
        steps = params["semitones"].cpu()
        return pitch_shift(
            x, steps, n_fft=self.n_fft, hop=self.hop, max_cents=self.max_cents, phase_lock=self.phase_lock
        )

    def extra_repr(self) -> str:
        """The settings shown by ``repr``."""
        return f"p={self.p}, semitones=[{self.min_semitones}, {self.max_semitones}], n_fft={self.n_fft}, hop={self.hop}"
