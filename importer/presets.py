"""Column mappings of the exports people bring, and picking one from a header.

A ``Mapping`` says which column feeds which payload field. ``detect(header)`` picks the preset by
the header (most specific first), applies ``--map FIELD=COLUMN`` overrides, and refuses a header it
cannot use with the columns it saw and the ``--map`` that would fix it: a named preset (``--preset
toggl-import``, or one ``auto`` picked) without its date or length column in one file-level
``InputError``, not a refusal per row. ``find_header`` tells the header from title rows above it:
the row ``--header-row`` names, else the first of the top rows that holds every ``--map`` column,
else the first that is ``usable``; the reader hands ``detect`` a ``Header`` that knows where it was
found, for the notes and the refusal (``HeaderHints`` carries what the user said).

Fields: ``start`` / ``end`` (a full date-time in one cell), ``start_date`` / ``start_time`` and
``end_date`` / ``end_time`` (split over two cells), ``duration``, ``description``, ``project``,
``client``, ``task``, ``tags``, ``billable``, ``email``, and ``user`` (a person's name: only used to
stack Harvest rows per person when there is no email). ``issue`` (a ticket key) goes before the
description ("KEY: comment") and ``summary`` stands in for an empty description (Jira); ``key`` is
the row's id in the system it came from (a worklog id), carried through, never posted. A cell of
``start_time`` or ``end_time`` that holds a whole date-time is read as one, so ``generic`` copes
with a ``Start`` column of timestamps. Names compare ignoring case, accents, spaces and underscores.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from . import messages
from .errors import ConfigError, InputError
from .header import Header, HeaderHints, Place

FIELDS = (
    "start", "start_date", "start_time", "end", "end_date", "end_time", "duration",
    "description", "project", "client", "task", "tags", "billable", "email", "user",
    "issue", "summary", "key",
)  # fmt: skip
PRESETS = ("auto", "toggl", "toggl-import", "clockify", "harvest", "jira", "generic")
HEADER_SEARCH_ROWS = 20
"""How many non-empty rows from the top of a sheet may hold its header (titles above it)."""


@dataclass(frozen=True)
class Mapping:
    """Which column feeds which field, for one file."""

    preset: str
    columns: dict[str, str] = field(default_factory=dict)
    """Field → column name, exactly as in the header."""
    person: tuple[str, ...] = ()
    """Columns naming the person, for stacking rows without a start time (``email`` first)."""

    def get(self, name: str) -> str | None:
        return self.columns.get(name)

    @property
    def duration_unit(self) -> int:
        """Seconds a plain number of the duration column counts: 3600 (hours), unless its name
        says seconds or minutes (Jira's ``Time Spent (seconds)``, ``Duration (min)``)."""
        return _unit(self.columns.get("duration", ""))

    def notes(self, header: Iterable[str], default_start: str = "09:00") -> list[str]:
        """What a user should know before importing with this mapping (warnings, not errors);
        ``default_start``: the configured ``default_start_time`` (HH:MM)."""
        out = []
        used = set(self.columns.values()) | set(self.person)
        if self.preset == "generic":
            unused = [c for c in header if c and c not in used]
            if unused:
                out.append(messages.unused_columns(unused))
        has = self.columns.keys()
        if "start_time" not in has and "start" not in has:
            out.append(messages.no_start_time_column(default_start))
        return out


def key(name: str) -> str:
    """How names compare: ignoring case, accents, spaces and underscores (``Durée`` = ``duree``)."""
    plain = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub(r"[\s_]+", "", plain).casefold()


_SECONDS = re.compile(r".*(?:\((?:s|secs?|seconds?)\)|seconds)")
_MINUTES = re.compile(r".*(?:\((?:m|mins?|minutes?)\)|minutes)")


def _unit(column: str) -> int:
    name = key(column)
    if _SECONDS.fullmatch(name):
        return 1
    if _MINUTES.fullmatch(name):
        return 60
    return 3600


# field → header names it may have, per preset (compared with ``key``)
_PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    "toggl": {
        "start_date": ("Start date",), "start_time": ("Start time",),
        "end_date": ("End date",), "end_time": ("End time",), "duration": ("Duration",),
        "description": ("Description",), "project": ("Project",), "client": ("Client",),
        "task": ("Task",), "tags": ("Tags",), "billable": ("Billable",), "email": ("Email",),
        "user": ("User",),
    },
    "toggl-import": {
        "start_date": ("Start date",), "start_time": ("Start time",), "duration": ("Duration",),
        "description": ("Description",), "project": ("Project",), "client": ("Client",),
        "task": ("Task",), "tags": ("Tags",), "billable": ("Billable",), "email": ("Email",),
        "user": ("User",),
    },
    "clockify": {
        "start_date": ("Start Date",), "start_time": ("Start Time",),
        "end_date": ("End Date",), "end_time": ("End Time",),
        "duration": ("Duration (h)", "Duration (decimal)"),
        "description": ("Description",), "project": ("Project",), "client": ("Client",),
        "task": ("Task",), "tags": ("Tags",), "billable": ("Billable",), "email": ("Email",),
        "user": ("User",),
    },
    "harvest": {
        "start_date": ("Date",), "duration": ("Hours",), "description": ("Notes",),
        "project": ("Project",), "client": ("Client",), "task": ("Task",),
        "billable": ("Billable?",),
    },
    "jira": {  # worklog exports (Jira, its worklog report apps, Tempo)
        "start": ("Started", "Start Date", "Date Started", "Work date"),
        "duration": ("Time Spent (seconds)", "Time Spent", "Time spent (h)", "Hours"),
        "description": ("Comment", "Work Description", "Worklog Comment"),
        "issue": ("Issue Key", "Key"), "summary": ("Summary", "Issue Summary"),
        "email": ("Author Email", "User Email", "Email"),
        "user": ("Author", "User", "Full name", "Username"),
        "key": ("Worklog Id", "Id"),
    },
    "generic": {  # English, German, French, Spanish, Portuguese
        "start_date": ("date", "start date", "day", "datum", "startdatum", "date de debut",
                       "fecha", "fecha de inicio", "data", "data de inicio"),
        "start_time": ("start", "start time", "from", "begin", "beginn", "startzeit", "von",
                       "debut", "heure de debut", "inicio", "hora de inicio"),
        "end_date": ("end date", "enddatum", "date de fin", "fecha de fin", "data de fim"),
        "end_time": ("end", "stop", "end time", "to", "until", "ende", "endzeit", "bis", "fin",
                     "heure de fin", "hora de fin", "fim", "hora de fim"),
        "duration": ("duration", "hours", "time spent", "duration (h)", "duration (min)",
                     "duration (minutes)", "duration (seconds)", "minutes", "time spent (h)",
                     "time spent (seconds)", "dauer", "stunden", "duree", "heures", "duracion",
                     "horas", "duracao"),
        "description": ("description", "notes", "what", "activity", "comment", "beschreibung",
                        "tatigkeit", "bemerkung", "notizen", "commentaire", "descripcion",
                        "notas", "descricao"),
        "project": ("project", "projekt", "projet", "proyecto", "projeto"),
        "client": ("client", "kunde", "cliente"),
        "task": ("task", "aufgabe", "tache", "tarea", "tarefa"),
        "tags": ("tags", "tag", "schlagworter", "schlagworte", "etiquettes", "etiquetas"),
        "billable": ("billable", "abrechenbar", "facturable", "faturavel"),
        "email": ("email", "user email", "e-mail", "courriel", "correo", "correo electronico"),
        "user": ("user", "benutzer", "mitarbeiter", "utilisateur", "usuario"),
    },
}  # fmt: skip
_HARVEST_NAME = ("First Name", "Last Name")
_STARTS = ("start", "start_date", "start_time")
_LENGTHS = ("duration", "end", "end_time")
_DATE_WORDS = ("date", "day", "start", "when", "datum", "fecha", "data", "jour", "dia")
"""Words in a column name that suggest the date, for the ``--map`` a refusal proposes."""
_LENGTH_WORDS = ("duration", "hours", "time", "spent", "length", "dauer", "zeit", "stunden",
                 "duree", "heures", "horas", "tiempo", "tempo")  # fmt: skip


