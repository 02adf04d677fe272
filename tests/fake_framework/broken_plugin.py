"""A plugin module whose import fails, as a plugin with a bug would."""

raise RuntimeError("this plugin is broken")
