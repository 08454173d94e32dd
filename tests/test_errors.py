"""The exception tree and how problems are worded."""

from __future__ import annotations

import importer.errors as errors
from importer.errors import InputError, UnreadableFileError, quote


def test_every_error_descends_from_one_root() -> None:
    kinds = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert len(kinds) >= 12
    assert all(issubclass(k, errors.ImporterError) for k in kinds)
    assert issubclass(errors.MaybeAppliedError, errors.TransientError)
    assert not issubclass(errors.MaybeAppliedError, errors.NotAppliedError)
    assert issubclass(errors.QuotaExhaustedError, errors.NotAppliedError)


def test_an_input_error_names_file_row_and_column() -> None:
    err = InputError("cannot read 'x' as a date", file="hours.csv", row=7, column="Date")
    assert str(err) == "hours.csv, row 7, column 'Date': cannot read 'x' as a date"
    assert str(UnreadableFileError("it is empty", file="a.csv")) == "a.csv: it is empty"


def test_a_huge_cell_is_cut_in_messages() -> None:
    assert quote("Website") == "'Website'"
    long = "x" * 200_000
    shown = quote(long)
    assert len(shown) < 100
    assert shown.endswith("… (200,000 characters)")