def detect(
    header: Iterable[str],
    preset: str = "auto",
    overrides: dict[str, str] | None = None,
    *,
    file: str | None = None,
) -> Mapping:
    """The mapping for a file with this header.

    Raises ``ConfigError`` for an unknown preset or field, an override naming a column the header
    lacks, and a header with no start date or no way to know the length (no duration and no end);
    ``InputError`` for a header without the date or length column of its named preset.
    """
    place = header.place if isinstance(header, Header) else None
    columns = list(header)
    if preset not in PRESETS:
        raise ConfigError(messages.unknown_preset(preset, PRESETS))
    name = pick(columns) if preset == "auto" else preset
    found = _match(_PRESETS[name], columns)
    for fld, column in (overrides or {}).items():
        _override(found, fld, column, columns, file)
    person = _person(name, found, columns)
    mapping = Mapping(name, found, person)
    if name != "generic":
        _check_preset(mapping, columns, file)
    _check_usable(mapping, columns, file, place)
    return mapping


def pick(header: Iterable[str]) -> str:
    """The preset whose export has this header (``generic`` when none does)."""
    keys = {key(c) for c in header}
    if "enddate" in keys and any(k.startswith("amount(") for k in keys):
        return "toggl"
    if keys & {"duration(h)", "duration(decimal)"}:
        return "clockify"
    if {"date", "hours", "notes"} <= keys and keys & {"billable?", "projectcode", "firstname"}:
        return "harvest"
    jira_length = {"timespent", "timespent(h)", "timespent(seconds)", "hours"}
    if keys & jira_length and (keys & {"issuekey", "worklogid"} or {"key", "summary"} <= keys):
        return "jira"
    if {"startdate", "starttime", "duration"} <= keys and "endtime" not in keys:
        return "toggl-import"
    return "generic"


