"""Reading the uploaded document, shared by every route that takes one.

The body is the document itself, or ``multipart/form-data`` with the document in a ``file``
field. Either way it is read in chunks and refused as soon as it passes the size limit, so
an oversize upload never sits in memory whole.
"""

from __future__ import annotations

from fastapi import Request

__all__ = ["MULTIPART_SLACK", "TooLarge", "read_body", "read_document"]

# A multipart body may exceed the file limit by this much: the form's other fields and the
# part headers around the file.
MULTIPART_SLACK = 64 * 1024


class TooLarge(Exception):
    """The upload is larger than the configured limit."""


async def read_document(request: Request, limit: int, name: str | None = None) -> tuple[bytes, str | None]:
    """``(bytes, name)``: the document and, for a multipart upload, its file name if none given."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return await _from_multipart(request, limit, name)
    return await read_body(request, limit), name


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body; ``TooLarge`` as soon as the declared or the streamed size passes ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def _from_multipart(request: Request, limit: int, name: str | None) -> tuple[bytes, str | None]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + MULTIPART_SLACK:
        raise TooLarge
    async with request.form(max_files=1, max_fields=8) as form:  # closes the spooled files
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            return b"", name
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise TooLarge
        return data, name or upload.filename
