"""Facts about where a run comes from: user, source script, git commit, Python version.

Computed once per process and cheaply: the git commit is read from ``.git`` files directly,
no subprocess, so opening a run never waits on ``git``.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path


@functools.lru_cache(maxsize=1)
def user_name() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:
        return "unknown"


@functools.lru_cache(maxsize=1)
def source_name() -> str:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else "")
    return os.path.abspath(path) if path and path not in ("-c", "-m") else "<interactive>"


def _find_git_dir(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # worktrees and submodules: "gitdir: <path>"
            text = candidate.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                return (folder / text[len("gitdir:"):].strip()).resolve()
    return None


def _read_ref(git_dir: Path, ref: str) -> str | None:
    loose = git_dir / ref
    if loose.is_file():
        return loose.read_text(encoding="utf-8").strip() or None
    common = git_dir / "commondir"
    roots = [git_dir]
    if common.is_file():
        roots.append((git_dir / common.read_text(encoding="utf-8").strip()).resolve())
    for root in roots:
        if (root / ref).is_file():
            return (root / ref).read_text(encoding="utf-8").strip() or None
        packed = root / "packed-refs"
        if packed.is_file():
            for line in packed.read_text(encoding="utf-8").splitlines():
                if line.endswith(" " + ref):
                    return line.split(" ", 1)[0]
    return None


@functools.lru_cache(maxsize=1)
def git_facts() -> dict[str, str]:
    """Commit and branch of the repository holding the source script, if any."""
    try:
        source = source_name()
        start = Path(source).parent if source != "<interactive>" else Path.cwd()
        git_dir = _find_git_dir(start.resolve())
        if git_dir is None:
            return {}
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        facts: dict[str, str] = {}
        if head.startswith("ref:"):
            ref = head[4:].strip()
            facts["mlflow.source.git.branch"] = ref.rsplit("refs/heads/", 1)[-1]
            commit = _read_ref(git_dir, ref)
        else:
            commit = head
        if commit:
            facts["mlflow.source.git.commit"] = commit
        return facts
    except Exception:
        return {}


@functools.lru_cache(maxsize=1)
def process_tags() -> dict[str, str]:
    """System tags shared by every run this process opens."""
    tags = {
        "mlflow.user": user_name(),
        "mlflow.source.name": source_name(),
        "mlflow.source.type": "LOCAL",
        "autolog.python_version": "{}.{}.{}".format(*sys.version_info[:3]),
    }
    tags.update(git_facts())
    return tags
