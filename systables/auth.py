"""Users, their SCRAM credentials and their permissions (persisted in the store).

Permissions follow RethinkDB: ``read``, ``write``, ``config`` (and ``connect``
at global scope) set at global, database or table scope; the most specific
scope that sets a permission decides; unset everywhere means denied.  Global
grants do not reach the ``rethinkdb`` system database: its tables expose
users, permissions and everyone's queries, so access to them is granted
explicitly (on the database or its tables).  ``admin`` has every permission
and cannot be changed or deleted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import datum as D
from .catalog import SYSTEM_DB_ID
from .datum.errors import ReqlPermissionError
from .protocol.scram import Credential, decoy_credential, make_credential

if TYPE_CHECKING:
    from .storage import Storage

ADMIN = "admin"
PERMISSIONS = ("read", "write", "config", "connect")
USER_PREFIX = "user/"
PERM_PREFIX = "perm/"
DECOY_SECRET_KEY = "auth/decoy_secret"  # kept, so an unknown user's salt survives restarts as a real one's does

Scope = tuple[str, ...]  # () global, (db_id,), (db_id, table_id)


@dataclass
class User:
    name: str
    credential: Credential
    has_password: bool
    time_limit: float | None = None  # seconds a query of this user may run, by default (beyond RethinkDB)


class Auth:
    def __init__(self, storage: "Storage", initial_password: str | None = None) -> None:
        self.storage = storage
        self.users: dict[str, User] = {}
        self.grants: dict[tuple[str, Scope], dict[str, bool]] = {}
        self._load()
        self._decoy_secret = self._load_decoy_secret()
        if ADMIN not in self.users:
            self.set_user(ADMIN, initial_password or "")
        elif initial_password is not None and not self.users[ADMIN].has_password:
            self.set_user(ADMIN, initial_password)

    # -- persistence ---------------------------------------------------------
    def _load(self) -> None:
        for key, value in self.storage.iter_meta(USER_PREFIX):
            name = key[len(USER_PREFIX):]
            self.users[name] = User(name, Credential.from_dict(value["credential"]), value["has_password"],
                                    value.get("time_limit"))
        for key, value in self.storage.iter_meta(PERM_PREFIX):
            user = value["user"]
            scope = tuple(value["scope"])
            self.grants[(user, scope)] = dict(value["permissions"])

    def _load_decoy_secret(self) -> bytes:
        stored = self.storage.get_meta(DECOY_SECRET_KEY)
        if stored is not None:
            return stored["secret"]
        secret = os.urandom(32)
        self.storage.put_meta(DECOY_SECRET_KEY, {"secret": secret})
        return secret

    def _save_user(self, user: User) -> None:
        self.storage.put_meta(
            USER_PREFIX + user.name,
            {"credential": user.credential.to_dict(), "has_password": user.has_password, "time_limit": user.time_limit},
        )

    @staticmethod
    def _perm_key(user: str, scope: Scope) -> str:
        return PERM_PREFIX + "/".join((user,) + scope)

    # -- users ---------------------------------------------------------------
    def lookup(self, name: str) -> Credential | None:
        user = self.users.get(name)
        return user.credential if user is not None else None

    def decoy(self, name: str) -> Credential:
        """The credential an unknown user ``name`` is checked against: a login
        fails for him after the same work and with the same answer as a wrong
        password, so logins do not tell which names have accounts."""
        return decoy_credential(self._decoy_secret, name)

    def check_password(self, name: str, password: str | bytes) -> bool:
        """Whether ``password`` is ``name``'s (one PBKDF2 run, also for an
        unknown user: slow, so callers run it in a worker thread)."""
        credential = self.lookup(name)
        matches = (credential or self.decoy(name)).check_password(password)
        return matches and credential is not None

    @property
    def login_required(self) -> bool:
        """Whether the web console asks for a login: once ``admin`` has a password
        (without one, anyone may connect as ``admin`` anyway, as RethinkDB allows)."""
        admin = self.users.get(ADMIN)
        return admin is not None and admin.has_password

    def set_user(self, name: str, password: str | None, iterations: int = 4096) -> User:
        """Create or change a user; ``password=None`` means no password (empty)."""
        pw = password or ""
        return self.put_user(name, make_credential(pw, iterations), bool(pw))

    def put_user(self, name: str, credential: Credential, has_password: bool) -> User:
        """Create or change a user from a credential computed beforehand
        (PBKDF2 with many iterations is slow: callers compute it off the event loop)."""
        old = self.users.get(name)
        user = User(name, credential, has_password, old.time_limit if old is not None else None)
        self.users[name] = user
        self._save_user(user)
        return user

    def time_limit(self, name: str) -> float | None:
        user = self.users.get(name)
        return user.time_limit if user is not None else None

    def set_time_limit(self, name: str, seconds: float | None) -> None:
        user = self.users[name]
        user.time_limit = seconds
        self._save_user(user)

    def exists(self, name: str) -> bool:
        return name in self.users

    def delete_user(self, name: str) -> None:
        self.users.pop(name, None)
        self.storage.delete_meta(USER_PREFIX + name)
        for (user, scope) in [k for k in self.grants if k[0] == name]:
            self.set_grants(user, scope, {})

    # -- permissions ---------------------------------------------------------
    def get_grants(self, user: str, scope: Scope) -> dict[str, bool]:
        return dict(self.grants.get((user, scope), {}))

    def all_grants(self) -> list[tuple[str, Scope, dict[str, bool]]]:
        return [(user, scope, dict(values)) for (user, scope), values in sorted(self.grants.items())]

    def update_grants(self, user: str, scope: Scope, changes: dict[str, bool | None]) -> tuple[dict[str, bool], dict[str, bool]]:
        """Set (True/False) or unset (None) some permissions; returns (old, new)."""
        old = self.get_grants(user, scope)
        new = dict(old)
        for perm, value in changes.items():
            if value is None:
                new.pop(perm, None)
            else:
                new[perm] = value
        self.set_grants(user, scope, new)
        return old, new

    def set_grants(self, user: str, scope: Scope, values: dict[str, bool]) -> None:
        key = self._perm_key(user, scope)
        if values:
            self.grants[(user, scope)] = dict(values)
            self.storage.put_meta(key, {"user": user, "scope": list(scope), "permissions": dict(values)})
        else:
            self.grants.pop((user, scope), None)
            self.storage.delete_meta(key)

    def forget_scope(self, scope_prefix: Scope) -> None:
        """Drop grants on a deleted database or table."""
        n = len(scope_prefix)
        for (user, scope) in [k for k in self.grants if k[1][:n] == scope_prefix]:
            self.set_grants(user, scope, {})

    def allowed(self, user: str, perm: str, db_id: str | None = None, table_id: str | None = None) -> bool:
        if user == ADMIN:
            return True
        scopes: list[Scope] = []
        if db_id is not None and table_id is not None:
            scopes.append((db_id, table_id))
        if db_id is not None:
            scopes.append((db_id,))
        if db_id != SYSTEM_DB_ID:
            scopes.append(())
        for scope in scopes:
            v = self.grants.get((user, scope), {}).get(perm)
            if v is not None:
                return v
        return False

    def require(self, user: str, perm: str, db_id: str | None = None, table_id: str | None = None) -> None:
        if not self.allowed(user, perm, db_id, table_id):
            raise ReqlPermissionError(f"User `{user}` does not have the required `{perm}` permission.")


class PermissionsFormatError(ValueError):
    pass


def parse_permissions(value: Any, global_scope: bool) -> dict[str, bool | None]:
    """A permissions object as ``grant`` and ``rethinkdb.permissions`` take it:
    booleans set a permission, ``null`` unsets it."""
    if type(value) is not dict or D.REQL_TYPE in value:
        raise PermissionsFormatError(f"Expected an object, got {D.print_datum(value)}.")
    allowed = PERMISSIONS if global_scope else PERMISSIONS[:3]
    extra = sorted(k for k in value if k not in PERMISSIONS)
    if extra:
        raise PermissionsFormatError("Unexpected key(s) `" + "`, `".join(extra) + "`.")
    if "connect" in value and "connect" not in allowed:
        raise PermissionsFormatError("The `connect` permission is only valid at the global scope.")
    changes: dict[str, bool | None] = {}
    for perm, v in value.items():
        if v is not None and type(v) is not bool:
            raise PermissionsFormatError(f"Expected a boolean or null for `{perm}`, got {D.print_datum(v)}.")
        changes[perm] = v
    return changes


def permissions_datum(values: dict[str, bool]) -> dict[str, bool] | None:
    """How RethinkDB shows a scope's permissions: set ones only, None if none."""
    return {k: values[k] for k in sorted(values)} or None
