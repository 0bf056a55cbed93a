"""Named search spaces (YAML files shipped here) and the code that validates and samples them."""

from spaces._space import Param, Space, applies, baseline_params, list_spaces, load_space, parse_space, suggest_design

__all__ = ["Param", "Space", "applies", "baseline_params", "list_spaces", "load_space", "parse_space", "suggest_design"]
