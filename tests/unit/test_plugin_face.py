"""``autolog.plugin``: every name it lists resolves, and importing it loads no store or thread."""

from __future__ import annotations

import subprocess
import sys

import autolog.plugin


def test_every_listed_name_resolves_to_the_private_original():
    from autolog import _integration, _patching, _runs
    from autolog.backends import base

    for name in autolog.plugin.__all__:
        assert getattr(autolog.plugin, name) is not None, name
    assert autolog.plugin.Integration is _integration.Integration
    assert autolog.plugin.PatchedCall is _patching.PatchedCall
    assert autolog.plugin.start_run is _runs.start_run
    assert autolog.plugin.Result is base.Result and autolog.plugin.Backend is base.Backend


def test_importing_it_loads_neither_the_store_nor_the_pipeline():
    code = ("import sys, autolog.plugin; print(sorted(m for m in ('sqlite3', 'autolog.backends', "
            "'autolog.client._pipeline') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"
