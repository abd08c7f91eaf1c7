"""Database errors, translated into the core's domain errors at the adapter edge."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from eltiketi_core.errors import Conflict, DomainError, GatewayUnavailable

#: PostgreSQL SQLSTATEs that mean "the same work may succeed if retried".
_RETRYABLE_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available (lock_timeout)
        "57014",  # query_canceled (statement_timeout)
    }
)


def translate(error: BaseException) -> DomainError:
    """The domain error for a SQLAlchemy / driver error.

    * integrity violations (unique, foreign key, check) → :class:`Conflict`;
    * an unreachable or overloaded database, deadlocks, lock and statement
      timeouts, SQLite's "database is locked" → :class:`GatewayUnavailable`
      (HTTP 503, safe to retry);
    * anything else → :class:`GatewayUnavailable` too: the caller cannot fix it.
    """
    if isinstance(error, sa_exc.IntegrityError):
        return Conflict("constraint_violation", _first_line(error.orig or error))
    original = getattr(error, "orig", None) or error
    if getattr(original, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return GatewayUnavailable("database_busy", _first_line(original))
    if isinstance(error, sa_exc.OperationalError) and "locked" in str(error.orig):
        return GatewayUnavailable("database_busy", _first_line(error.orig))
    return GatewayUnavailable("database_unavailable", _first_line(error))


def is_database_error(error: BaseException) -> bool:
    """Errors :func:`translate` handles: SQLAlchemy's, and socket errors while connecting."""
    return isinstance(error, sa_exc.SQLAlchemyError | OSError | TimeoutError)


def _first_line(error: BaseException | object) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
