"""``python -m skvae``: the ``skvae`` console script without its launcher."""

import sys

from skvae.cli import main

if __name__ == "__main__":
    sys.exit(main())
