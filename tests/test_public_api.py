"""The public API is one page: pin it, so additions and removals are deliberate."""

import approxify as ax


def test_exported_members_are_pinned_and_sorted():
    assert ax.__all__ == sorted(ax.__all__)
    assert ax.__all__ == [
        "ApproxifyError", "Args", "Budget", "Candidate", "Certificate", "Evaluation",
        "InvalidArgument", "InvalidArgumentType", "InvalidConfig", "Knob", "NotEnoughInputs",
        "Perforate", "Precision", "Quality", "QualityError", "Result", "ResultFileError", "Setting", "Site", "SiteList",
        "Substitute", "TargetChanged", "TargetFailed",
        "UnknownSite", "UnsupportedTarget", "alternatives", "apply", "approximate", "certify", "evaluate", "has_side_effects",
        "load", "sites", "source", "statistic",
    ]
    for name in ax.__all__:
        assert getattr(ax, name) is not None


def test_errors_subclass_the_matching_builtin():
    assert issubclass(ax.InvalidArgument, ValueError)
    assert issubclass(ax.UnknownSite, KeyError) and issubclass(ax.UnknownSite, ValueError)
    assert issubclass(ax.InvalidArgumentType, TypeError)
    assert issubclass(ax.UnsupportedTarget, TypeError)
    assert issubclass(ax.TargetFailed, RuntimeError)
    assert issubclass(ax.ResultFileError, ValueError) and not issubclass(ax.ResultFileError, ax.InvalidArgument)
    assert issubclass(ax.TargetChanged, RuntimeError)
    for name in ax.__all__:
        obj = getattr(ax, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and obj is not ax.ApproxifyError:
            assert issubclass(obj, ax.ApproxifyError)


def test_settings_round_trip_through_json():
    from approxify.config import config_from_dict, config_to_dict

    config = {"m.f/for#0": ax.Perforate(0.5, "random", compensate=True, seed=3),
              "m.f/for#1": ax.Perforate()}
    assert config_from_dict(config_to_dict(config)) == {"m.f/for#0": config["m.f/for#0"]}


def test_perforate_validates_its_fields():
    import pytest

    with pytest.raises(ax.InvalidArgument, match=r"rate=.*\[0, 1\)"):
        ax.Perforate(rate=1.0)
    with pytest.raises(ax.InvalidArgument, match="modulo, truncate, random"):
        ax.Perforate(rate=0.5, policy="stride")
    with pytest.raises(ax.InvalidArgumentType, match="compensate"):
        ax.Perforate(rate=0.5, compensate="yes")
    assert ax.Perforate(0.75).stride == 4 and ax.Perforate(0.25).stride is None
