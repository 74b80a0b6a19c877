"""Receiving file uploads: a cap on each app's uploads in flight, and bodies spooled to a
temporary file as they arrive (never held whole in memory, never with a database connection
held: the route receives the body before it opens its transaction)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import IO

from starlette.datastructures import UploadFile
from starlette.requests import Request

from app.domain.errors import TooManyRequests, ValidationFailed

#: Spooled in memory up to this size, then to a temporary file on disk.
SPOOL_BYTES = 1 << 20
#: `Retry-After` when an app has too many uploads in flight: an upload takes seconds.
RETRY_AFTER_SECONDS = 5


class TooManyUploads(TooManyRequests):
    code = "too_many_uploads"
    title = "Too many uploads in flight"


class UploadSlots:
    """At most `per_app` uploads in flight per app, in this process. A slot is taken before
    the body is read and given back once it is stored, so one app trickling many uploads
    ties up its own slots and nothing of anyone else's."""

    def __init__(self, per_app: int) -> None:
        self.per_app = per_app
        self._in_flight: dict[str, int] = {}

    @asynccontextmanager
    async def slot(self, app_id: str) -> AsyncIterator[None]:
        busy = self._in_flight.get(app_id, 0)
        if busy >= self.per_app:
            raise TooManyUploads(
                f"This app is sending {busy} uploads already, the most it may send at once; "
                f"retry when one has finished.",
                extra={"limit": self.per_app},
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self._in_flight[app_id] = busy + 1
        try:
            yield
        finally:
            left = self._in_flight[app_id] - 1
            if left:
                self._in_flight[app_id] = left
            else:
                del self._in_flight[app_id]


def upload_slots(request: Request) -> UploadSlots:
    """The process's slots (`create_app` makes them from the settings)."""
    slots: UploadSlots = request.app.state.upload_slots
    return slots


@asynccontextmanager
async def spooled_body(request: Request) -> AsyncIterator[IO[bytes]]:
    """The raw body, received into a temporary file (memory up to `SPOOL_BYTES`), rewound."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as file:
        async for chunk in request.stream():
            file.write(chunk)
        file.seek(0)
        yield file


@asynccontextmanager
async def form_file(request: Request, field: str) -> AsyncIterator[tuple[UploadFile, IO[bytes]]]:
    """The `field` file part of a `multipart/form-data` body. Starlette's parser spools each
    file to a temporary file as it arrives (memory up to 1 MiB)."""
    form = await request.form(max_files=1, max_fields=10)
    try:
        part = form.get(field)
        if not isinstance(part, UploadFile):
            # A part without a file name is a plain form field to the parser.
            raise ValidationFailed.field(
                f"body.{field}",
                f"Send the file as the form's `{field}` part, with a file name "
                "(such as catalog.csv).",
                type_="missing",
            )
        await part.seek(0)
        yield part, part.file
    finally:
        await form.close()


def in_parts(file: IO[bytes], size: int) -> Iterator[bytes]:
    """The file from its start, a block at a time."""
    file.seek(0)
    while block := file.read(size):
        yield block


def file_size(file: IO[bytes]) -> int:
    size = file.seek(0, 2)
    file.seek(0)
    return size
