"""Click's usage errors in the run's language (issue 8 §6: "Click's English in `outbox
retry abc`"). Typer's vendored Click writes these texts inline, with no gettext call, so
they cannot come from a catalog as Click ships them; this module says each class of error
again through the `tracker` catalog, from the exception's own fields. An error of a class
not listed keeps Click's text."""

from __future__ import annotations

from collections.abc import Sequence

from tracker.i18n import tr

# Typer converts values through pydantic ("Input should be a valid integer, …").
_NOT_AN_INTEGER = "valid integer"


def _hint(exc: object) -> str:
    hint = getattr(exc, "param_hint", None)
    param = getattr(exc, "param", None)
    if hint is None and param is not None:
        hint = param.get_error_hint()
    if isinstance(hint, Sequence) and not isinstance(hint, str):
        hint = " / ".join(str(h) for h in hint)
    return str(hint or "")


def usage_words(exc: Exception, lang: str) -> str:
    """What went wrong, in words, without the trailing pointer to `--help`."""
    kind = type(exc).__name__
    message = str(getattr(exc, "message", "") or "")
    if kind == "NoSuchOption":
        option = getattr(exc, "option_name", "")
        possible = sorted(getattr(exc, "possibilities", None) or [])
        if possible:
            return tr(
                lang,
                "There is no option {option} (did you mean {possible}?).",
                option=option,
                possible=", ".join(possible),
            )
        return tr(lang, "There is no option {option}.", option=option)
    if kind == "MissingParameter":
        param_type = getattr(exc, "param_type", None) or getattr(
            getattr(exc, "param", None), "param_type_name", "parameter"
        )
        name = _hint(exc)
        if param_type == "argument":
            return tr(lang, "The argument {name} is missing.", name=name)
        if param_type == "option":
            return tr(lang, "The option {name} is missing.", name=name)
        return tr(lang, "The value {name} is missing.", name=name)
    if kind == "BadOptionUsage" and "requires an argument" in message:
        return tr(
            lang, "The option {option} needs a value.", option=getattr(exc, "option_name", "")
        )
    if kind == "BadParameter":
        name = _hint(exc)
        if _NOT_AN_INTEGER in message:
            return tr(lang, "{name} must be a whole number.", name=name)
        if name:
            return tr(
                lang, "Invalid value for {name}: {problem}", name=name, problem=message.rstrip(".")
            )
    # Anything else, "No such command" included (Typer's words, from the `click` catalog).
    return str(exc.format_message()) if hasattr(exc, "format_message") else str(exc)


def usage_line(exc: Exception, lang: str, command: str) -> str:
    """The one line a usage error prints: the problem, then where to read more."""
    text = usage_words(exc, lang).rstrip(".") + "."
    return tr(lang, "Error: {text} See '{command} --help'.", text=text, command=command)
