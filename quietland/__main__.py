"""``python -m quietland``: the same as the ``quietland`` command."""
import sys

from .entry import main

if __name__ == "__main__":
    sys.exit(main())
