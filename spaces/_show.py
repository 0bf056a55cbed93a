"""A space, resolved, as text: fixed values, searched parameters with ranges and conditions, parameter count."""

from __future__ import annotations

from fusion_search.spaces._space import Space


def describe_space(space: Space) -> str:
    lines = [f"space {space.name} ({space.source})", f"  {space.description}".rstrip(),
             f"  {len(space.params)} searched parameters, {len(space.fixed)} fixed", "fixed:"]
    lines += [f"  {key} = {value!r}" for key, value in space.fixed.items()]
    lines.append("searched:")
    for param in space.params:
        if param.choices is not None:
            what = f"one of {list(param.choices)}"
        else:
            what = f"{'int' if param.is_int else 'float'} in [{param.low}, {param.high}]" + (" log" if param.log else "")
            what += f" step {param.step}" if param.step else ""
        condition = "".join(f"  when {parent} in {list(values)}" for parent, values in param.when.items())
        lines.append(f"  {param.name}: {what}  (default {space.defaults[param.name]!r}){condition}")
    if space.first_tries:
        lines.append("first tries (one per fusion family, best first; the defaults elsewhere):")
        lines += [f"  {', '.join(f'{key}={value!r}' for key, value in entry.items())}" for entry in space.first_tries]
    return "\n".join(lines)
