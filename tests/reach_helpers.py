"""A second user module, called as a module attribute (``reach_helpers.total(xs)``)."""


def total(xs):
    t = 0.0
    for x in xs:
        t += x
    return t
