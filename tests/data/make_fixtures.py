"""Write the timesheet fixtures of tests/test_reader.py, tests/test_normalize.py and tests/test_issue9.py.

    python tests/data/make_fixtures.py [text xlsx ods xls issue9 ...]   (default: all)

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


# -- the files of issue 9 ("Read the files people really have"): shapes of real exports, made up --

JIRA_CLOUD = (  # a worklog report of Jira Cloud: "Jan 20, 2023, 6:25 PM", a totals row at the bottom
    "Issue Key,Summary,Worklog Id,Started,Time Spent,Author,Author Email,Comment\r\n"
    'WEB-101,Login page redesign,10001,"Jan 20, 2023, 6:25 PM",35m,Ada Lovelace,ada@example.com,'
    "Pairing on the form\r\n"
    'WEB-101,Login page redesign,10002,"Jan 23, 2023, 9:00 AM","1h ",Ada Lovelace,ada@example.com,\r\n'
    'OPS-7,Nightly backup fails,10003,"Sept 4, 2023, 11:30 PM",0h 30m,Bruno Keller,bruno@example.com,'
    '"Checked the cron, ""disk full"""\r\n'
    'OPS-7,Nightly backup fails,10004,"Sep 5, 2023, 8:00 AM",1d 2h,Bruno Keller,bruno@example.com,'
    "Restore drill\r\n"
    ",,,,Total: 1d 4h 5m,,,\r\n"
)

JIRA_SERVER = (  # Jira Server / Data Center worklogs: "01-Aug-2023 09:00:00", seconds, a BOM
    "Issue Key,Issue Summary,Worklog Id,Start Date,Time Spent (seconds),User,Work Description\n"
    "PAY-12,Invoice export,20001,01-Aug-2023 09:00:00,3600,ada,Export to CSV\n"
    "PAY-12,Invoice export,20002,02-Aug-2023 14:15:00,5400,ada,\n"
    "PAY-13,Refund flow,20003,31-Aug-2023 17:45:00,900,bruno,Review with finance\n"
    "Total,,,,9900,,\n"
)

JIRA_TWELVE_HOUR = (  # a worklog app's export: "29-Jun-2023  04:00:00 PM" (two spaces), "Id"
    "Key;Summary;Id;Date Started;Time Spent;Author;Comment\n"
    "APP-3;Push notifications;30001;29-Jun-2023  04:00:00 PM;45m;Chloé Martin;Spike\n"
    "APP-3;Push notifications;30002;30-Jun-2023  09:30:00 AM;2h 15m;Chloé Martin;\n"
    "APP-4;Dark mode;30003;03-Jul-2023  12:00:00 PM;1h;Chloé Martin;Colours\n"
    ";;;;Total 4h;;\n"
)

HARVEST_EUROPEAN = (  # Harvest, a European account: hours and money with decimal commas, quoted
    "Date,Client,Project,Project Code,Task,Notes,Hours,Billable?,Invoiced?,Approved?,First Name,"
    "Last Name,Employee Id,Roles,Employee?,Billable Rate,Billable Amount,Cost Rate,Cost Amount,"
    "Currency,External Reference URL\n"
    '2026-03-02,Acme GmbH,Relaunch,REL,Konzept,Workshop-Woche,"20,0",Yes,No,Yes,Ada,Lovelace,,'
    'Designer,Yes,"100,00","2.000,00","50,00","1.000,00",Euro - EUR,\n'
    '2026-03-05,Acme GmbH,Relaunch,REL,Design,Startseite,"1,5",Yes,No,Yes,Ada,Lovelace,,'
    'Designer,Yes,"100,00","150,00","50,00","75,00",Euro - EUR,\n'
    '2026-03-05,Acme GmbH,Relaunch,REL,Meetings,Abstimmung,"0,25",No,No,Yes,Ada,Lovelace,,'
    'Designer,Yes,"100,00","0,00","50,00","12,50",Euro - EUR,\n'
    "2026-03-06,Acme GmbH,Relaunch,REL,Design,Unterseiten,2,Yes,No,Yes,Bruno,Keller,,"
    'Developer,Yes,"100,00","200,00","50,00","100,00",Euro - EUR,\n'
)

