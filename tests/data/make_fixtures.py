"""Write the timesheet fixtures of tests/test_reader.py and tests/test_normalize.py.

    python tests/data/make_fixtures.py

The files are committed; this script says exactly what is in them (encodings, byte-order marks,
cell types) and rebuilds them byte for byte. The expected values live in the tests.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

HERE = Path(__file__).resolve().parent

TOGGL_EXPORT = (
    "User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,"
    "End time,Duration,Tags,Amount (USD)\r\n"
    'Ada Lovelace,ada@example.com,Acme Corp,Website,Design,"Homepage, hero section",Yes,'
    '2026-03-05,09:30:00,2026-03-05,11:00:00,01:30:00,"design, client work",127.50\r\n'
    "Ada Lovelace,ada@example.com,Acme Corp,Website,,Standup,No,"
    "2026-07-14,09:00:00,2026-07-14,09:15:00,00:15:00,,0.00\r\n"
    'Bruno Keller,bruno@example.com,,Internal,,"Release ""v2"" night",Yes,'
    "2026-11-30,23:30:00,2026-12-01,01:15:00,01:45:00,deploy,148.75\r\n"
)

TOGGL_IMPORT = (
    "User, Email, Client, Project, Task, Description, Billable, Start date, Start time, "
    "Duration, Tags\n"
    "Ada Lovelace, ada@example.com, Acme Corp, Website, Design, Wireframes, Yes, 2026-03-05, "
    "14:00:00, 02:00:00, design\n"
    "Bruno Keller, bruno@example.com, , Internal, , Planning, No, 2026-03-06, 08:15:00, "
    '00:45:00, "meeting, planning"\n'
    "Ada Lovelace, ada@example.com, Acme Corp, Website, , Review, yes, 2026-03-06, 16:00, "
    "1.25, \n"
)

CLOCKIFY = (
    "Project,Client,Description,Task,User,Group,Email,Tags,Billable,Start Date,Start Time,"
    "End Date,End Time,Duration (h),Duration (decimal),Billable Rate (USD),"
    "Billable Amount (USD)\n"
    'Website,Acme Corp,Design review,Design,Ada Lovelace,,ada@example.com,"design, review",Yes,'
    "09/23/2026,01:00:00 PM,09/23/2026,02:30:00 PM,01:30:00,1.50,85.00,127.50\n"
    "Internal,,Night deploy,,Bruno Keller,Ops,bruno@example.com,,No,"
    "09/23/2026,11:45:00 PM,09/24/2026,12:15:00 AM,00:30:00,0.50,0.00,0.00\n"
    "Website,Acme Corp,Morning sync,,Ada Lovelace,,ada@example.com,meeting,Yes,"
    "12/01/2026,08:05:00 AM,12/01/2026,08:35:00 AM,00:30:00,0.50,85.00,42.50\n"
)

HARVEST = (
    "Date,Client,Project,Project Code,Task,Notes,Hours,Billable?,Invoiced?,Approved?,First Name,"
    "Last Name,Employee Id,Roles,Employee?,Billable Rate,Billable Amount,Cost Rate,Cost Amount,"
    "Currency,External Reference URL\n"
    "2026-03-05,Acme Corp,Website,WEB,Design,Wireframes,1.5,Yes,No,Yes,Ada,Lovelace,,Designer,"
    "Yes,100,150,50,75,US Dollar - USD,\n"
    "2026-03-05,Acme Corp,Website,WEB,Meetings,Kick-off,0.75,No,No,Yes,Bruno,Keller,,Developer,"
    "Yes,100,0,50,37.5,US Dollar - USD,\n"
    "2026-03-05,Acme Corp,Website,WEB,Development,Hero section,2.25,Yes,No,Yes,Ada,Lovelace,,"
    "Designer,Yes,100,225,50,112.5,US Dollar - USD,\n"
    "2026-03-06,Globex,Support,SUP,Support,Ticket #42,0.5,Yes,No,Yes,Ada,Lovelace,,Designer,"
    "Yes,100,50,50,25,US Dollar - USD,\n"
)

SEMICOLON = (
    "Date;Start;Duration;Description;Project;Client;Billable;Tags\r\n"
    "05.03.2026;09:00;1,5;Café mit Kunde;Website;Acme Corp;1;Besprechung\r\n"
    "06.03.2026;14:15;0,25;Rückruf Müller;Support;;0;\r\n"
)

UTF16_TSV = (
    "Email\tProject\tDescription\tStart date\tStart time\tDuration\tTags\tBillable\r\n"
    "ada@example.com\tWebsite\tNaïve café\t2026-03-05\t09:30\t1:15\tdesign\tTrue\r\n"
    "bruno@example.com\tInternal\tDeploy 🚀\t2026-07-01\t17:00:00\t45m\t\tfalse\r\n"
)


def write_text() -> None:
    (HERE / "toggl_export.csv").write_bytes("\ufeff".encode() + TOGGL_EXPORT.encode())
    (HERE / "toggl_import.csv").write_bytes(TOGGL_IMPORT.encode())
    (HERE / "clockify_export.csv").write_bytes(CLOCKIFY.encode())
    (HERE / "harvest_export.csv").write_bytes(HARVEST.encode())
    (HERE / "semicolon_cp1252.csv").write_bytes(SEMICOLON.encode("cp1252"))
    (HERE / "utf16_export.tsv").write_bytes(UTF16_TSV.encode("utf-16"))  # with a BOM


def write_xlsx() -> None:
    """Real date, time and duration cells, a serial date, a fraction of a day, a blank row."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Timesheet"
    sheet.append(["Date", "Start", "End", "Duration", "Description", "Project", "Billable", "Tags"])
    sheet.append([dt.date(2026, 3, 5), dt.time(9, 30), dt.time(11, 0), None, "Design", "Website",
                  True, "design"])  # fmt: skip
    sheet.append([dt.date(2026, 3, 6), 0.375, None, 0.0625, "Review", "Website", False, None])
    sheet["B3"].number_format = "h:mm"  # a fraction of a day shown as a time
    sheet["D3"].number_format = "[h]:mm:ss"  # a fraction of a day shown as a duration
    sheet.append([46090, "14:00", None, 1.25, "Call", "Support", None, "phone, urgent"])
    sheet["A4"].number_format = "General"  # an Excel serial date left unformatted
    midnight, quarter_past_eight = (
        dt.datetime(2026, 3, 10),  # noqa: DTZ001 - a spreadsheet cell has no time zone
        dt.datetime(2026, 3, 10, 8, 15),  # noqa: DTZ001
    )
    sheet.append([midnight, quarter_past_eight, None, dt.timedelta(minutes=45), "Café", None, True, None])
    sheet["A5"].number_format = "yyyy-mm-dd"
    sheet["B5"].number_format = "yyyy-mm-dd hh:mm"
    sheet.append([])
    sheet.append([dt.date(2026, 3, 11), dt.time(10, 0), dt.time(10, 30), None, "Standup", None,
                  False, None])  # fmt: skip
    for row in sheet.iter_rows(min_row=2, max_col=1):
        for cell in row:
            if isinstance(cell.value, dt.date) and cell.row != 5:
                cell.number_format = "yyyy-mm-dd"
    book.save(HERE / "excel_cells.xlsx")


