"""A local server that behaves like the part of Toggl Track API v9 the importer uses.

Used by ``toggl-import sandbox``, the demo, every end-to-end test and the benchmarks::

    async with Sandbox(SandboxOptions(rate_limit=5, quota=100)) as sb:
        ...  # sb.base_url, sb.token, sb.state.entries, sb.configure(fail_drop=0.1)

Rooms: ``options`` (the switches), ``state`` (seeded data, entries, counters), ``limits`` (rate,
quota), ``gate`` (auth, access, limits, faults and held writes around every handler),
``entries`` (create checks), ``edits`` (update checks), ``reads`` (reading entries back),
``writes`` (the API's create/update/delete handlers), ``app`` (the endpoints), ``admin``
(``/_sandbox``), ``people`` (admin endpoints acting as a person in the web app),
``csv_import`` (Toggl's web CSV import), ``server`` (start/stop, serve).
A leaf: only the CLI and tests import it.
"""

from importer.sandbox.options import SandboxOptions
from importer.sandbox.server import Sandbox, serve
from importer.sandbox.state import SandboxState

__all__ = ["Sandbox", "SandboxOptions", "SandboxState", "serve"]
