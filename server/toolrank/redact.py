"""Secrets out of messages: store URLs (and any URL in a message) lose their userinfo and secret query values.

Every place that puts a URL into a log line, an error, a repr or a health answer passes it through
:func:`redact_url` (or a whole message through :func:`redact_text`): ``redis://user:pw@host/0`` becomes
``redis://user:***@host/0`` (``redis://:pw@`` ``redis://:***@``), ``redis://token@host`` becomes ``redis://***@host``, and
``?password=...&ssl_keyfile=...`` keep their names with ``***`` as values.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# query parameters whose value is (or points at) a credential
_SECRET_PARAM = re.compile(r"pass|pwd|secret|token|auth|key|cred|sig", re.IGNORECASE)
# scheme://... up to whitespace or a quote: URLs inside free text (exception messages)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact_url(url: str) -> str:
    """``url`` with its password (or a bare username, often a token) and secret query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:  # unparseable (e.g. a bad IPv6 literal): nothing of it can be trusted to be clean
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, sep, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if sep else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAM.search(k) for k, _ in pairs):
            query = urlencode([(k, MASK if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*/")
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def redact_text(text: str) -> str:
    """Every URL inside ``text`` redacted (for exception messages that may quote one)."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


class RedactingFilter(logging.Filter):
    """A handler filter that redacts URLs in each record's message and traceback before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


def redact_logs() -> None:
    """Put :class:`RedactingFilter` on every handler of the root logger (call after ``logging.basicConfig``)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
