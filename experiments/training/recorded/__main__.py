"""``python -m experiments.training.recorded add BUNDLE``: see :func:`main`."""

import sys

from experiments.training.recorded import main

sys.exit(main())