FRENCH = (  # a hand-made French sheet: semicolons, day-first dates with slashes, decimal commas
    "Date;Début;Fin;Durée;Description;Projet;Client;Étiquettes;Facturable;Courriel\r\n"
    "05/03/2026;09:00;10:30;;Réunion de lancement;Site web;Acme SARL;réunion, client;oui;"
    "ada@example.com\r\n"
    "25/03/2026;14:00;;1,5;Maquettes;Site web;Acme SARL;;non;ada@example.com\r\n"
)

SPANISH = (  # Spanish, comma-separated, UTF-8 with a BOM
    "Fecha,Inicio,Fin,Descripción,Proyecto,Cliente,Tarea,Etiquetas,Facturable,Correo\n"
    "2026-03-05,09:00,11:15,Revisión del diseño,Sitio web,Acme SA,Diseño,diseño,sí,ada@example.com\n"
    "2026-03-06,16:30,17:00,Llamada,Soporte,,,,no,bruno@example.com\n"
)

PORTUGUESE = (  # Portuguese, tab-separated
    "Data\tInício\tDuração\tDescrição\tProjeto\tCliente\tTarefa\tEtiquetas\tFaturável\tE-mail\n"
    "2026-03-05\t08:30\t1:30\tReunião com cliente\tSite\tAcme Lda\tReuniões\treunião\tsim\t"
    "ada@example.com\n"
    "2026-03-06\t13:00\t0:45\tCorreções\tSite\tAcme Lda\t\t\tnão\tada@example.com\n"
)


def write_issue9() -> None:
    (HERE / "jira_cloud.csv").write_bytes(JIRA_CLOUD.encode())
    (HERE / "jira_server.csv").write_bytes("\ufeff".encode() + JIRA_SERVER.encode())
    (HERE / "jira_twelve_hour.csv").write_bytes(JIRA_TWELVE_HOUR.encode())
    (HERE / "harvest_european.csv").write_bytes(HARVEST_EUROPEAN.encode())
    (HERE / "french.csv").write_bytes(FRENCH.encode())
    (HERE / "spanish.csv").write_bytes("\ufeff".encode() + SPANISH.encode())
    (HERE / "portuguese.tsv").write_bytes(PORTUGUESE.encode())
    (HERE / "csv_named.xlsx").write_bytes(SPANISH.encode())  # CSV text, named as a workbook
    write_german_xlsx()


def write_german_xlsx() -> None:
    """A hand-made German timesheet: two title rows and a blank one above the header, real date
    and time cells, and a second sheet of totals."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Stunden"
    sheet.append(["Stundenzettel März 2026"])
    sheet.append(["Mitarbeiterin: Ada Lovelace", None, "Abteilung: Design"])
    sheet.append([])
    sheet.append(["Datum", "Beginn", "Ende", "Beschreibung", "Projekt", "Kunde", "Schlagwörter",
                  "Abrechenbar", "E-Mail"])  # fmt: skip
    sheet.append([dt.date(2026, 3, 2), dt.time(8, 30), dt.time(12, 0), "Entwürfe Startseite",
                  "Relaunch", "Acme GmbH", "design", "ja", "ada@example.com"])  # fmt: skip
    sheet.append([dt.date(2026, 3, 2), dt.time(13, 0), dt.time(15, 45), "Abstimmung mit Kunde",
                  "Relaunch", "Acme GmbH", "meeting, kunde", "nein", "ada@example.com"])  # fmt: skip
    for row in sheet.iter_rows(min_row=5, max_col=3):
        row[0].number_format = "dd.mm.yyyy"
        row[1].number_format = row[2].number_format = "hh:mm"
    totals = book.create_sheet("Summen")
    totals.append(["Summe März", 6.25])
    book.save(HERE / "german_titles.xlsx")


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


WRITERS = {"text": write_text, "xlsx": write_xlsx, "ods": write_ods, "xls": write_xls,
           "issue9": write_issue9}  # fmt: skip

if __name__ == "__main__":
    import sys

    for name in sys.argv[1:] or list(WRITERS):
        WRITERS[name]()
    print(f"fixtures written to {HERE}")
