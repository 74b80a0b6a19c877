"""The transaction every use case runs in.

A use case gets one unit of work per request; it never commits: the edge does, once. Each
context's `ports.py` declares the unit of work its use cases take (this transaction and that
context's repositories and reads); the infrastructure's one implementation satisfies them all.
Every method that reads tenant data takes the shop id it is scoped to.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol


class Transaction(Protocol):
    async def flush(self) -> None: ...
    # No `commit`: the domain never commits; the edge does (app/api/deps.py), once.
    async def rollback(self) -> None: ...
    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """A nested transaction: an exception leaving the block undoes exactly the writes
        made inside it (audit and outbox rows included) and the rest of the unit of work
        stays usable. One item of a batch runs in each."""
        ...
