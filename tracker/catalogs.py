"""Extract, update, check and compile the gettext catalogs (issue 8 §4), with Babel.

`python -m tracker.catalogs update` (what `make catalogs` runs) extracts every marked
message of each domain (see `tracker.i18n`), merges it into `tracker/locale/<lang>/
LC_MESSAGES/<domain>.po` (new messages appear with an empty Vietnamese translation for a
translator to fill; English is the identity catalog and is filled from the ids), and
compiles the `.mo` files. `python -m tracker.catalogs check` prints every problem and
exits 1: a message in the code missing from a `.po`, an obsolete one still there, a
Vietnamese translation left empty or fuzzy, a `.mo` older than its `.po`.
`tests/test_catalogs.py` runs the check.

A development tool: Babel is a dev dependency, imported only here.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from tracker.i18n import DOMAINS, LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).resolve().parent.parent
# `tr(lang, message)` takes the message second; `trn(lang, singular, plural, n)`.
CODE_KEYWORDS: Mapping[str, Any] = {"tr": (2,), "trn": (2, 3), "N_": None}
JINJA = "jinja2.ext:babel_extract"
FIXED_DATE = datetime(2026, 12, 1, tzinfo=UTC)


def _sources(domain: str) -> Iterator[tuple[Path, list[tuple[str, str]], Mapping[str, Any]]]:
    if domain == "tracker":
        for folder in ("tracker", "jobs"):
            yield ROOT / folder, [("**/locale/**", "ignore"), ("**.py", "python")], CODE_KEYWORDS
    elif domain == "letters":
        yield ROOT / "templates" / "emails", [("**.j2", JINJA)], {}
    elif domain == "click":
        import typer  # Typer 0.29 carries its own Click as `typer._click`

        keywords: Mapping[str, Any] = {"_": None, "gettext": None, "ngettext": (1, 2)}
        # Its vendored Click (`typer/_click`, which Babel skips anyway) has no gettext
        # calls, so its error texts (`outbox retry abc`) cannot come from a catalog: open.
        yield Path(typer.__file__ or "").parent, [("**.py", "python")], keywords


def extract(domain: str) -> Catalog:
    """Every message of `domain` as the code and templates mark it today."""
    template = Catalog(project="cluster-tracker", domain=domain, fuzzy=False)
    for folder, method_map, keywords in _sources(domain):
        found = extract_from_dir(
            str(folder),
            method_map,
            keywords=keywords or DEFAULT_KEYWORDS,
            comment_tags=("TRANSLATORS:",),
            options_map={"**.j2": {"extensions": "jinja2.ext.do", "trimmed": "true"}},
        )
        for filename, lineno, message, comments, context in found:
            where = (
                str((folder / filename).relative_to(ROOT))
                if domain != "click"
                else f"typer/{filename}",
                lineno,
            )
            template.add(message, None, [where], auto_comments=comments, context=context)
    return template


def po_path(lang: str, domain: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"


def _read(path: Path, lang: str, domain: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=lang, domain=domain, project="cluster-tracker", fuzzy=False)
    with path.open("rb") as fh:
        return read_po(fh, locale=lang, domain=domain)


def _po_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    # No line numbers and no dates: the file changes only when a message does.
    write_po(
        buf,
        catalog,
        width=100,
        omit_header=False,
        include_lineno=False,
        ignore_obsolete=True,
        sort_output=True,
    )
    return buf.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def _merged(lang: str, domain: str, template: Catalog) -> Catalog:
    catalog = _read(po_path(lang, domain), lang, domain)
    catalog.update(template, no_fuzzy_matching=True)
    # A fixed date: the file changes only when a message does.
    catalog.revision_date = catalog.creation_date = FIXED_DATE
    for message in catalog:
        if message.id and lang == "en" and not message.string:
            message.string = message.id  # English: the ids are the text
    return catalog


def update(domains: Iterable[str] = DOMAINS) -> None:
    for domain in domains:
        template = extract(domain)
        for lang in LANGUAGES:
            catalog = _merged(lang, domain, template)
            path = po_path(lang, domain)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_po_bytes(catalog))
            with path.open("rb") as fh:  # compile what was written, obsolete ones gone
                path.with_suffix(".mo").write_bytes(_mo_bytes(read_po(fh, locale=lang)))


def problems(domains: Iterable[str] = DOMAINS) -> list[str]:
    found: list[str] = []
    for domain in domains:
        ids = {m.id for m in extract(domain) if m.id}
        for lang in LANGUAGES:
            path = po_path(lang, domain)
            if not path.exists():
                found.append(f"{path}: missing — run `make catalogs`")
                continue
            catalog = _read(path, lang, domain)
            have = {m.id for m in catalog if m.id}
            for mid in sorted(ids - have, key=str):
                found.append(f"{path}: not in the catalog (run `make catalogs`): {mid!r}")
            for mid in sorted(have - ids, key=str):
                found.append(f"{path}: no longer in the code (run `make catalogs`): {mid!r}")
            for m in catalog:
                if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string))):
                    found.append(f"{path}: no translation: {m.id!r}")
                elif m.id and m.fuzzy:
                    found.append(f"{path}: fuzzy (check and clear the flag): {m.id!r}")
            mo = path.with_suffix(".mo")
            if not mo.exists() or mo.read_bytes() != _mo_bytes(catalog):
                found.append(f"{mo}: not compiled from the .po — run `make catalogs`")
    return found


def main(argv: list[str]) -> int:
    if argv[:1] == ["update"]:
        update(argv[1:] or DOMAINS)
        return 0
    if argv[:1] == ["check"]:
        found = problems(argv[1:] or DOMAINS)
        for line in found:
            print(line)
        return 1 if found else 0
    print("usage: python -m tracker.catalogs update|check [DOMAIN ...]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
