"""Code written the way people write it: classes with methods calling methods, a constructor,
a staticmethod, a module attribute call and a function passed as an argument (issue 19)."""

import math

import reach_helpers


class Smoother:
    def __init__(self, width):
        self.width = width
        self.weights = []
        for _ in range(width):
            self.weights.append(1.0 / width)

    def smooth(self, xs):
        return [self.window(xs, i) for i in range(len(xs) - self.width)]

    def window(self, xs, i):
        total = 0.0
        for k in range(self.width):
            total += self.weights[k] * xs[i + k]
        return total

    @staticmethod
    def norm(xs):
        acc = 0.0
        for x in xs:
            acc += x * x
        return math.sqrt(acc)

    @classmethod
    def standard(cls):
        return cls(8)


class Sharper(Smoother):
    def window(self, xs, i):  # an override: a Sharper's calls of self.window run this one
        return 2.0 * xs[i]


def pipeline(xs, transform):
    s = Smoother.standard()
    ys = s.smooth(xs)
    return [transform(v) for v in ys] + [Smoother.norm(ys), reach_helpers.total(ys)]


def square(v):
    acc = 0.0
    for k in range(4):
        acc += v * v / 4
    return acc


def sharpened(xs):
    return Sharper(4).smooth(xs)


def make_inputs(n, size=96, seed=0):
    import random
    rng = random.Random(seed)
    return [([rng.random() for _ in range(size)], square) for _ in range(n)]


class Written:
    """Methods written as third-party code writes them (pyperformance's bm_go, bm_hexiom, bm_chaos)."""

    SCALE = 3.0

    def scaled(self, xs, scale=SCALE):  # the default names what only the class body defines
        """Each value times ``scale``.

            An indented paragraph: the docstring is kept as written.
        """
        out = []
        for x in xs:
#           a comment at column 0 inside the method
            out.append(x * scale)
        return out


def written(xs):
    return Written().scaled(xs)
