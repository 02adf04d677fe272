"""Plugins for the registry's tests: well-formed ones and each way of being malformed."""

from __future__ import annotations

from types import ModuleType

from autolog._integration import Integration


class _Quiet(Integration):
    modules = ("tests.fake_framework.never_imported",)

    def on_import(self, module: ModuleType) -> None:
        return None


class Good(_Quiet):
    name = "good"


class NoName(_Quiet):
    pass


class Mismatched(_Quiet):
    name = "something_else"


class BadSpec(_Quiet):
    name = "badspec"
    supported_versions = ">=1.2,,<2"


class NoModules(Integration):
    name = "nomodules"


class BadOption(_Quiet):
    name = "badoption"
    default_options = {"threshold": 0.5}


class NotAnIntegration:
    name = "notanintegration"


class OldVersion(_Quiet):
    """Supports only a wrapt that does not exist yet: always out of range."""

    name = "oldversion"
    modules = ("wrapt",)
    distributions = ("wrapt",)
    supported_versions = ">=999"


class Missing(_Quiet):
    """A framework that is not installed."""

    name = "missing"
    modules = ("framework_that_is_not_installed",)
    distributions = ("framework-that-is-not-installed",)


class Higher(_Quiet):
    name = "higher"
    takes_over = ("good",)
