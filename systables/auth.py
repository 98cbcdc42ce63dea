"""Users, their SCRAM credentials and their permissions (persisted in the store).

Permissions follow RethinkDB: ``read``, ``write``, ``config`` (and ``connect``
at global scope) set at global, database or table scope; the most specific
scope that sets a permission decides; unset everywhere means denied.
``admin`` has every permission and cannot be changed or deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .protocol.scram import Credential, make_credential
from .reql.errors import ReqlPermissionError

if TYPE_CHECKING:
    from .storage import Storage

ADMIN = "admin"
PERMISSIONS = ("read", "write", "config", "connect")
USER_PREFIX = "user/"
PERM_PREFIX = "perm/"

Scope = tuple[str, ...]  # () global, (db_id,), (db_id, table_id)


@dataclass
class User:
    name: str
    credential: Credential
    has_password: bool


@dataclass
class Grants:
    """Permissions of one user at one scope; None = not set."""

    values: dict[str, bool | None] = field(default_factory=dict)

    def get(self, perm: str) -> bool | None:
        return self.values.get(perm)


class Auth:
    def __init__(self, storage: "Storage", initial_password: str | None = None) -> None:
        self.storage = storage
        self.users: dict[str, User] = {}
        self.grants: dict[tuple[str, Scope], dict[str, bool]] = {}
        self._load()
        if ADMIN not in self.users:
            self.set_user(ADMIN, initial_password or "")
        elif initial_password is not None and not self.users[ADMIN].has_password:
            self.set_user(ADMIN, initial_password)

    # -- persistence ---------------------------------------------------------
    def _load(self) -> None:
        for key, value in self.storage.iter_meta(USER_PREFIX):
            name = key[len(USER_PREFIX):]
            self.users[name] = User(name, Credential.from_dict(value["credential"]), value["has_password"])
        for key, value in self.storage.iter_meta(PERM_PREFIX):
            user = value["user"]
            scope = tuple(value["scope"])
            self.grants[(user, scope)] = dict(value["permissions"])

    def _save_user(self, user: User) -> None:
        self.storage.put_meta(
            USER_PREFIX + user.name,
            {"credential": user.credential.to_dict(), "has_password": user.has_password},
        )

    @staticmethod
    def _perm_key(user: str, scope: Scope) -> str:
        return PERM_PREFIX + "/".join((user,) + scope)

    # -- users ---------------------------------------------------------------
    def lookup(self, name: str) -> Credential | None:
        user = self.users.get(name)
        return user.credential if user is not None else None

    def set_user(self, name: str, password: str | None, iterations: int = 4096) -> User:
        """Create or change a user; ``password=None`` means no password (empty)."""
        pw = password or ""
        user = User(name, make_credential(pw, iterations), bool(pw))
        self.users[name] = user
        self._save_user(user)
        return user

    def delete_user(self, name: str) -> None:
        self.users.pop(name, None)
        self.storage.delete_meta(USER_PREFIX + name)
        for (user, scope) in [k for k in self.grants if k[0] == name]:
            self.set_grants(user, scope, {})

    # -- permissions ---------------------------------------------------------
    def get_grants(self, user: str, scope: Scope) -> dict[str, bool]:
        return dict(self.grants.get((user, scope), {}))

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
        scopes.append(())
        for scope in scopes:
            v = self.grants.get((user, scope), {}).get(perm)
            if v is not None:
                return v
        return False

    def require(self, user: str, perm: str, db_id: str | None = None, table_id: str | None = None) -> None:
        if not self.allowed(user, perm, db_id, table_id):
            raise ReqlPermissionError(f"User `{user}` does not have the required `{perm}` permission.")
