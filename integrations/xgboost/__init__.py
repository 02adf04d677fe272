"""autolog's XGBoost integration (entry point ``xgboost``).

Importing this package never imports XGBoost: the patches are installed by an import hook
when XGBoost is imported. Every import inside it is absolute, so this package can never be
mistaken for the real ``xgboost``.
"""

from __future__ import annotations

from integrations.xgboost._integration import XGBoostIntegration

__all__ = ["XGBoostIntegration"]
