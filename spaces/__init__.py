"""Named search spaces (YAML files shipped here) and the code that validates and samples them."""

from fusion_search.spaces._load import list_spaces, load_space, space_from_record
from fusion_search.spaces._show import describe_space
from fusion_search.spaces._space import (Param, Space, applies, baseline_params, first_difference, first_try_name,
                                         first_try_params, suggest_design)
from fusion_search.spaces._validate import parse_space

__all__ = ["Param", "Space", "applies", "baseline_params", "describe_space", "first_difference", "first_try_name",
           "first_try_params", "list_spaces", "load_space", "parse_space", "space_from_record", "suggest_design"]
