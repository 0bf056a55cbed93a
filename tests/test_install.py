"""Installed from its wheel, the project is one import package, fusion_search, that lives beside other
packages called `spaces` and `storage` (stand-ins built here), in either import order; the build prints
no deprecation warning."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "search", "spaces", "storage")
STAND_IN = """[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}-stand-in"
version = "1.0"
"""


def build_wheel(source: Path, out: Path) -> str:
    """pip wheel without build isolation (this environment's setuptools), so no network is needed; the output."""
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out),
                             str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout + result.stderr


def stand_in(folder: Path, name: str) -> Path:
    """A package that installs a top-level `name` of its own, as Hugging Face's `spaces` does."""
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text(f'MARK = "stand-in {name}"\n')
    (folder / "pyproject.toml").write_text(STAND_IN.format(name=name))
    return folder


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> tuple[Path, str]:
    """(folder with the project's wheel and the two stand-ins' wheels, the project build's output)."""
    work, out = tmp_path_factory.mktemp("build"), tmp_path_factory.mktemp("wheels")
    source = work / "fusion-search"
    source.mkdir()
    for name in SOURCES:  # a copy: building in the checkout would leave build/ and *.egg-info there
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                              if (ROOT / name).is_dir() else {}))
    log = build_wheel(source, out)
    for name in ("spaces", "storage"):
        build_wheel(stand_in(work / f"{name}-stand-in", name), out)
    return out, log


@pytest.fixture(scope="module")
def clean_venv(wheels, tmp_path_factory) -> Path:
    """A new venv holding the three wheels; the project's dependencies come from this environment's
    site-packages through a .pth line (appended after the venv's own packages, and its .pth files unread)."""
    folder, _ = wheels
    venv = tmp_path_factory.mktemp("venv") / "clean"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([str(python), "-m", "pip", "install", "--no-index", "--no-deps",
                              *map(str, sorted(folder.glob("*.whl")))], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    return venv


def test_the_wheel_installs_one_import_package_and_its_space_files(wheels):
    folder, _ = wheels
    wheel = next(folder.glob("fusion_search-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"fusion_search", wheel.name.split("-py")[0] + ".dist-info"}
    assert "fusion_search/spaces/quick.yaml" in names and "fusion_search/storage/_lock.py" in names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist: pandas")]
    assert requires and all("extra ==" in line for line in requires)  # pandas only for DataFrame users
    assert "License-Expression: MIT" in metadata


def test_building_the_wheel_prints_no_deprecation_warning(wheels):
    assert "deprecat" not in wheels[1].lower(), wheels[1][-3000:]


@pytest.mark.parametrize("order", ["stand-ins first", "fusion_search first"])
def test_fusion_search_and_other_spaces_and_storage_packages_import_side_by_side(clean_venv, order):
    theirs = "import spaces, storage"
    ours = ("import fusion_search; from fusion_search.spaces import load_space; "
            "from fusion_search.storage import resolve_storage_url")
    check = ("assert spaces.MARK == 'stand-in spaces' and storage.MARK == 'stand-in storage'; "
             "assert load_space('quick').name == 'quick' and resolve_storage_url().startswith('sqlite'); "
             "print(fusion_search.__file__)")
    code = "; ".join([theirs, ours] if order == "stand-ins first" else [ours, theirs]) + "; " + check
    result = subprocess.run([str(clean_venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=clean_venv)
    assert result.returncode == 0, result.stderr[-2000:]
    assert Path(result.stdout.strip()).is_relative_to(clean_venv)  # the installed wheel, not this checkout


def test_the_console_script_of_the_wheel_runs(clean_venv):
    result = subprocess.run([str(clean_venv / "bin" / "fusion-search"), "spaces"], capture_output=True, text=True,
                            timeout=120, cwd=clean_venv)
    assert result.returncode == 0, result.stderr[-2000:]
    assert {"default", "quick", "seed"} <= {line.split()[0] for line in result.stdout.splitlines()}
