"""The ticket-signing key set: one current Ed25519 key that signs, retired keys that verify.

A key set is an ordinary private JWK set (RFC 7517). **The first key signs**; every other
key only verifies, so tickets issued before a rotation keep working at the door. Keeping
the convention positional (rather than a custom "current" member) means the JSON stays a
plain JWK set any JOSE tool can read, and rotation is "put a new key in front".

Production passes the JSON (``ELTIKETI_TICKET_KEYS``) to :meth:`TicketKeySet.from_json`,
so every API replica and worker signs and verifies alike. Embedded mode calls
:meth:`TicketKeySet.load_or_create`, which generates the set once and keeps it in the data
folder (file mode 0600).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import secrets
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc.jwk import OKPKey

log = logging.getLogger(__name__)

#: File name of the embedded key set inside the data folder.
KEY_FILE_NAME: Final = "ticket-keys.json"

#: Algorithm names a ticket key may carry (RFC 8037 ``EdDSA``, RFC 9864 ``Ed25519``).
_ED25519_ALGS: Final = frozenset({"EdDSA", "Ed25519"})
#: Only these members are ever published; ``d`` (the private scalar) can never leak.
_PUBLIC_MEMBERS: Final = ("kty", "crv", "x", "kid", "use", "alg")
_KID_LENGTH: Final = 8


class TicketKeyError(ValueError):
    """The key material is unusable (bad JSON, wrong key type, missing kid or private key).

    A configuration error, raised at start-up: the app should refuse to start and print it.
    """


class TicketKeySet:
    """Ed25519 keys with ids; ``keys[0]`` is the current signing key, the rest are retired.

    Immutable: :meth:`rotate` returns a new set. Keys are parsed once here, so signing and
    verifying do not pay for JSON or key parsing per call.
    """

    __slots__ = ("_by_kid", "_keys")

    def __init__(self, keys: Sequence[OKPKey]) -> None:
        """Build from parsed keys (first = current). Prefer :meth:`from_json` / :meth:`generate`.

        Raises:
            TicketKeyError: no keys, a non-Ed25519 key, a missing or duplicate ``kid``, or a
                current key without its private part.
        """
        if not keys:
            raise TicketKeyError("a ticket key set needs at least one key")
        by_kid: dict[str, OKPKey] = {}
        for key in keys:
            _check_key(key)
            kid = key.kid
            assert kid is not None  # checked above; narrows for mypy
            if kid in by_kid:
                raise TicketKeyError(f"duplicate key id {kid!r} in the ticket key set")
            by_kid[kid] = key
        if not keys[0].is_private:
            raise TicketKeyError(
                "the first (current) ticket key has no private part ('d'): it cannot sign"
            )
        self._keys: tuple[OKPKey, ...] = tuple(keys)
        self._by_kid = by_kid

    # -- construction -----------------------------------------------------------------

    @classmethod
    def generate(cls) -> TicketKeySet:
        """A fresh set with a single new current key."""
        return cls([_new_key(taken=())])

    @classmethod
    def from_json(cls, text: str) -> TicketKeySet:
        """Parse a private JWK set (``{"keys": [...]}``) as kept in ``ELTIKETI_TICKET_KEYS``.

        Raises:
            TicketKeyError: the text is not a usable ticket key set (the message says why,
                without echoing key material).
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TicketKeyError(f"the ticket key set is not valid JSON: {exc.msg}") from None
        if not isinstance(data, Mapping) or not isinstance(data.get("keys"), list):
            raise TicketKeyError('the ticket key set must be a JWK set: {"keys": [...]}')
        return cls([_import_key(raw, index) for index, raw in enumerate(data["keys"])])

    @classmethod
    def load_or_create(cls, data_dir: str | os.PathLike[str]) -> TicketKeySet:
        """The embedded key set: read ``<data_dir>/ticket-keys.json``, creating it once.

        Creation is atomic and race-free (written aside, then hard-linked into place), so two
        processes starting together on one data folder end up with the same keys. The file is
        readable by its owner only (0600).
        """
        path = Path(data_dir) / KEY_FILE_NAME
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_new_file(path, cls.generate().to_json())
        _warn_if_exposed(path)
        return cls.from_json(path.read_text(encoding="utf-8"))

    # -- use --------------------------------------------------------------------------

    @property
    def current(self) -> OKPKey:
        """The key that signs new tickets."""
        return self._keys[0]

    @property
    def current_kid(self) -> str:
        kid = self._keys[0].kid
        assert kid is not None
        return kid

    @property
    def kids(self) -> tuple[str, ...]:
        """Every key id, current first."""
        return tuple(self._by_kid)

    def verification_key(self, kid: str) -> OKPKey | None:
        """The key named ``kid`` (current or retired), or None if it is not in the set."""
        return self._by_kid.get(kid)

    def rotate(self) -> TicketKeySet:
        """A new set whose current key is brand new; the old keys stay, for verification only.

        The retired key loses its private part: once rotated out, it can never sign again,
        even if the JSON leaks later. Tickets it signed keep verifying.
        """
        new_key = _new_key(taken=self._by_kid)
        retired = [_public_only(key) for key in self._keys]
        return TicketKeySet([new_key, *retired])

    def public_jwks(self) -> dict[str, Any]:
        """Every public key, current first, as a JWK set: what ``GET /v1/tickets/keys`` serves."""
        return {"keys": [_public_dict(key) for key in self._keys]}

    def to_json(self) -> str:
        """The private JWK set (current key first), for ``ELTIKETI_TICKET_KEYS`` or the key file.

        Contains private key material: treat it as a secret.
        """
        keys = [_ordered(key.as_dict(private=key.is_private)) for key in self._keys]
        return json.dumps({"keys": keys}, indent=2) + "\n"

    def __repr__(self) -> str:  # never print key material
        return f"TicketKeySet(current={self.current_kid!r}, kids={list(self.kids)!r})"


