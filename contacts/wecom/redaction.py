"""Keep the access token, the app secret and sign-in codes out of logs and messages.

WeCom takes them in the query string, so any URL that a library logs or puts in an
exception message would carry them. A sign-in code works only once, but until then it
signs its member in.
"""

import logging
import re

_SECRET_PARAMS = re.compile(r"(?i)\b(access_token|corpsecret|code)=[^&\s'\"]*")


def redact(text: str) -> str:
    return _SECRET_PARAMS.sub(r"\1=***", text)


class RedactSecretsFilter(logging.Filter):
    """A logging filter that rewrites any record mentioning a token or secret parameter."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
