"""E-mail messages (.eml) through the standard library: headers, body, text attachments."""

from __future__ import annotations

import email
import re
from email import policy
from email.message import EmailMessage, Message
from pathlib import Path

from chatkb.errors import LoadError
from chatkb.loaders import register_loader
from chatkb.loaders._encoding import decode_bytes
from chatkb.loaders.base import LoaderOptions
from chatkb.loaders.html import html_blocks
from chatkb.loaders.text import paragraphs
from chatkb.models import Block, LoadedDocument

_HEADERS = ("From", "To", "Cc", "Date", "Subject")
# Checked on the raw bytes, before the standard parser (recursive, and slow on many parts).
MAX_MULTIPARTS = 100  # multipart sections (each may nest in the one before)
MAX_PARTS = 10_000  # boundary lines
_BOUNDARY_PARAM = re.compile(rb"boundary\s*=", re.IGNORECASE)
_BOUNDARY_LINE = re.compile(rb"^--", re.MULTILINE)
_TEXT_ATTACHMENTS = ("text/plain", "text/markdown", "text/csv", "text/html")


@register_loader(".eml")
class EmailLoader:
    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        data = path.read_bytes()
        check_structure(data)
        message = email.message_from_bytes(data, policy=policy.default)
        subject = str(message.get("Subject", "") or "").strip()
        blocks: list[Block] = []
        if subject:
            blocks.append(Block(subject, "heading", level=1))
        headers = [f"{name}: {message[name]}" for name in _HEADERS if message.get(name)]
        if headers:
            blocks.append(Block("\n".join(headers)))
        blocks.extend(body_blocks(message))
        for part in message.walk():
            if part.get_content_disposition() == "attachment":
                blocks.extend(_attachment_blocks(part))
        return LoadedDocument(tuple(blocks), file_type="eml", title=subject or None)


def check_structure(data: bytes) -> None:
    """Refuse deeply nested or many-part MIME before the parser recurses into it."""
    multiparts = len(_BOUNDARY_PARAM.findall(data))
    if multiparts > MAX_MULTIPARTS:
        raise LoadError(
            f"e-mail has {multiparts} multipart sections (over {MAX_MULTIPARTS}): nested "
            "too deeply or too many to read"
        )
    parts = len(_BOUNDARY_LINE.findall(data))
    if parts > MAX_PARTS:
        raise LoadError(f"e-mail has over {MAX_PARTS:,} MIME parts; too many to read")


def body_blocks(message: Message) -> list[Block]:
    """The plain-text body if there is one, else the HTML body."""
    if not isinstance(message, EmailMessage):
        return []
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return []
    return _part_blocks(body)


def _part_blocks(part: Message) -> list[Block]:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes) or not payload:
        return []
    text = decode_bytes(payload, declared=part.get_content_charset())
    if part.get_content_type() == "text/html":
        return html_blocks(text)[1]
    return paragraphs(text.replace("\r\n", "\n"))


def _attachment_blocks(part: Message) -> list[Block]:
    if part.get_content_type() not in _TEXT_ATTACHMENTS:
        return []
    content = _part_blocks(part)
    name = part.get_filename() or "attachment"
    return [Block(f"Attachment: {name}", "heading", level=2), *content] if content else []