# -- functions the app's CLI exposes ------------------------------------------------------


def generate_key_set() -> str:
    """A new private JWK set (JSON) with one key: the value for ``ELTIKETI_TICKET_KEYS``."""
    return TicketKeySet.generate().to_json()


def rotate_key_set(text: str) -> str:
    """Rotate a private JWK set (JSON): a new current key in front, old keys kept public.

    Raises:
        TicketKeyError: ``text`` is not a usable ticket key set.
    """
    return TicketKeySet.from_json(text).rotate().to_json()


def rotate_key_file(data_dir: str | os.PathLike[str]) -> TicketKeySet:
    """Rotate the embedded key set in ``<data_dir>/ticket-keys.json`` (created if missing).

    The file is replaced atomically. Running processes keep their old set until restarted.
    """
    path = Path(data_dir) / KEY_FILE_NAME
    rotated = TicketKeySet.load_or_create(data_dir).rotate()
    temporary = _aside(path)
    try:
        _write_private(temporary, rotated.to_json())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return rotated


# -- internals -------------------------------------------------------------------------


def _new_key(taken: Iterable[str]) -> OKPKey:
    taken = set(taken)
    while True:
        key = OKPKey.generate_key("Ed25519", parameters={"use": "sig", "alg": "EdDSA"})
        # A short id keeps the token (and so the QR code) small; derived from the RFC 7638
        # thumbprint so anyone can check it belongs to the key. 48 bits: collisions within
        # one set are re-drawn, not hoped away.
        kid = key.thumbprint()[:_KID_LENGTH]
        if kid not in taken:
            return OKPKey.import_key(key.as_dict(private=True), parameters={"kid": kid})


def _import_key(raw: object, index: int) -> OKPKey:
    if not isinstance(raw, Mapping):
        raise TicketKeyError(f"ticket key #{index} is not a JSON object")
    if raw.get("kty") != "OKP" or raw.get("crv") != "Ed25519":
        raise TicketKeyError(
            f"ticket key #{index} must be an Ed25519 OKP key (kty OKP, crv Ed25519)"
        )
    try:
        return OKPKey.import_key(dict(raw))
    except Exception as exc:  # joserfc raises ValueError and its own errors; say which key
        raise TicketKeyError(f"ticket key #{index} cannot be read: {type(exc).__name__}") from None


def _check_key(key: OKPKey) -> None:
    if not isinstance(key, OKPKey) or key.curve_name != "Ed25519":
        raise TicketKeyError("ticket keys must be Ed25519 OKP keys")
    if not isinstance(key.kid, str) or not key.kid:
        raise TicketKeyError("every ticket key needs a key id ('kid')")
    alg = key.get("alg")
    if alg is not None and alg not in _ED25519_ALGS:
        raise TicketKeyError(f"ticket key {key.kid!r} is marked for {alg!r}, not EdDSA")
    use = key.get("use")
    if use is not None and use != "sig":
        raise TicketKeyError(f"ticket key {key.kid!r} has use {use!r}, expected 'sig'")
    if key.is_private and _derived_x(key) != key.as_dict(private=False).get("x"):
        # joserfc trusts the stored "x"; a mismatch would publish a key that verifies nothing.
        raise TicketKeyError(f"ticket key {key.kid!r}: 'x' does not match its private part 'd'")


def _derived_x(key: OKPKey) -> str:
    private = key.get_op_key("sign")
    assert isinstance(private, Ed25519PrivateKey)
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _public_only(key: OKPKey) -> OKPKey:
    return OKPKey.import_key(_public_dict(key))


def _public_dict(key: OKPKey) -> dict[str, Any]:
    full = key.as_dict(private=False)
    return {name: full[name] for name in _PUBLIC_MEMBERS if name in full}


def _ordered(data: Mapping[str, Any]) -> dict[str, Any]:
    """Members in a readable, stable order (kid first), private ``d`` last."""
    order = ("kid", "kty", "crv", "use", "alg", "x", "d")
    known = {name: data[name] for name in order if name in data}
    return {**known, **{k: v for k, v in data.items() if k not in known}}


def _write_new_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (mode 0600) only if no such file exists, atomically.

    A concurrent creator wins silently: the caller then reads whatever is in place.
    """
    temporary = _aside(path)
    try:
        _write_private(temporary, text)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _aside(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` (it must not exist) readable by its owner only, and sync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _warn_if_exposed(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "ticket key file is readable by others; chmod 600 it",
            extra={"path": str(path), "mode": oct(stat.S_IMODE(mode))},
        )
