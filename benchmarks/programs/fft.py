"""Short-time spectrum of an audio signal: a Hann window, then an iterative radix-2 Cooley–Tukey
FFT of every frame, NumPy-vectorized (each stage's butterflies are whole-array operations over all
frames; the only Python loop is over the log2(n) stages).

Written from the textbook description of the decimation-in-time FFT (Cooley and Tukey, 1965;
Cormen et al., *Introduction to Algorithms*, "Efficient FFT implementations"): permute the samples
into bit-reversed order, then at the stage of span ``half`` combine each pair ``(a, b)`` that lies
``half`` apart within a block of ``2 * half`` into ``a + w b`` and ``a - w b``, with twiddle
factor ``w = exp(-i pi k / half)``. As signal-processing code for real data often does, complex
numbers are kept as two real arrays (real and imaginary parts): the input is real, so the
imaginary part starts at zero. The butterflies work in place, as in the textbook, on views of
the two arrays. Frames are columns (samples down, frames across, as MATLAB's ``fft`` of a matrix
and a spectrogram's layout have them), so every butterfly operation runs over contiguous rows of
all frames; of the layouts tried (frames as rows or columns, butterflies in place or by
``np.stack``), this one made the float64 original fastest.

Inputs are generated audio: 16 kHz, a few harmonic tones with vibrato and a decaying envelope,
over a low noise floor, cut into frames of 1024 samples with a hop of 512 (the framing of a
spectrogram). The quality compares the spectra (real and imaginary parts of every bin) by
``rel_l2``: see :data:`QUALITY`.
"""

from __future__ import annotations

import numpy as np

# Error energy of the spectrum relative to its energy (by Parseval, the same ratio in the time
# domain): the measure of an FFT's accuracy in the numerical literature. An element-wise relative
# error is dominated by the bins between the partials, whose magnitude is the noise floor or
# window leakage, thousands of times below the peaks: a relative error there says little.
QUALITY = "rel_l2"
RATE = 16000  # samples per second
N = 1024  # samples per frame: a power of two
HOP = 512
FRAMES = 32  # frames per call: about one second of audio


def bit_reversed(n: int):
    """The permutation that puts ``n`` (a power of two) samples into bit-reversed order."""
    bits = n.bit_length() - 1
    index = np.arange(n)
    reversed_ = np.zeros(n, dtype=np.int64)
    for b in range(bits):
        reversed_ |= ((index >> b) & 1) << (bits - 1 - b)
    return reversed_


def fft(re, im):
    """The DFT of each column of ``re + i im`` (columns of a power-of-two length), as
    (real parts, imaginary parts); the arguments are left unchanged."""
    n, columns = re.shape
    order = bit_reversed(n)
    re = re[order]  # copies: the butterflies below work in place
    im = im[order]
    half = 1
    while half < n:
        angle = np.arange(half) * (-np.pi / half)
        wr = np.cos(angle)[:, None]  # twiddle factors w = wr + i wi, one per row of a block half
        wi = np.sin(angle)[:, None]
        blocks = (n // (2 * half), 2, half, columns)
        block_re = re.reshape(blocks)  # views of re and im: writes below land there
        block_im = im.reshape(blocks)
        a_re, b_re = block_re[:, 0], block_re[:, 1]
        a_im, b_im = block_im[:, 0], block_im[:, 1]
        t_re = wr * b_re - wi * b_im  # t = w b
        t_im = wr * b_im + wi * b_re
        np.subtract(a_re, t_re, out=b_re)  # b <- a - w b
        np.subtract(a_im, t_im, out=b_im)
        a_re += t_re  # a <- a + w b
        a_im += t_im
        half *= 2
    return re, im


def spectrum(frames):
    """The spectrum of each Hann-windowed frame (a column of ``frames``): (real parts, imaginary
    parts), laid out like ``frames`` (frequency bins down, frames across)."""
    window = np.hanning(frames.shape[0])[:, None]
    re = frames * window
    im = np.zeros_like(re)
    return fft(re, im)


def make_inputs(count: int, *, seed: int = 0, frames: int = FRAMES, n: int = N) -> list[tuple]:
    """``count`` one-element tuples: an ``n`` x ``frames`` array, one overlapping frame a column."""
    rng = np.random.default_rng(seed)
    length = (frames - 1) * HOP + n
    t = np.arange(length) / RATE
    starts = np.arange(n)[:, None] + np.arange(frames)[None, :] * HOP  # sample index per frame
    inputs = []
    for _ in range(count):
        signal = np.zeros(length)
        for _ in range(rng.integers(1, 4)):  # a few notes, each with its harmonics
            f0 = rng.uniform(80.0, 1000.0)
            vibrato = 1.0 + 0.005 * np.sin(2 * np.pi * rng.uniform(4.0, 7.0) * t)
            phase = 2 * np.pi * np.cumsum(f0 * vibrato) / RATE
            envelope = np.exp(-t / rng.uniform(0.3, 3.0))
            for h in range(1, 9):
                if h * f0 < RATE / 2:
                    level = rng.uniform(0.1, 1.0) / h
                    signal += level * envelope * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
        signal += rng.normal(0.0, 10 ** (-rng.uniform(2.0, 4.0)), length)  # noise 40-80 dB down
        signal *= 0.5 / np.max(np.abs(signal))
        inputs.append((signal[starts],))
    return inputs
