"""Writing MIME messages straight to bytes, for the few fixed shapes our mails have.

Why not ``email.message.EmailMessage``: its modern API parses every header it is given
(``email.headerregistry``, ``email._header_value_parser``) and re-parses them all while
folding on output; profiled, that was ~7–10 % of the API's CPU in a purchase run, several
times what the content itself costs. Our messages are always the same few shapes built
from values we produce, so this module writes them directly, with the encodings the
modern API chose: RFC 2047 encoded-words for non-ASCII header text, quoted-printable
UTF-8 text bodies, base64 images, CRLF line ends, lines of at most 78 characters. The
heavy lifting (quoted-printable, base64) is done by :mod:`binascii`, in C.

Boundaries start with ``=_``: quoted-printable writes ``=`` only before two hex digits or
a line end, and base64 never has ``_``, so a boundary can never occur inside a body.
"""

from __future__ import annotations

import binascii
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.utils import quote
from typing import Final

CRLF: Final = b"\r\n"
#: RFC 5322 recommends at most 78 characters a line (998 is the hard limit).
MAX_LINE: Final = 78
#: Raw bytes per base64 encoded-word: ``=?utf-8?b?`` + 60 characters + ``?=`` is 72.
_WORD_BYTES: Final = 45
_BASE64_LINE: Final = 76
#: A header word longer than this cannot be folded onto a line of its own.
_LONGEST_WORD: Final = MAX_LINE - 2
#: Characters that make a display name need quoting (RFC 5322 ``specials``, plus space
#: handled by quoting as well so the name stays one phrase).
_SPECIALS: Final = frozenset('()<>@,:;."[]\\')


def encoded_words(text: str) -> list[str]:
    """``text`` as base64 UTF-8 encoded-words (RFC 2047), none split inside a character.

    Whitespace between adjacent encoded-words is ignored by decoders, so the words can be
    folded onto separate lines without changing the decoded text.
    """
    words: list[str] = []
    chunk: list[bytes] = []
    size = 0
    for char in text:
        encoded = char.encode()
        if size + len(encoded) > _WORD_BYTES:
            words.append(_word(b"".join(chunk)))
            chunk, size = [], 0
        chunk.append(encoded)
        size += len(encoded)
    if chunk:
        words.append(_word(b"".join(chunk)))
    return words


def _word(raw: bytes) -> str:
    return f"=?utf-8?b?{binascii.b2a_base64(raw, newline=False).decode('ascii')}?="


def unstructured_tokens(text: str) -> list[str]:
    """Tokens of an unstructured header (``Subject``), to be joined by single spaces.

    ASCII words stay readable. The span from the first to the last word that cannot stand
    as is becomes encoded-words, as the stdlib's modern API does: words with non-ASCII
    characters, words too long to fold, and words that look like encoded-words (``=?``),
    which a client would otherwise decode. ``text`` must be one line (see
    :func:`~eltiketi_adapters.notify.rendering.one_line`).
    """
    words = text.split(" ")
    marked = [i for i, word in enumerate(words) if _needs_encoding(word)]
    if not marked:
        return words
    first, last = marked[0], marked[-1]
    return [*words[:first], *encoded_words(" ".join(words[first : last + 1])), *words[last + 1 :]]


def _needs_encoding(word: str) -> bool:
    return not word.isascii() or "=?" in word or len(word) > _LONGEST_WORD


def mailbox_tokens(display_name: str, address: str) -> list[str]:
    """Tokens of ``Name <user@domain>`` (or the bare address when there is no name).

    A non-ASCII name becomes encoded-words; an ASCII one is quoted when it holds specials.
    """
    if not display_name:
        return [address]
    if not display_name.isascii():
        return [*encoded_words(display_name), f"<{address}>"]
    if any(c in _SPECIALS for c in display_name):
        return [f'"{quote(display_name)}"', f"<{address}>"]
    return [*display_name.split(" "), f"<{address}>"]


