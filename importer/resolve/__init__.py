"""Names to ids: projects (scoped by client), clients, tasks and user emails.

Each entity kind is fetched once per run, with paging, the first time a row needs it, and cached;
every later row is answered from the cache, however many rows there are. Matching follows the
contract: an exact name first, else a unique match ignoring case and surrounding spaces; with a
client, only that client's projects count. No match, or several equal matches, refuses the row
naming the candidates (and a "did you mean" from the known names).

With ``create_missing`` a missing name is *not* created when it is looked up: it comes back as a
``ToCreate`` (inside a ``Missing`` triple), so that the planner can run every other check first
and create only what rows that are otherwise valid need (``Resolver.create``, once per name).
A dry run (``plan_only``) goes the same way, but ``create`` only records what it would create
and remembers it as if it had (so later chunks match it, as the real run would).

An email resolves to a workspace member's id; when ``workspace_users`` says who is an admin and
the token's user is not one, an email of someone else is refused (Toggl takes entries for other
people from admins only): that costs one ``GET /me`` per run, asked only then.

Rooms: ``results`` (what resolving gives back: ``Unresolved``, ``ToCreate``, ``Missing``,
``NewName`` and the type aliases), ``catalogue`` (the names of one kind and how a name matches
them: exact, folded, one edit away, suggestions; ``NameCache``), ``resolver`` (``Resolver``:
fetching, one name, creating, many rows).
"""

from __future__ import annotations

from .catalogue import NameCache
from .resolver import PARENT_KIND, ReadClient, Resolver
from .results import Missing, NewName, Ref, Resolution, ToCreate, Triple, TripleResult, Unresolved

__all__ = [
    "PARENT_KIND",
    "Missing",
    "NameCache",
    "NewName",
    "ReadClient",
    "Ref",
    "Resolution",
    "Resolver",
    "ToCreate",
    "Triple",
    "TripleResult",
    "Unresolved",
]
