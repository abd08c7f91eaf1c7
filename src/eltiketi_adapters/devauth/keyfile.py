"""The dev issuer's signing key: generated once, kept as a private JWK file (mode 0600)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import stat
from pathlib import Path

from joserfc.errors import JoseError
from joserfc.jwk import ECKey

logger = logging.getLogger("eltiketi.devauth")

KEY_FILE_NAME = "dev-token-issuer.jwk.json"
DEV_ALGORITHM = "ES256"
_CURVE = "P-256"


def load_or_create_signing_key(data_dir: Path) -> ECKey:
    """Return the key in ``data_dir/KEY_FILE_NAME``, creating it (P-256, ES256) if absent.

    Safe when several processes start at once: the file is written under a temporary name and
    hard-linked into place, so exactly one key wins and everybody reads that one. A file that
    others may read is tightened to 0600 with a warning; a file that is not an ES256 private key
    is an error (it is never silently replaced: tokens minted with it would stop working).
    """
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        _create(path)
    return _load(path)


def _create(path: Path) -> None:
    key = ECKey.generate_key(
        _CURVE, parameters={"alg": DEV_ALGORITHM, "use": "sig"}, private=True, auto_kid=True
    )
    content = json.dumps(key.as_dict(private=True), indent=2, sort_keys=True) + "\n"
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    _write_exclusive(temporary, content)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process created it first: use theirs
    except OSError:
        # No hard links on this file system: exclusive create of the final name instead.
        with contextlib.suppress(FileExistsError):
            _write_exclusive(path, content)
    finally:
        temporary.unlink(missing_ok=True)
    logger.info("dev token issuer key created", extra={"path": str(path)})


def _write_exclusive(path: Path, content: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())


def _load(path: Path) -> ECKey:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        logger.warning(
            "dev token issuer key was readable by others; mode set to 0600",
            extra={"path": str(path), "mode": oct(mode)},
        )
        path.chmod(0o600)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        key = ECKey.import_key(data)
    except (OSError, ValueError, JoseError) as exc:
        raise ValueError(f"{path} is not a JWK file; move it away to generate a new key") from exc
    if not key.is_private or key.curve_name != _CURVE or not key.kid:
        raise ValueError(f"{path} must hold a private P-256 key with a kid")
    return key
