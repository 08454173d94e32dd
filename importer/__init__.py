"""toggl-import: load CSV, TSV and Excel timesheets into Toggl Track, exactly once."""

__version__ = "0.1.0"
