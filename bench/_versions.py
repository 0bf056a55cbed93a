"""A git revision of this project installed on its own, to be measured beside another: the revision is checked
out into a worktree and installed (not editable) into a scratch venv that borrows this environment's
dependencies through a .pth line, so the checkout can change while a long benchmark runs."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def installed(revision: str, folder: Path) -> Iterator[Path]:
    """The python of a venv holding `revision`; the worktree is removed afterwards."""
    worktree, venv = folder / f"src-{revision}", folder / f"venv-{revision}"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), revision], check=True,
                   capture_output=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        python = venv / "bin" / "python"
        site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
        (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                        "--no-build-isolation", str(worktree)], check=True, capture_output=True)
        yield python
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False)


def revision_name(revision: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", revision], capture_output=True,
                          text=True, check=True).stdout.strip()


def cli_module(python: Path) -> str:
    """The CLI module of an installed version: fusion_search.cli, or search.cli before the package was renamed."""
    found = subprocess.run([str(python), "-c", "import importlib.util as u; print(bool(u.find_spec('fusion_search')))"],
                           capture_output=True, text=True, check=True)
    return "fusion_search.cli" if found.stdout.strip() == "True" else "search.cli"
