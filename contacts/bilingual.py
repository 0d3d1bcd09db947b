"""Texts for pages in the reader's language, and in both languages for commands and logs."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import override

SOURCE_LANGUAGE = "zh-hans"


def in_language(text: str | Promise, *, language: str | None, **params: Any) -> str:
    """`text` (a gettext_lazy message, %-formatted with `params`) in `language`.

    Without a language: Chinese, then English after " / ", for the people who read command
    output and stored job errors, whatever language their pages are in.
    """
    if language is None:
        chinese = in_language(text, language=SOURCE_LANGUAGE, **params)
        english = in_language(text, language="en", **params)
        return chinese if chinese == english else f"{chinese} / {english}"
    with override(language):
        translated = str(text)
    return translated % params if params else translated
