"""Shared fixtures: a small user store as the server would hold it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from systables.protocol.scram import Credential, make_credential

# Low iteration counts keep the suite fast; the exchange does not depend on them.
USERS = {
    "admin": make_credential("", iterations=64),
    "alice": make_credential("s3cret password", iterations=64),
    "a,b=c": make_credential("commas", iterations=64),
}


@pytest.fixture
def lookup_user() -> Callable[[str], Credential | None]:
    return USERS.get
