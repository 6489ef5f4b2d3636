"""Maps and stencils over grids for the output-sampling tests (test_grids.py), and programs
that must not be grid sites."""

import numpy as np


def shifted_diff(a):
    return a[1:-1, 2:] - a[1:-1, :-2]


def normalized(img):
    lo = img.min()
    hi = np.max(img)
    return (img - lo) / (hi - lo) * np.pi


def clipped(img):
    out = np.clip(img * 1.5 - 10.0, 0.0, 255.0)
    return out


def halves(img):
    return img[1:, :] // 2 + img[:-1, :] // 2  # integers stay integers


def batch(imgs):
    return np.hypot(imgs[:, 1:, :] - imgs[:, :-1, :], imgs[:, 1:, :])


def two_maps(img):
    return img[1:, 1:] - img[:-1, 1:], np.abs(img) * 2.0


def used_outside(a):
    g = a * 2.0
    return np.sqrt(g) + 1.0, g


def ramp_map(img):
    return img * 2.0 + 1.0


# -- not grid sites ----------------------------------------------------------------------------

def broadcast(stack, a):
    return stack * 2.0 + a  # leaves of shapes (k, n, m) and (n, m)


def mutated(p):
    g1 = p[1:, 1:] - p[:-1, 1:]
    p[0] = 0.0
    g2 = p[1:, 1:] - p[1:, :-1]
    return g1 + g2


def _fill(a):
    a[:] = 0.0


def passed_on(p):
    g = p[1:, :] - p[:-1, :]
    _fill(p)
    return g * 2.0


def twice(a):
    g = a[1:, :] - a[:-1, :]
    g = g * 2.0
    return np.abs(g)


def augmented(a):
    g = a[1:, :] - a[:-1, :]
    g += 1.0
    return np.abs(g)


def line(x):
    return np.sqrt(x[1:] * x[:-1])


def rgb(img):
    return img[1:, :, :] * 0.5 + img[:-1, :, :] * 0.5  # (H, W, 3): its last two axes are no grid


def scaled_by(img, t):
    return img * t  # t a number: a leaf that cannot be sampled


class _Roots:
    @staticmethod
    def sqrt(x):
        return x ** 0.5


def local_np(x):
    np = _Roots()  # not NumPy: its sqrt is no ufunc
    return np.sqrt(x * x)


def small(a):
    return a[1:, :] - a[:-1, :]  # run on a 16 x 16 image


def loop_sum(xs):
    total = 0.0
    for x in xs:
        total += x
    return total
