"""``python -m toolrank``: the same entry point as the ``toolrank`` console script."""

from toolrank.cli import main

raise SystemExit(main())