def header(name: str, tokens: Sequence[str]) -> bytes:
    """One header line, folded between tokens so lines stay within :data:`MAX_LINE`.

    Tokens are separated by one space; a fold replaces that space with CRLF + space,
    which unfolds back to the same space. A token longer than a line stays whole.
    """
    lines: list[str] = []
    line = f"{name}:"
    for token in tokens:
        if len(line) + 1 + len(token) > MAX_LINE and line != f"{name}:":
            lines.append(line)
            line = ""
        line = f"{line} {token}"
    lines.append(line)
    return "\r\n".join(lines).encode("utf-8") + CRLF


def new_boundary() -> str:
    """A fresh boundary that cannot occur in quoted-printable or base64 bodies."""
    return f"=_{secrets.token_hex(16)}"


@dataclass(frozen=True, slots=True)
class Part:
    """A MIME entity: its header lines (already encoded, CRLF-terminated) and body."""

    headers: bytes
    body: bytes

    def write(self, out: list[bytes]) -> None:
        out.append(self.headers)
        out.append(CRLF)
        out.append(self.body)


def text_part(text: str, subtype: str) -> Part:
    """UTF-8 text in the transfer encoding the stdlib's modern API picks, kept 7-bit clean.

    Lines are split as ``set_content`` splits them (``bytes.splitlines`` of the UTF-8).
    ASCII text with short lines goes as ``7bit``; otherwise the shorter of
    quoted-printable and base64 over the first ten lines wins, as in
    ``email.contentmanager``. Where that module would send short non-ASCII lines as
    ``8bit``, we take the same quoted-printable/base64 choice instead, so every message
    is 7-bit and needs no 8BITMIME from the server; a client decodes the same text.
    """
    lines = text.encode("utf-8").splitlines()
    if max(map(len, lines), default=0) <= MAX_LINE and text.isascii():
        cte, body = "7bit", CRLF.join(lines) + CRLF
    else:
        sniff = b"\n".join(lines[:10]) + b"\n"
        qp_size = len(binascii.b2a_qp(sniff, quotetabs=False, istext=True, header=False))
        if qp_size > len(binascii.b2a_base64(sniff)):
            # Like the modern API, base64 text carries bare LF line ends inside.
            cte, body = "base64", _base64_lines(b"\n".join(lines) + b"\n")
        else:
            joined = CRLF.join(lines) + CRLF
            cte, body = "quoted-printable", _quoted_printable(joined)
    headers = (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n'
    ).encode("ascii")
    return Part(headers, body)


def _quoted_printable(data: bytes) -> bytes:
    return binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)


def _base64_lines(data: bytes) -> bytes:
    """Base64 in lines of 76 characters, each ending in CRLF."""
    encoded = binascii.b2a_base64(data, newline=False)
    lines = [encoded[i : i + _BASE64_LINE] for i in range(0, len(encoded), _BASE64_LINE)]
    return CRLF.join(lines) + CRLF


def inline_image_part(data: bytes, *, subtype: str, content_id: str, filename: str) -> Part:
    """An inline image (``Content-ID: <content_id>``), base64 in 76-character lines.

    ``content_id`` and ``filename`` are ASCII without quotes or line breaks (we make them).
    """
    headers = (
        f"Content-Type: image/{subtype}\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        f'Content-Disposition: inline; filename="{filename}"\r\n'
        f"Content-ID: <{content_id}>\r\n"
    ).encode("ascii")
    return Part(headers, _base64_lines(data))


def multipart(subtype: str, parts: Iterable[Part]) -> Part:
    """A ``multipart/<subtype>`` entity holding ``parts`` in order."""
    boundary = new_boundary()
    # The CRLF before a delimiter belongs to it (RFC 2046), so each part's own last
    # line end survives, as with the standard library's generator.
    delimiter = f"\r\n--{boundary}\r\n".encode("ascii")
    body: list[bytes] = []
    for part in parts:
        body.append(delimiter[2:] if not body else delimiter)
        part.write(body)
    body.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    headers = f'Content-Type: multipart/{subtype};\r\n boundary="{boundary}"\r\n'
    return Part(headers.encode("ascii"), b"".join(body))
