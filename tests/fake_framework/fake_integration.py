"""The fake framework's integration: the smallest complete example of an integration."""

from __future__ import annotations

from types import ModuleType

from autolog._integration import Integration
from autolog._patching import PatchedCall


class FakeIntegration(Integration):
    name = "fakeml"
    modules = ("tests.fake_framework.fakeml",)
    distributions = ()  # not a real distribution: no version to check
    supported_versions = ""
    default_options = {"record_loss": True}

    def on_import(self, module: ModuleType) -> None:
        self.patch(module.Model, "fit", self._patched_fit)
        self.patch(module.Tuned, "fit", self._patched_fit)
        self.patch(module, "train", self._patched_train)

    def _patched_fit(self, call: PatchedCall):
        model = call.instance
        run = call.open_run(type(model).__name__)
        run.log_params(model.get_params())
        outcome = yield
        if outcome.ok and self.options.specific["record_loss"]:
            run.log_metrics({"loss": model.loss_})

    def _patched_train(self, call: PatchedCall):
        run = call.open_run("train")
        run.log_params({"steps": call.kwargs.get("steps", 2)})
        yield