def write_ods() -> None:
    """An OpenDocument sheet with typed date, time, float and string cells."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Timesheet")

    def cell(value: object) -> TableCell:
        if value is None:
            return TableCell()
        if isinstance(value, dt.date):
            c = TableCell(valuetype="date", datevalue=value.isoformat())
        elif isinstance(value, dt.timedelta):
            seconds = int(value.total_seconds())
            iso = f"PT{seconds // 3600:02d}H{seconds % 3600 // 60:02d}M{seconds % 60:02d}S"
            c = TableCell(valuetype="time", timevalue=iso)
        elif isinstance(value, float):
            c = TableCell(valuetype="float", value=value)
        else:
            c = TableCell(valuetype="string")
        c.addElement(P(text=str(value)))
        return c

    rows = [
        ["Date", "Start time", "Hours", "Notes", "Project", "Billable"],
        [dt.date(2026, 3, 5), dt.timedelta(hours=9, minutes=30), 1.5, "Workshop", "Website", "yes"],
        [dt.date(2026, 3, 6), dt.timedelta(hours=13), 0.25, "Email", "Support", "no"],
    ]
    for values in rows:
        tr = TableRow()
        for value in values:
            tr.addElement(cell(value))
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    doc.save(str(HERE / "ods_cells.ods"))


def write_xls() -> None:
    """A legacy Excel 97-2003 book (BIFF8), as old Harvest and accounting exports are: date and
    time cells (serials with a date or time format), a number of hours, a text date.

    Needs ``xlwt`` (``pip install xlwt``), which nothing else here uses: the file is committed."""
    import xlwt  # type: ignore[import-not-found]

    book = xlwt.Workbook()
    sheet = book.add_sheet("Timesheet")
    date, clock = xlwt.easyxf(num_format_str="YYYY-MM-DD"), xlwt.easyxf(num_format_str="HH:MM")
    for col, name in enumerate(["Date", "Start", "Duration", "Description", "Project", "Billable"]):
        sheet.write(0, col, name)
    rows = [
        (dt.date(2026, 3, 5), dt.time(9, 30), 1.5, "Legacy import", "Website", "Yes"),
        (dt.date(2026, 3, 6), dt.time(13, 0), 0.25, "Café call", "Support", "No"),
        ("2026-03-09", "08:15", 2, "Text cells", None, None),
    ]
    for r, (day, start, hours, notes, project, billable) in enumerate(rows, start=1):
        sheet.write(r, 0, day, date if isinstance(day, dt.date) else xlwt.Style.default_style)
        sheet.write(r, 1, start, clock if isinstance(start, dt.time) else xlwt.Style.default_style)
        sheet.write(r, 2, hours)
        sheet.write(r, 3, notes)
        if project:
            sheet.write(r, 4, project)
        if billable:
            sheet.write(r, 5, billable)
    book.save(str(HERE / "legacy_cells.xls"))


if __name__ == "__main__":
    write_text()
    write_xlsx()
    write_ods()
    write_xls()
    print(f"fixtures written to {HERE}")
