"""How big each workload is at the three sizes: full (the README's numbers), quick, tiny (CI)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Sizes:
    name: str
    repeats: int  # fresh processes per cell; the medians are over these
    fits: int  # LogisticRegression fits back to back
    searches: int  # GridSearchCV fits after the loop of fits (sklearn.script)
    grid: int  # values per grid parameter (grid x grid candidates)
    cv: int
    xgb_rounds: int
    pl_epochs: int
    pl_steps: int
    trials: int  # Optuna trials per study
    points: int  # metric points of the logging workloads, one call each
    runs: int  # runs those points are spread over
    model_calls: int  # log_model calls

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


SIZES = {
    "full": Sizes("full", repeats=3, fits=30, searches=3, grid=3, cv=3, xgb_rounds=300,
                  pl_epochs=20, pl_steps=50, trials=100, points=100_000, runs=10, model_calls=10),
    "quick": Sizes("quick", repeats=1, fits=10, searches=1, grid=3, cv=3, xgb_rounds=100,
                   pl_epochs=3, pl_steps=20, trials=20, points=10_000, runs=5, model_calls=3),
    "tiny": Sizes("tiny", repeats=1, fits=2, searches=1, grid=1, cv=2, xgb_rounds=3,
                  pl_epochs=1, pl_steps=2, trials=2, points=50, runs=1, model_calls=1),
}
