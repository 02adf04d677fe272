"""A third-party integration: autolog for a framework it has never heard of.

This file is both a toy framework (``Model.fit``) and its plugin (``ToyIntegration``); a real
plugin patches its framework's own module. autolog finds plugins only through the
``autolog.integrations`` entry-point group, which a package declares in its pyproject.toml
(the entry-point name is also the option key, ``autolog.autolog(toyml=...)``)::

    [project.entry-points."autolog.integrations"]
    toyml = "plugin_integration:ToyIntegration"

The README shows how to register it by hand and run ``python examples/plugin_integration.py``.
"""

import subprocess
import sys

import autolog
from autolog.plugin import Integration


class Model:
    """The toy framework: a training loop that calls ``callbacks(step, loss)`` every step."""

    def __init__(self, lr=0.1):
        self.lr, self.loss = lr, 1.0

    def fit(self, steps=10, *, callbacks=()):
        for step in range(steps):
            self.loss *= 1 - self.lr
            for callback in callbacks:
                callback(step, self.loss)
        return self


class ToyIntegration(Integration):
    name = "toyml"  # the entry-point name: autolog.autolog(toyml=False) leaves it off
    modules = ("plugin_integration",)  # on_import(module) runs when this module is imported
    default_options = {"log_loss": True}  # autolog.autolog(toyml={"log_loss": False})

    def on_import(self, module):
        self.patch(module.Model, "fit", self._patched_fit)

    def _patched_fit(self, call):
        """Prepare, ``yield`` (the user's fit runs there, exactly once), then finish. Errors
        here become one AutologWarning; the run closes with the fit's status."""
        run = call.open_run("toyml.Model")  # a run of its own, the user's run, or a child
        run.log_params({"lr": call.instance.lr, "steps": call.arg(0, "steps", 10)})
        if self.options.specific["log_loss"]:  # per step: an append, never I/O
            record = lambda step, loss: run.log_metrics({"loss": loss}, step=step)  # noqa: E731
            call.kwargs["callbacks"] = [*call.kwargs.get("callbacks", ()), record]
        outcome = yield
        if outcome.ok:
            run.set_tags({"toyml.converged": str(call.instance.loss < 0.05)})


if __name__ == "__main__":
    import plugin_integration as toyml  # this file as the module the plugin patches

    autolog.autolog(toyml={"log_loss": True})  # naming it: an error if it is not registered
    toyml.Model(lr=0.2).fit(steps=20)
    autolog.flush()
    subprocess.run([sys.executable, "-m", "autolog", "runs"], check=True)
