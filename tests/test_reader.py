"""reader.iter_chunks / read_header: every format, encodings, row numbers, and refusals that say the fix."""

from __future__ import annotations

import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from importer.errors import InputError, UnreadableFileError
from importer.header import HeaderHints, Place
from importer.reader import RawChunk, iter_chunks, read_header

DATA = Path(__file__).parent / "data"


def read_all(path: Path, chunksize: int = 50_000) -> tuple[pd.DataFrame, list[int], list[RawChunk]]:
    chunks = list(iter_chunks(path, chunksize=chunksize))
    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    rows = [int(r) for c in chunks for r in c.rows]
    return frame, rows, chunks


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# -- the formats people bring ------------------------------------------------------------------


def test_toggl_export_with_bom() -> None:
    assert (DATA / "toggl_export.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    frame, rows, chunks = read_all(DATA / "toggl_export.csv")
    assert list(frame.columns)[:3] == ["User", "Email", "Client"]  # no BOM in the first name
    assert rows == [2, 3, 4]
    assert frame["Description"].tolist() == [
        "Homepage, hero section",
        "Standup",
        'Release "v2" night',
    ]
    assert frame["Tags"].tolist() == ["design, client work", "", "deploy"]
    assert frame["Amount (USD)"].tolist() == ["127.50", "0.00", "148.75"]  # text, not 127.5
    assert not chunks[0].decimal_comma


def test_toggl_import_header_with_spaces_after_commas() -> None:
    frame, rows, _ = read_all(DATA / "toggl_import.csv")
    assert read_header(DATA / "toggl_import.csv")[:3] == ["User", "Email", "Client"]
    assert rows == [2, 3, 4]
    assert frame["Tags"].tolist() == ["design", "meeting, planning", ""]  # quoted after ", "
    assert frame["Client"].tolist() == ["Acme Corp", "", "Acme Corp"]


def test_clockify_twelve_hour_times_stay_text() -> None:
    frame, _, _ = read_all(DATA / "clockify_export.csv")
    assert frame["Start Time"].tolist() == ["01:00:00 PM", "11:45:00 PM", "08:05:00 AM"]
    assert frame["Start Date"].tolist() == ["09/23/2026", "09/23/2026", "12/01/2026"]


def test_semicolon_windows_1252_sets_decimal_comma() -> None:
    raw = (DATA / "semicolon_cp1252.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    frame, rows, chunks = read_all(DATA / "semicolon_cp1252.csv")
    assert chunks[0].decimal_comma
    assert rows == [2, 3]
    assert frame["Description"].tolist() == ["Café mit Kunde", "Rückruf Müller"]
    assert frame["Duration"].tolist() == ["1,5", "0,25"]


def test_utf16_tsv_with_bom() -> None:
    assert (DATA / "utf16_export.tsv").read_bytes()[:2] == b"\xff\xfe"
    frame, rows, _ = read_all(DATA / "utf16_export.tsv")
    assert rows == [2, 3]
    assert frame["Description"].tolist() == ["Naïve café", "Deploy 🚀"]
    assert frame["Start time"].tolist() == ["09:30", "17:00:00"]


def test_utf16_without_bom(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("Date,Hours\n2026-03-05,1.5\n".encode("utf-16-le"))
    frame, _, _ = read_all(path)
    assert frame.to_dict("records") == [{"Date": "2026-03-05", "Hours": "1.5"}]


def test_xlsx_cells_become_canonical_text() -> None:
    frame, rows, _ = read_all(DATA / "excel_cells.xlsx")
    assert rows == [2, 3, 4, 5, 7]  # row 6 is blank
    assert frame["Date"].tolist() == [
        "2026-03-05", "2026-03-06", "46090", "2026-03-10", "2026-03-11"
    ]  # fmt: skip
    assert frame["Start"].tolist() == [
        "09:30:00", "09:00:00", "14:00", "2026-03-10 08:15:00", "10:00:00"
    ]  # fmt: skip
    assert frame["Duration"].tolist() == ["", "1:30:00", "1.25", "0:45:00", ""]
    assert frame["Billable"].tolist() == ["true", "false", "", "true", "false"]
    assert read_header(DATA / "excel_cells.xlsx")[0] == "Date"


def test_xlsx_in_small_chunks_keeps_row_numbers() -> None:
    frame, rows, chunks = read_all(DATA / "excel_cells.xlsx", chunksize=2)
    assert rows == [2, 3, 4, 5, 7]
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert frame["Description"].tolist() == ["Design", "Review", "Call", "Café", "Standup"]


def test_ods_is_read() -> None:
    frame, rows, _ = read_all(DATA / "ods_cells.ods")
    assert rows == [2, 3]
    assert frame["Date"].tolist() == ["2026-03-05", "2026-03-06"]
    assert frame["Start time"].tolist() == ["09:30:00", "13:00:00"]
    assert frame["Hours"].tolist() == ["1.5", "0.25"]


def test_xlsx_that_is_really_a_csv_is_read_as_csv(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    shutil.copy(DATA / "toggl_export.csv", path)
    frame, rows, _ = read_all(path)
    assert rows == [2, 3, 4]
    assert frame["Email"].iloc[0] == "ada@example.com"


def test_csv_that_is_really_an_xlsx_is_read_as_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    shutil.copy(DATA / "excel_cells.xlsx", path)
    _, rows, _ = read_all(path)
    assert rows == [2, 3, 4, 5, 7]


def test_xlsx_header_below_blank_rows(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet["B3"], sheet["C3"] = "Date", "Hours"
    sheet["B4"], sheet["C4"] = "2026-03-05", 1.5
    sheet["B6"], sheet["C6"] = "2026-03-06", 2
    book.save(tmp_path / "t.xlsx")
    frame, rows, _ = read_all(tmp_path / "t.xlsx")
    assert rows == [4, 6]
    assert frame.to_dict("records") == [
        {"Date": "2026-03-05", "Hours": "1.5"},
        {"Date": "2026-03-06", "Hours": "2"},
    ]


# -- title rows above the header, the timesheet on a later sheet --------------------------------

TITLED = (
    "Timesheet November 2026\nEmployee: Ada Lovelace\n\nDate,Start,End,Description\n"
    "2026-11-02,09:00,10:30,Design\n\n2026-11-03,13:00,14:00,Review\n"
)
TITLED_ROWS = [
    {"Date": "2026-11-02", "Start": "09:00", "End": "10:30", "Description": "Design"},
    {"Date": "2026-11-03", "Start": "13:00", "End": "14:00", "Description": "Review"},
]


def book(path: Path, *sheets: tuple[str, list[list[object]]], hidden: tuple[str, ...] = ()) -> Path:
    """An .xlsx with these sheets (name, rows; ``[]`` is an empty row), written with openpyxl."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets:
        sheet = workbook.create_sheet(name)
        for cells in rows:
            sheet.append(cells)
        if name in hidden:
            sheet.sheet_state = "hidden"
    workbook.save(path)
    return path


@pytest.mark.parametrize("chunksize", [1, 50_000])
def test_csv_title_rows_above_the_header_are_not_read(tmp_path: Path, chunksize: int) -> None:
    path = write(tmp_path / "t.csv", TITLED)
    header = read_header(path)
    assert header == ["Date", "Start", "End", "Description"]
    assert header.place == Place(row=4, title="Timesheet November 2026")
    frame, rows, chunks = read_all(path, chunksize=chunksize)
    assert rows == [5, 7]
    assert frame.to_dict("records") == TITLED_ROWS
    assert [e for c in chunks for e in c.errors] == []  # the titles are not refused rows


@pytest.mark.parametrize(
    ("text", "decimal_comma"),
    [
        ("Hours of Ada;;\n\nDate;Hours;Notes\n05.03.2026;1,5;a, b\n", True),  # padded by Excel
        ("Hours of Ada\n\nDate;Hours;Notes\n05.03.2026;1,5;a, b\n", True),
        ("Hours of Ada, November\nDate;Hours;Notes\n\n05.03.2026;1,5;a, b\n", True),
        ("Hours of Ada\n\nDate\tHours\tNotes\n05.03.2026\t1,5\ta, b\n", False),
    ],
)
def test_title_rows_do_not_decide_the_delimiter(tmp_path: Path, text: str, decimal_comma: bool) -> None:
    path = write(tmp_path / "t.csv", text)
    assert read_header(path) == ["Date", "Hours", "Notes"]
    frame, rows, chunks = read_all(path)
    assert frame.to_dict("records") == [{"Date": "05.03.2026", "Hours": "1,5", "Notes": "a, b"}]
    assert rows == [4]
    assert chunks[0].decimal_comma is decimal_comma


def test_the_header_may_be_the_twentieth_non_empty_row_not_the_twenty_first(tmp_path: Path) -> None:
    titles = "".join(f"Title {n},page {n}\n\n" for n in range(1, 20))  # 19 titles: rows 1, 3, ..., 37
    path = write(tmp_path / "t.csv", titles + "Date,Hours\n2026-03-05,1\n")
    assert read_header(path).place == Place(row=39, title="Title 1")
    assert read_all(path)[1] == [40]
    path = write(tmp_path / "u.csv", "Title 0\n" + titles + "Date,Hours\n2026-03-05,1\n")
    header = read_header(path)
    assert header == ["Title 0"]  # not found: the first row stays the header, as before
    assert header.place == Place(row=1, searched_to=38)  # a title (narrower than rows below): how far


def test_a_usable_first_row_is_the_header_even_with_headers_below(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "Date,Hours\nDate,Hours\n2026-03-05,1\n")
    assert read_header(path).place == Place()
    frame, rows, _ = read_all(path)
    assert (rows, frame["Date"].tolist()) == ([2, 3], ["Date", "2026-03-05"])


def test_an_odd_header_stays_the_first_row_for_map(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "When,Length,What\n2026-11-16 09:00,1:00,x\n")
    header = read_header(path)
    assert (header, header.place) == (["When", "Length", "What"], Place())  # no title: no search said
    assert read_all(path)[1] == [2]


def test_title_rows_and_a_header_without_entries(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "Timesheet\nDate,Hours\n\n")
    assert "has a header but no entries" in refused(path)
    with pytest.raises(UnreadableFileError, match="has a header but no entries"):
        read_header(path)


@pytest.mark.parametrize("chunksize", [1, 50_000])
def test_xlsx_title_rows_above_the_header(tmp_path: Path, chunksize: int) -> None:
    path = book(tmp_path / "t.xlsx", ("Hours", [
        ["Timesheet November 2026"], ["Employee: Ada Lovelace"], [],
        ["Date", "Start", "End", "Description"],
        ["2026-11-02", "09:00", "10:30", "Design"], [], ["2026-11-03", "13:00", "14:00", "Review"],
    ]))  # fmt: skip
    header = read_header(path)
    assert header == ["Date", "Start", "End", "Description"]
    assert header.place == Place(row=4, title="Timesheet November 2026", sheet="Hours")
    frame, rows, _ = read_all(path, chunksize=chunksize)
    assert rows == [5, 7]
    assert frame.to_dict("records") == TITLED_ROWS


def test_xlsx_timesheet_on_a_later_sheet(tmp_path: Path) -> None:
    path = book(
        tmp_path / "t.xlsx",
        ("Cover", [["Timesheets 2026"]]),
        ("Secret", [["Date", "Hours"], ["2026-01-01", 9]]),  # hidden: not read, not named
        ("Summary", [["Total hours", 2.5], ["Approved by", "Grace"]]),
        ("Hours", [["Timesheet November 2026"], ["Date", "Start", "End", "Description"],
                   ["2026-11-02", "09:00", "10:30", "Design"], ["2026-11-03", "13:00", "14:00", "Review"]]),
        ("Later", [["Date", "Hours"], ["2026-12-01", 1]]),
        hidden=("Secret",),
    )  # fmt: skip
    header = read_header(path)
    assert header == ["Date", "Start", "End", "Description"]
    assert header.place == Place(
        row=2, title="Timesheet November 2026", sheet="Hours", sheet_number=3,
        sheets_before=("Cover", "Summary"), other_sheets=3,
    )  # fmt: skip
    frame, rows, _ = read_all(path)
    assert rows == [3, 4]
    assert frame.to_dict("records") == TITLED_ROWS


def test_xlsx_empty_first_sheet(tmp_path: Path) -> None:
    path = book(tmp_path / "t.xlsx", ("Sheet1", []), ("Data", [["Date", "Hours"], ["2026-03-05", 1.5]]))
    assert read_header(path).place == Place(sheet="Data", sheet_number=2, sheets_before=("Sheet1",),
                                            other_sheets=1)  # fmt: skip
    assert read_all(path)[0].to_dict("records") == [{"Date": "2026-03-05", "Hours": "1.5"}]


def test_xlsx_with_no_usable_sheet_reads_the_first_not_empty_one(tmp_path: Path) -> None:
    path = book(
        tmp_path / "t.xlsx",
        ("Sheet1", []),
        ("Log", [["When", "Length"], ["2026-11-16 09:00", "1:00"]]),
        ("Notes", [["Timesheet"], ["Day", "Worked"]]),
    )
    header = read_header(path)
    assert header == ["When", "Length"]  # --map names its columns
    assert header.place == Place(sheet="Log", sheet_number=2, sheets_before=("Sheet1",), other_sheets=2)
    frame, rows, _ = read_all(path)
    assert (rows, frame.to_dict("records")) == ([2], [{"When": "2026-11-16 09:00", "Length": "1:00"}])


def test_xlsx_title_without_a_header_says_how_far_it_looked(tmp_path: Path) -> None:
    path = book(tmp_path / "t.xlsx", ("Cover", [["Timesheet"], ["Day", "Worked"], ["2026-11-02", 1]]),
                ("Notes", [["just", "notes"]]))  # fmt: skip
    header = read_header(path)
    assert header == ["Timesheet", "Unnamed: 1"]
    assert header.place == Place(row=1, searched_to=3, sheet="Cover", other_sheets=1)


# -- cells are text, trimmed, never coerced -----------------------------------------------------


def test_cells_are_text_and_trimmed(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "Code, Hours ,Note\n007 ,  1.50 ,  two  words \t\n")
    frame, _, _ = read_all(path)
    assert list(frame.columns) == ["Code", "Hours", "Note"]
    assert frame.to_dict("records") == [{"Code": "007", "Hours": "1.50", "Note": "two  words"}]


def test_formula_looking_text_stays_plain(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", 'Date,Description\n2026-03-05,"=HYPERLINK(""http://x"",""y"")"\n')
    frame, _, _ = read_all(path)
    assert frame["Description"].tolist() == ['=HYPERLINK("http://x","y")']


def test_a_200000_character_cell(tmp_path: Path) -> None:
    long = "x" * 200_000
    path = write(tmp_path / "t.csv", f'Date,Description\n2026-03-05,"{long}"\n2026-03-06,short\n')
    frame, rows, _ = read_all(path)
    assert rows == [2, 3]
    assert frame["Description"].tolist() == [long, "short"]


def test_windows_1252_after_the_sniffed_prefix(tmp_path: Path) -> None:
    body = "".join(f"2026-03-05,Row {i}\n" for i in range(2, 10_000))
    text = "Date,Description\n" + body + "2026-03-06,Café\n"
    path = write(tmp_path / "t.csv", text, "cp1252")
    frame, rows, _ = read_all(path)
    assert rows[-1] == 10_000
    assert frame["Description"].iloc[-1] == "Café"


def test_utf8_non_ascii_beyond_the_prefix(tmp_path: Path) -> None:
    body = "".join(f"2026-03-05,Row {i}\n" for i in range(2, 10_000))
    path = write(tmp_path / "t.csv", "Date,Description\n" + body + "2026-03-06,Café ☕\n")
    frame, _, _ = read_all(path)
    assert frame["Description"].iloc[-1] == "Café ☕"


# -- row numbers --------------------------------------------------------------------------------


def test_row_numbers_count_blank_rows_with_tiny_chunks(tmp_path: Path) -> None:
    text = "Date,Hours\n2026-03-01,1\n\n2026-03-02,2\n , \n\n2026-03-03,3\n,\n2026-03-04,4\n\n"
    frame, rows, chunks = read_all(write(tmp_path / "t.csv", text), chunksize=2)
    assert rows == [2, 4, 7, 9]
    assert frame["Hours"].tolist() == ["1", "2", "3", "4"]
    assert all(len(c.frame) == len(c.rows) for c in chunks)


def test_row_numbers_with_a_multiline_cell(tmp_path: Path) -> None:
    text = 'Date,Notes\n2026-03-01,"two\nlines"\n2026-03-02,b\n'
    _, rows, _ = read_all(write(tmp_path / "t.csv", text))
    assert rows == [2, 3]  # a spreadsheet row, not a line of text


def test_blank_lines_before_the_header(tmp_path: Path) -> None:
    _, rows, _ = read_all(write(tmp_path / "t.csv", "\n\nDate,Hours\n2026-03-01,1\n2026-03-02,2\n"))
    assert rows == [4, 5]
    assert read_header(tmp_path / "t.csv") == ["Date", "Hours"]


def test_a_row_with_more_cells_than_the_header_is_refused(tmp_path: Path) -> None:
    text = (
        "Date,Hours,Notes\n"
        "2026-03-01,1,a\n"
        "2026-03-02,2,b,EXTRA\n"  # one cell too many
        "2026-03-03,3,c,,\n"  # two cells too many (empty ones are tolerated only one past)
        "2026-03-04,4,d,\n"  # a trailing separator: fine
        "2026-03-05,5,e,X,Y,Z\n"
        "2026-03-06,6,f\n"
    )
    for chunksize in (1, 2, 50_000):
        frame, rows, chunks = read_all(write(tmp_path / "t.csv", text), chunksize=chunksize)
        assert rows == [2, 5, 7]
        assert frame["Notes"].tolist() == ["a", "d", "f"]
        errors = [e for c in chunks for e in c.errors]
        assert [(e.row, e.reason) for e in errors] == [
            (3, "too_many_cells"),
            (4, "too_many_cells"),
            (6, "too_many_cells"),
        ]
        assert "the header has 3 columns but the row has more cells" in errors[0].message
        assert "quote" in errors[0].message


def test_too_many_cells_on_the_last_row(tmp_path: Path) -> None:
    text = "Date,Hours\n2026-03-01,1\n2026-03-02,2,x,y\n"
    _, rows, chunks = read_all(write(tmp_path / "t.csv", text), chunksize=1)
    assert rows == [2]
    assert [e.row for c in chunks for e in c.errors] == [3]


def test_rows_are_int64_aligned(tmp_path: Path) -> None:
    chunk = next(iter_chunks(DATA / "harvest_export.csv"))
    assert chunk.rows.dtype == np.int64
    assert len(chunk.rows) == len(chunk.frame) == len(chunk)
    assert chunk.file == str(DATA / "harvest_export.csv")


def test_display_name_is_used_in_chunks_and_errors(tmp_path: Path) -> None:
    chunk = next(iter_chunks(DATA / "harvest_export.csv", display_name="harvest.csv"))
    assert chunk.file == "harvest.csv"
    with pytest.raises(UnreadableFileError) as caught:
        list(iter_chunks(tmp_path / "nope.csv", display_name="nope.csv"))
    assert caught.value.file == "nope.csv"


def test_large_file_comes_in_chunks(tmp_path: Path) -> None:
    lines = ["Date,Hours"] + [f"2026-03-05,{i}" for i in range(2, 1002)]
    chunks = list(iter_chunks(write(tmp_path / "t.csv", "\n".join(lines) + "\n"), chunksize=300))
    assert [len(c) for c in chunks] == [300, 300, 300, 100]
    assert int(chunks[-1].rows[-1]) == 1001


def test_chunksize_must_be_positive() -> None:
    with pytest.raises(ValueError, match="chunksize"):
        list(iter_chunks(DATA / "toggl_export.csv", chunksize=0))


# -- files that cannot be read -----------------------------------------------------------------


def refused(path: Path) -> str:
    with pytest.raises(UnreadableFileError) as caught:
        list(iter_chunks(path))
    return str(caught.value)


@pytest.mark.parametrize("content", [b"", b"   \r\n\n", b"\xef\xbb\xbf", b"\xff\xfe"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    message = refused(path)
    assert "empty" in message and "header row" in message
    assert message.startswith(str(path))


@pytest.mark.parametrize("text", ["Date,Hours\n", "Date,Hours", "Date,Hours\n\n\n,\n"])
def test_header_only(tmp_path: Path, text: str) -> None:
    message = refused(write(tmp_path / "t.csv", text))
    assert "has a header but no entries" in message


def test_header_only_is_known_from_the_header_of_a_small_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match="has a header but no entries"):
        read_header(write(tmp_path / "t.csv", "Date,Hours\n\n"))


def test_header_only_workbook(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Date", "Hours"])
    book.save(tmp_path / "t.xlsx")
    assert "has a header but no entries" in refused(tmp_path / "t.xlsx")
    with pytest.raises(UnreadableFileError, match="has a header but no entries"):
        read_header(tmp_path / "t.xlsx")


def test_a_rewritten_file_is_sniffed_again(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "Date,Hours\n2026-03-05,1\n")
    assert read_header(path) == ["Date", "Hours"]
    write(path, "Date;Hours\n2026-03-05;1\n")
    assert read_header(path) == ["Date", "Hours"]
    assert next(iter_chunks(path)).decimal_comma


def test_empty_workbook(tmp_path: Path) -> None:
    from openpyxl import Workbook

    Workbook().save(tmp_path / "t.xlsx")
    assert "empty" in refused(tmp_path / "t.xlsx")


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "a PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
        (bytes(range(256)) * 64, "binary"),
        (b"Date,Hours\n\x00\x01\x02\x03" * 100, "binary"),
        (b"\x01\x02\x03\x04\x05\x06\x07\x08" * 100, "binary"),
    ],
)
def test_binary_renamed_csv(tmp_path: Path, content: bytes, what: str) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    message = refused(path)
    assert what in message
    assert "export the timesheet as CSV" in message


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("export.csv", "Date,Hours\n2026-03-05,1\n")
    assert "a zip archive, not a spreadsheet" in refused(path)


def test_damaged_zip(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    assert "damaged" in refused(path)


def fake_encrypted_workbook(path: Path) -> Path:
    """An OLE2 compound file whose directory lists EncryptionInfo and EncryptedPackage,
    which is what Excel writes for a workbook saved with a password."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<I", header, 44, 1)  # one FAT sector
    struct.pack_into("<I", header, 48, 0)  # the directory starts at sector 0
    directory = bytearray(512)
    for i, name in enumerate(["Root Entry", "EncryptionInfo", "EncryptedPackage", "\x06DataSpaces"]):
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        directory[i * 128 : i * 128 + len(encoded)] = encoded
        struct.pack_into("<H", directory, i * 128 + 64, len(encoded))
    path.write_bytes(bytes(header) + bytes(directory) + b"\x00" * 1024)
    return path


def test_password_protected_workbook(tmp_path: Path) -> None:
    message = refused(fake_encrypted_workbook(tmp_path / "secret.xlsx"))
    assert "password-protected" in message
    assert "remove the password" in message
    with pytest.raises(UnreadableFileError, match="password-protected"):
        read_header(tmp_path / "secret.xlsx")


def test_ole_file_that_is_no_workbook(tmp_path: Path) -> None:
    path = tmp_path / "old.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000)
    message = refused(path)
    assert "password-protected, or not really an .xlsx" in message


def test_unclosed_quote_names_its_row(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", '\n\nDate,Notes\n2026-03-05,a\n\n2026-03-06,"open\n2026-03-07,c\n')
    chunks = iter_chunks(path, chunksize=1)
    assert next(chunks).rows.tolist() == [4]
    with pytest.raises(UnreadableFileError) as caught:
        next(chunks)
    assert caught.value.row == 6
    assert str(caught.value).endswith(
        't.csv, row 6: a quoted cell is never closed: its " has no closing quote; close it (write "" for '
        "a quote inside a cell), or remove it"
    )


def test_invalid_utf8_after_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbfDate,Notes\n2026-03-05,caf\xe9\n")
    assert "line 2 is not valid UTF-8 ('2026-03-05,caf\ufffd': invalid continuation byte)" in refused(path)


def test_missing_file(tmp_path: Path) -> None:
    assert "missing.csv: file not found: check the path" in refused(tmp_path / "missing.csv")
    with pytest.raises(UnreadableFileError, match="file not found"):
        read_header(tmp_path / "missing.csv")


def test_a_folder(tmp_path: Path) -> None:
    (tmp_path / "dir.csv").mkdir()
    assert "folder" in refused(tmp_path / "dir.csv")


@pytest.mark.parametrize("name", ["report.pdf", "data.json", "notes.docx"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, "Date,Hours\n2026-03-05,1\n")
    message = refused(path)
    assert "unsupported file type" in message
    assert "CSV (UTF-8), TSV, XLSX, XLS or ODS" in message


def test_no_extension_and_txt_are_read_by_content(tmp_path: Path) -> None:
    for name in ("export", "export.txt"):
        _, rows, _ = read_all(write(tmp_path / name, "Date;Hours\n2026-03-05;1,5\n"))
        assert rows == [2]


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ("Date,Hours,Notes\n2026-03-05,1,x\n", ["Date", "Hours", "Notes"]),
        ("Date;Hours;Notes\n05.03.2026;1,5;a, b\n", ["Date", "Hours", "Notes"]),
        ("Date\tHours\tNotes\n2026-03-05\t1\ta;b,c\n", ["Date", "Hours", "Notes"]),
        ("Date,Hours,,Hours\n2026-03-05,1,,2\n", ["Date", "Hours", "Unnamed: 2", "Hours.1"]),
    ],
)
def test_delimiter_and_header_names(tmp_path: Path, text: str, columns: list[str]) -> None:
    path = write(tmp_path / "t.csv", text)
    assert read_header(path) == columns
    frame, _, _ = read_all(path)
    assert list(frame.columns) == columns


# -- what the user says: --header-row, --sheet, the --map columns ---------------------------------

GERMAN = ("Stundenzettel März 2026\nMitarbeiterin: Ada Lovelace\n\nTag der Arbeit,Zeit,Tätigkeit\n"
          "2026-03-05,1.5,Entwurf\n2026-03-06,2,Review\n")  # fmt: skip


@pytest.mark.parametrize("chunksize", [1, 50_000])
def test_the_row_holding_the_mapped_columns_is_the_header(tmp_path: Path, chunksize: int) -> None:
    path = write(tmp_path / "t.csv", GERMAN)
    assert read_header(path) == ["Stundenzettel März 2026"]  # no header a preset knows: the first row
    hints = HeaderHints(columns=("Tag der Arbeit", "Zeit"))
    header = read_header(path, hints=hints)
    assert (header, header.place) == (["Tag der Arbeit", "Zeit", "Tätigkeit"],
                                      Place(row=4, title="Stundenzettel März 2026"))  # fmt: skip
    frame, rows, _ = read_all_hinted(path, hints, chunksize)
    assert rows == [5, 6] and frame["Zeit"].tolist() == ["1.5", "2"]


def read_all_hinted(
    path: Path, hints: HeaderHints, chunksize: int = 50_000
) -> tuple[pd.DataFrame, list[int], list[RawChunk]]:
    chunks = list(iter_chunks(path, chunksize=chunksize, hints=hints))
    rows = [int(r) for c in chunks for r in c.rows]
    return pd.concat([c.frame for c in chunks], ignore_index=True), rows, chunks


@pytest.mark.parametrize(("row", "header", "rows"),
                         [(4, ["Tag der Arbeit", "Zeit", "Tätigkeit"], [5, 6]),
                          (2, ["Mitarbeiterin: Ada Lovelace"], [4, 5, 6])])  # fmt: skip
def test_header_row_is_the_header(tmp_path: Path, row: int, header: list[str], rows: list[int]) -> None:
    path = write(tmp_path / "t.csv", GERMAN)
    found = read_header(path, hints=HeaderHints(row=row))
    assert found == header and found.place.row == row
    assert read_all_hinted(path, HeaderHints(row=row))[1] == rows


def test_header_row_far_down_a_file(tmp_path: Path) -> None:
    titles = "".join(f"Line {n}\n" for n in range(1, 120))
    path = write(tmp_path / "t.csv", titles + "Date,Hours\n2026-03-05,1\n" * 2)
    assert read_header(path, hints=HeaderHints(row=120)) == ["Date", "Hours"]
    assert read_all_hinted(path, HeaderHints(row=120))[1] == [121, 122, 123]


def test_header_row_that_is_empty_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", GERMAN)
    with pytest.raises(InputError, match=r"--header-row 3: row 3 is empty or past the end \(rows 1, 2 and 4"):
        read_header(path, hints=HeaderHints(row=3))
    with pytest.raises(InputError, match="--header-row 99: row 99 is empty or past the end"):
        read_header(path, hints=HeaderHints(row=99))


def test_sheet_by_name_or_number(tmp_path: Path) -> None:
    path = book(tmp_path / "t.xlsx",
                ("Summary", [["Date", "Hours"], ["2026-01-01", 9]]),
                ("Secret", [["Date", "Hours"], ["2026-02-02", 3]]),
                ("Hours", [["Stunden"], ["Tag der Arbeit", "Zeit"], ["2026-03-05", 1.5]]),
                hidden=("Secret",))  # fmt: skip
    assert read_header(path).place.sheet == "Summary"
    for sheet in ("Hours", " hours", "2"):
        header = read_header(path, hints=HeaderHints(sheet=sheet, columns=("Zeit",)))
        assert header == ["Tag der Arbeit", "Zeit"], sheet
        assert header.place == Place(row=2, title="Stunden", sheet="Hours", sheet_number=2, other_sheets=1)
    hidden = HeaderHints(sheet="Secret")
    assert read_header(hidden_path := path, hints=hidden).place.sheet == "Secret"
    assert read_all_hinted(hidden_path, hidden)[0]["Date"].tolist() == ["2026-02-02"]
    with pytest.raises(InputError, match="--sheet '3': no such sheet; the workbook has 'Summary', 'Hours'"):
        read_header(path, hints=HeaderHints(sheet="3"))


def test_a_sheet_without_a_usable_header_starts_at_its_first_row(tmp_path: Path) -> None:
    path = book(tmp_path / "t.xlsx", ("A", [["Date", "Hours"], ["2026-01-01", 9]]),
                ("B", [["When", "Length"], ["2026-11-16 09:00", "1:00"]]))  # fmt: skip
    assert read_header(path, hints=HeaderHints(sheet="B")) == ["When", "Length"]


def test_sheet_is_ignored_for_text(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "Date,Hours\n2026-03-05,1\n")
    assert read_header(path, hints=HeaderHints(sheet="Hours")) == ["Date", "Hours"]


# -- files whose name says otherwise ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "source", "read_as"),
    [("export.xlsx", "toggl_export.csv", "UTF-8 text separated by commas"),
     ("export.ods", "semicolon_cp1252.csv", "Windows-1252 text separated by semicolons"),
     ("export.csv", "excel_cells.xlsx", "an XLSX workbook"),
     ("export.xls", "excel_cells.xlsx", "an XLSX workbook"),
     ("export.txt", "ods_cells.ods", "an ODS spreadsheet"),
     ("export.xlsx", "legacy_cells.xls", "an XLS workbook"),
     ("export.csv", "toggl_export.csv", ""), ("export", "excel_cells.xlsx", ""),
     ("export.xlsm", "excel_cells.xlsx", "")],
)  # fmt: skip
def test_a_file_is_read_by_its_content_and_says_so(
    tmp_path: Path, name: str, source: str, read_as: str
) -> None:
    path = tmp_path / name
    shutil.copy(DATA / source, path)
    header = read_header(path)
    assert header.place.read_as == read_as
    assert bool(header.notes(name)) is bool(read_as)
    if read_as:
        suffix = path.suffix or "no suffix"
        said = f"the file is {read_as}, though named {suffix}: it is read as such"
        assert header.notes(name)[0].startswith(said)