# -- where the header is: below title rows, on a later sheet ----------------------------------------


def usable(names: Sequence[str], preset: str = "auto") -> bool:
    """Whether ``preset`` (``auto``: the one the names show), without ``--map``, finds where each
    entry starts and how long it lasts."""
    if sum(1 for n in names if n) < 2:  # a start and a length: two columns at least
        return False
    try:
        detect(names, preset)
    except (ConfigError, InputError):
        return False
    return True


def find_header(
    rows: Sequence[tuple[int, Sequence[str]]], hints: HeaderHints | None = None, *, file: str | None = None
) -> tuple[int | None, Place]:
    """Which of a sheet's first non-empty rows (row number, trimmed cells; top down) is its header.

    The row ``hints.row`` names (``InputError`` when it is empty); else the first of the top
    ``HEADER_SEARCH_ROWS`` that holds every column ``hints.columns`` names; else the first that is
    ``usable``: the rows above it are titles. ``None`` when none is; the first row is the header
    then (``--map`` may name its columns), and ``Place.searched_to`` says how far was looked when
    it has fewer cells than a row below it. ``rows`` reach down to ``hints.row`` when it is given.
    """
    hints = hints or HeaderHints()
    top = rows[:HEADER_SEARCH_ROWS]
    if hints.row is not None:
        at = next((i for i, (row, _) in enumerate(rows) if row == hints.row), None)
        if at is None:
            raise InputError(messages.header_row_empty(hints.row, [r for r, _ in top[:3]]), file=file)
        return at, Place(row=hints.row, title=_title(rows, at))
    if hints.columns:
        wanted = {key(c) for c in hints.columns}
        for at, (row, cells) in enumerate(top):
            if wanted <= {key(c) for c in cells if c}:
                return at, Place(row=row, title=_title(rows, at))
    for at, (row, cells) in enumerate(top):
        if usable(cells, hints.preset):
            return at, Place(row=row, title=_title(rows, at))
    row, cells = top[0]
    width = sum(1 for c in cells if c)
    titled = any(sum(1 for c in below if c) > width for _, below in top[1:])
    return None, Place(row=row, searched_to=top[-1][0] if titled else 0)


def _title(rows: Sequence[tuple[int, Sequence[str]]], at: int) -> str:
    """The first text of the rows above the header (``""``: the header is the first row)."""
    return next((c for c in rows[0][1] if c), "") if at else ""


