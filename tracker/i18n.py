"""Every user-visible word through gettext catalogs (issue 8 §4).

The catalogs live in `tracker/locale/<lang>/LC_MESSAGES/<domain>.po` (compiled `.mo`
beside them, committed so that an editable install and the wheel both carry them; `make
catalogs` extracts, updates and compiles, and `tests/test_catalogs.py` fails when a
`.po` is out of date with the code or lacks a translation). Domains:

- `tracker`: the code's messages (CLI lines, errors, labels),
- `letters`: the e-mail templates (Jinja2's i18n extension),
- `click`: Click's and Typer's own words (usage, option help), so help is Vietnamese too.

Message ids are English, as gettext tooling expects; `vi` is the default language and its
catalog holds the Vietnamese a reviewer proofreads in one file; `en` is the identity
catalog. Mark a message with `tr(lang, "…")` where the language is known, and with
`N_("…")` where the text is a constant translated later (`tr(lang, CONSTANT)`).
"""

from __future__ import annotations

import gettext
import os
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
DOMAINS = ("tracker", "letters", "click")


@cache
def catalog(lang: str, domain: str = "tracker") -> gettext.NullTranslations:
    """The compiled catalog of `domain` in `lang`; a missing one falls back to the
    message ids (English) rather than failing a command — the catalog test is what
    keeps every catalog present and complete."""
    return gettext.translation(domain, LOCALE_DIR, languages=[lang], fallback=True)


def tr(lang: str, message: str, /, **values: object) -> str:
    """`message` in `lang`, with `{name}` placeholders filled from `values`."""
    text = catalog(lang).gettext(message)
    return text.format(**values) if values else text


def trn(lang: str, singular: str, plural: str, n: int, /, **values: object) -> str:
    """The plural form of `n` in `lang` (Vietnamese has one form, English two)."""
    text = catalog(lang).ngettext(singular, plural, n)
    return text.format(n=n, **values)


def N_(message: str) -> str:
    """Mark a constant for extraction; translate it where it is shown, with `tr`."""
    return message


def language_from_env(environ: dict[str, str] | None = None) -> str:
    """`en` when the locale asks for English (`LANG=en_US.UTF-8`, `LC_ALL`,
    `LC_MESSAGES` or `LANGUAGE` first in that order of precedence), else Vietnamese."""
    env = os.environ if environ is None else environ
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            first = value.split(":")[0].lower()
            return "en" if first.startswith("en") else DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE
