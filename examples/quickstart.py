"""The manual API on the embedded store: no server needed.

    python examples/quickstart.py
"""

import subprocess
import sys

import autolog

with autolog.start_run(run_name="baseline") as run:  # nestable: an inner start_run is a child
    autolog.log_params({"lr": 0.01, "layers": 3})
    for epoch in range(100):
        autolog.log_metrics({"loss": 1 / (epoch + 1)}, step=epoch)
    autolog.set_tags({"team": "churn"})
    for fold in range(3):
        with autolog.start_run(run_name=f"fold-{fold}") as child:
            child.log_metrics({"val_loss": 0.5 / (fold + 1)})
autolog.flush()

print("Recorded runs (python -m autolog runs):")
subprocess.run([sys.executable, "-m", "autolog", "runs"], check=True)
print(f"\nOne run in detail:  python -m autolog runs show {run.run_id[:12]}")
print("Send the same runs to an MLflow server instead:")
print("  MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python examples/quickstart.py")
