"""Console users: creating them, checking their passwords, and which organizations they reach."""

from __future__ import annotations

import re
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.db.models import Organization, Role, User

MIN_PASSWORD_LENGTH = 10
# Long enough for any passphrase; short enough that hashing it cannot be used to burn CPU.
MAX_PASSWORD_LENGTH = 256
PASSWORD_METHOD = "scrypt"  # memory-hard; werkzeug stores the parameters inside the hash

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """A user cannot be created as asked; the message says why, for the person asking."""


def normalise_email(raw: str) -> str:
    """Emails compare case-insensitively: store and look them up in one form."""
    return (raw or "").strip().lower()


def check_scope(role: Role | str, organization_id: int | None) -> Role:
    """The role as a Role, or AccountError when it cannot have this scope."""
    try:
        parsed = Role(role)
    except ValueError as exc:
        choices = ", ".join(r.value for r in Role)
        raise AccountError(f"role must be one of {choices}, not {role!r}") from exc
    if organization_id is None and parsed is not Role.ADMIN:
        # A user without an organization sees every county: only platform admins may.
        raise AccountError(f"an {parsed.value} must belong to an organization")
    return parsed


def create_user(db: Session, email: str, name: str, role: Role | str,
                organization_id: int | None, password: str) -> User:
    """A new active user with a hashed password, flushed so it has an id."""
    parsed_role = check_scope(role, organization_id)
    email = normalise_email(email)
    name = " ".join((name or "").split())
    if not _EMAIL.match(email) or len(email) > 254:
        raise AccountError(f"not an email address: {email!r}")
    if not name or len(name) > 120:
        raise AccountError("a name needs 1 to 120 characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password may have at most {MAX_PASSWORD_LENGTH} characters")
    if user_by_email(db, email) is not None:
        raise AccountError(f"a user with email {email} already exists")
    user = User(email=email, name=name, role=parsed_role, organization_id=organization_id,
                password_hash=generate_password_hash(password, method=PASSWORD_METHOD))
    db.add(user)
    db.flush()
    return user


def user_by_email(db: Session, email: str) -> User | None:
    # Emails are stored normalised, so a plain comparison can use the unique index.
    return db.scalar(select(User).where(User.email == normalise_email(email)))


def active_user(db: Session, user_id: int) -> User | None:
    """The user a session cookie names, unless they were deactivated since."""
    user = db.get(User, user_id)
    return user if user is not None and user.active else None


def authenticate(db: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, else None.

    A password hash is checked on every path, so the answer takes as long for an unknown
    email as for a wrong password and response times do not reveal who has an account.
    """
    user = user_by_email(db, email)
    stored = user.password_hash if user is not None else _decoy_hash()
    matches = check_password_hash(stored, password[:MAX_PASSWORD_LENGTH])
    if user is None or not user.active or not matches:
        return None
    return user


@cache
def _decoy_hash() -> str:
    # Made on first use rather than at import: nothing is built at import time.
    return generate_password_hash("decoy password for unknown emails", method=PASSWORD_METHOD)


def is_platform_admin(user: User) -> bool:
    return user.organization_id is None and user.role == Role.ADMIN


def may_access(user: User, organization: Organization) -> bool:
    """Users reach their own organization; platform admins reach all of them."""
    return is_platform_admin(user) or user.organization_id == organization.id


def organizations_of(db: Session, user: User) -> list[Organization]:
    """The organizations this user may open, by name."""
    statement = select(Organization).order_by(Organization.name)
    if not is_platform_admin(user):
        # A user with no organization who is not an admin reaches nothing (organization_id
        # IS NULL matches no row), rather than everything.
        statement = statement.where(Organization.id == user.organization_id)
    return list(db.scalars(statement))


def users_of(db: Session, organization_id: int) -> list[User]:
    return list(db.scalars(
        select(User).where(User.organization_id == organization_id).order_by(User.name)))
