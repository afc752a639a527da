"""``python -m website``: build the course's website (see :mod:`website.build`)."""

import sys

from .build import main

sys.exit(main())
