"""`python -m fusion_search.cli`: how `launch` starts its workers."""

import sys

from fusion_search.cli import main

sys.exit(main())
