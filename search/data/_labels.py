"""A label column -> its classes (sorted, with their counts), merged where the user asks (--merge-classes a,b makes
one class "a+b"), and the labels: 0/1 of the positive class against the rest (two classes, or --positive V), or
the class index 0..K-1 of K >= 3 classes in sorted order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from fusion_search._errors import UserError
from fusion_search.data._columns import cell_text

MAX_CLASSES = 100  # int8 class indices; a study of more classes would have too few rows a class to rank
JOIN = "+"  # the name of merged classes: their names joined, in the order given


def merged_name(group: Sequence[str]) -> str:
    return JOIN.join(group)


def merge_groups(flags: str | Iterable[str | Sequence[str]] | None) -> tuple[tuple[str, ...], ...]:
    """--merge-classes values ("a,b", or a sequence of class names; one string is one group) as tuples of names
    read as label cells are (1.0 is "1"); UserError for a group of fewer than two classes, a class named in two
    groups, or two groups that would get one name."""
    groups, seen, names_given = [], set(), set()
    for flag in [flags] if isinstance(flags, str) else flags or ():
        names = [cell_text(n) for n in flag.split(",")] if isinstance(flag, str) else [cell_text(n) for n in flag]
        names = list(dict.fromkeys(n for n in names if n))
        if len(names) < 2:
            raise UserError(f"--merge-classes {','.join(names)} names {len(names)} class(es): give two or more, "
                            "separated by commas (e.g. --merge-classes a,b)")
        if twice := sorted(seen & set(names)):
            raise UserError(f"--merge-classes names class {twice[0]!r} in two groups: merge them in one")
        if merged_name(names) in names_given:
            raise UserError(f"--merge-classes: two groups would both be named {merged_name(names)!r}")
        seen |= set(names)
        names_given.add(merged_name(names))
        groups.append(tuple(names))
    return tuple(groups)


def apply_merges(values: list[str], groups: tuple[tuple[str, ...], ...], label_column: str,
                 strict: bool = True) -> list[str]:
    """Each row's class after merging. strict (a study's own rows): UserError for a merged class that is not in the
    column, or a merged name that is already a class of its own; not strict (rows a model scores later): merge the
    classes that are there."""
    present = set(values)
    rename = {}
    for group in groups:
        name = merged_name(group)
        if strict and (missing := [member for member in group if member not in present]):
            raise UserError(f"--merge-classes: {missing[0]!r} is not a class of label column '{label_column}' "
                            f"(classes: {', '.join(sorted(present))})")
        if strict and name in present:
            raise UserError(f"--merge-classes {','.join(group)}: the merged class would be named {name!r}, which is "
                            f"already a class of label column '{label_column}'")
        rename.update({member: name for member in group})
    return [rename.get(v, v) for v in values]


def class_counts(values: list[str]) -> list[tuple[str, int]]:
    """(class, rows) for every class, sorted by class."""
    return sorted(Counter(values).items())


def describe_classes(counts: list[tuple[str, int]], most: int = 8) -> str:
    """'a 40, b 30, c 20' (the first `most`, then how many more)."""
    shown = ", ".join(f"{name} {rows}" for name, rows in counts[:most])
    return shown + (f" and {len(counts) - most} more" if len(counts) > most else "")


def class_labels(values: list[str], positive: str | None, label_column: str) -> tuple[np.ndarray, str]:
    """(labels, the positive class): with a positive class named, or two classes, int8 0/1 labels (1 = the positive
    class, against every other); with K >= 3 classes and none named, the class index 0..K-1 of each row in sorted
    class order and "" as the positive class. UserError when the column holds one class."""
    distinct = [name for name, _ in class_counts(values)]
    if positive is None and len(distinct) > 2:
        if len(distinct) > MAX_CLASSES:
            raise UserError(f"label column '{label_column}' has {len(distinct)} classes "
                            f"({describe_classes(class_counts(values))}); at most {MAX_CLASSES} are taken: merge "
                            "classes with --merge-classes a,b or name one with --positive VALUE")
        index = {name: i for i, name in enumerate(distinct)}
        return np.array([index[v] for v in values], dtype=np.int8), ""
    labels = binary_labels(values, positive, label_column)
    return labels, values[int(np.argmax(labels))]


def binary_labels(values: list[str], positive: str | None, label_column: str) -> np.ndarray:
    """int8 labels, 1 = the positive class (given; else 1 of 0/1, True of False/True), against every other class;
    UserError when the column holds one class, or more than two and no positive class was named."""
    counts = class_counts(values)
    distinct = [name for name, _ in counts]
    if len(distinct) < 2:
        held = f"one class only: {counts[0][0]!r} on all {counts[0][1]} rows" if counts else "no rows"
        raise UserError(f"label column '{label_column}' holds {held}; a classifier needs two classes (is "
                        "--label-column the column of the classes?)")
    if positive is None and len(distinct) > 2:
        raise UserError(
            f"label column '{label_column}' has {len(distinct)} classes ({describe_classes(counts)}); name one with "
            "--positive VALUE (it against the rest), or merge classes with --merge-classes a,b")
    if positive is None:
        positive = _default_positive(distinct, label_column)
    if positive not in distinct:
        raise UserError(f"--positive {positive!r} is not a class of label column '{label_column}' "
                        f"({', '.join(distinct)})")
    return np.array([v == positive for v in values], dtype=np.int8)


def _default_positive(distinct: list[str], label_column: str) -> str:
    for zero, one in (("0", "1"), ("0.0", "1.0"), ("False", "True"), ("false", "true")):
        if distinct == sorted([zero, one]):
            return one
    raise UserError(f"label column '{label_column}' has values {distinct[0]!r} and {distinct[1]!r}: "
                    "say which is the positive class with --positive VALUE")
