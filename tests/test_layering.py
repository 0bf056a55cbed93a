"""The package's floor plan holds: every import points down the layers (README, "Architecture"), no module
imports another in a cycle, private modules and names stay inside their package, and only the models layer
imports a deep-learning framework (everything above reaches Keras through it)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"fusion_search": ROOT / "search", "fusion_search.spaces": ROOT / "spaces",
           "fusion_search.storage": ROOT / "storage"}  # pyproject's package-dir
# bottom up; a module imports only from lower floors, or from its own package
FLOORS = [
    ("fusion_search._errors", "fusion_search._config"),
    ("fusion_search.storage",),
    ("fusion_search.data",),
    ("fusion_search.designs",),
    ("fusion_search.spaces",),
    ("fusion_search.models",),
    ("fusion_search.trainers",),
    ("fusion_search.study",),
    ("fusion_search.results", "fusion_search.serving"),
    ("fusion_search._progress",),
    ("fusion_search._api",),
    ("fusion_search.cli",),
    ("fusion_search",),
]
FRAMEWORKS = {"keras", "tensorflow", "jax", "torch"}


def discover() -> dict[str, Path]:
    """Module name -> file, through the package-dir mapping."""
    modules = {}
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = [p for p in path.relative_to(folder).with_suffix("").parts if p != "__init__"]
            if package == "fusion_search" and parts and parts[0] in ("spaces", "storage"):
                continue
            modules[".".join([package, *parts])] = path
    return modules


MODULES = discover()


def unit(module: str) -> tuple[str, int]:
    """(the package a module belongs to in the floor plan, its floor)."""
    for floor, units in enumerate(FLOORS):
        for name in units:
            if module == name or (name != "fusion_search" and module.startswith(name + ".")):
                return name, floor
    raise AssertionError(f"{module} is on no floor of the plan: add its package to FLOORS and the README")


def imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, name imported from it or None, line) for every import statement, nested ones too."""
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    package = module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found += [(base, alias.name, node.lineno) for alias in node.names]
    return found


def edges(module: str) -> list[tuple[str, str | None, int]]:
    """Imports of our own modules: (target module, imported non-module name or None, line)."""
    out = []
    for base, name, line in imports(module):
        if name is not None and f"{base}.{name}" in MODULES:
            out.append((f"{base}.{name}", None, line))
        elif base in MODULES:
            out.append((base, name, line))
    return out


def test_every_module_is_on_a_floor():
    for module in MODULES:
        unit(module)


def test_no_import_points_up_or_sideways():
    wrong = []
    for module in MODULES:
        home, floor = unit(module)
        for target, _, line in edges(module):
            there, target_floor = unit(target)
            if target_floor > floor or (target_floor == floor and there != home):
                wrong.append(f"{module}:{line} imports {target} (floor {target_floor} > {floor})")
    assert not wrong, "\n".join(wrong)


def test_modules_import_each_other_in_no_cycle():
    graph = {m: {target for target, _, _ in edges(m)} for m in MODULES}
    cycles, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in graph[module]:
            if state.get(target) == "open":
                cycles.append(" -> ".join(path[path.index(target):] + [target]) if target in path else target)
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def test_private_modules_and_names_stay_inside_their_package():
    wrong = []
    for module in MODULES:
        package = module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]
        for target, name, line in edges(module):
            owner, leaf = target.rsplit(".", 1) if "." in target else ("", target)
            if leaf.startswith("_") and not (package == owner or package.startswith(owner + ".")):
                wrong.append(f"{module}:{line} imports the private module {target}")
            if name is not None and name.startswith("_"):
                wrong.append(f"{module}:{line} imports the private name {name} from {target}")
    assert not wrong, "\n".join(wrong)


def test_only_the_models_layer_imports_a_deep_learning_framework():
    wrong = [f"{module}:{line} imports {base}" for module in MODULES for base, _, line in imports(module)
             if base.split(".")[0] in FRAMEWORKS and not module.startswith("fusion_search.models")]
    assert not wrong, "\n".join(wrong)


def test_pandas_is_imported_only_where_a_dataframe_is_read():
    wrong = [f"{module}:{line}" for module in MODULES for base, _, line in imports(module)
             if base.split(".")[0] == "pandas" and module != "fusion_search.data._table"]
    assert not wrong, "pandas is an optional dependency; imported at " + ", ".join(wrong)


def test_trainers_loaded_on_first_use_live_in_the_trainers_layer():
    from fusion_search.trainers import trainer_entries  # only here: the static checks above import nothing

    for name, entry in trainer_entries().items():
        module = entry.split(":")[0] if isinstance(entry, str) else type(entry).__module__
        assert unit(module)[0] == "fusion_search.trainers" and module in MODULES, (name, module)
