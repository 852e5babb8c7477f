"""Moved to :mod:`toolrank.normalize.code.languages`; kept so existing imports keep working."""

from toolrank.normalize.code.languages import *  # noqa: F401,F403