def _match(spec: dict[str, tuple[str, ...]], columns: list[str]) -> dict[str, str]:
    by_key: dict[str, str] = {}
    for column in columns:
        by_key.setdefault(key(column), column)
    out: dict[str, str] = {}
    for fld, names in spec.items():
        found = [by_key[key(n)] for n in names if key(n) in by_key]
        if found:
            out[fld] = found[0]
    return out


def _override(found: dict[str, str], fld: str, column: str, columns: list[str], file: str | None) -> None:
    fld = fld.strip().replace("-", "_").lower()
    if fld not in FIELDS:
        raise ConfigError(messages.unknown_map_field(fld, FIELDS))
    if not column.strip():  # --map task= : do not use a task column at all
        found.pop(fld, None)
        return
    exact = [c for c in columns if c == column.strip()]
    loose = [c for c in columns if key(c) == key(column)]
    match = exact or loose
    if len(match) != 1 and fld == "key":  # --key COLUMN, the same as --map key=COLUMN
        raise ConfigError(messages.key_no_such_column(column, file, columns))
    if len(match) != 1:
        raise ConfigError(messages.map_no_such_column(fld, column, file, columns))
    found[fld] = match[0]


def _person(name: str, found: dict[str, str], columns: list[str]) -> tuple[str, ...]:
    for fld in ("email", "user"):
        if fld in found:
            return (found[fld],)
    if name == "harvest":
        names = _match({n: (n,) for n in _HARVEST_NAME}, columns)
        return tuple(names[n] for n in _HARVEST_NAME if n in names)
    return ()


def _check_preset(mapping: Mapping, columns: list[str], file: str | None) -> None:
    """A named preset has the columns it reads the date and the length from: else one message for
    the file (rather than one refusal per row), naming what it looked for and what it saw, and the
    ``--map`` (or ``--preset generic``) that reads the file."""
    spec = _PRESETS[mapping.preset]
    free = [c for c in columns if c not in mapping.columns.values()]
    sides = (("date", ("start", "start_date"), _DATE_WORDS), ("length", _LENGTHS, _LENGTH_WORDS))
    needs, maps = [], []
    for what, group, words in sides:
        if any(f in mapping.columns for f in group):
            continue
        fld = next(f for f in group if f in spec)
        needs.append((what, spec[fld]))
        maps.append(f'--map {fld}="{_guess(free, words)}"')
    if not needs:
        return
    generic = _match(_PRESETS["generic"], columns).keys()
    reads = bool(generic & {"start", "start_date"}) and bool(generic & set(_LENGTHS))
    message = messages.preset_needs_column(mapping.preset, needs, columns, " ".join(maps), reads)
    raise InputError(message, file=file)


def _check_usable(mapping: Mapping, columns: list[str], file: str | None, place: Place | None) -> None:
    """A usable mapping knows where each entry starts and how long it lasts."""
    has = mapping.columns.keys()
    titled = place is not None and place.searched_to > 0
    names = [] if titled else columns  # a title's words are no column names to suggest
    fixes = []
    if not has & set(_STARTS):
        fixes.append(("start", "start_date", _guess(names, _DATE_WORDS)))
    if not has & set(_LENGTHS):
        ending = _guess(names, ("end", "stop", "until", "finish", "to"))
        if ending != "<column>":
            fixes.append(("length", "end_time", ending))
        else:
            fixes.append(("length", "duration", _guess(names, _LENGTH_WORDS)))
    if not fixes:
        return
    what = " and the ".join(f[0] for f in fixes)
    example = " ".join(f'--map {fld}="{column}"' for _, fld, column in fixes)
    if place is not None and titled:
        where = (place.row, place.searched_to, place.sheet, place.other_sheets)
        raise ConfigError(messages.unusable_title(what, mapping.preset, file, columns, example, where))
    raise ConfigError(messages.unusable_header(what, mapping.preset, file, columns, example))


def _guess(columns: list[str], words: tuple[str, ...]) -> str:
    for word in words:
        for column in columns:
            if word in key(column):
                return column
    return "<column>"
