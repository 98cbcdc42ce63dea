from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systables.protocol.scram import (
    DEFAULT_ITERATIONS,
    Credential,
    decoy_credential,
    ScramError,
    ScramExchange,
    decode_saslname,
    make_credential,
    new_server_nonce,
    salt_password,
)

# RFC 7677, section 3.
RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_CLIENT_FIRST = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
RFC_SERVER_FIRST = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
RFC_CLIENT_FINAL = (
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
RFC_SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
RFC_CREDENTIAL = Credential(RFC_SALT, 4096, salt_password("pencil", RFC_SALT, 4096))


def rfc_exchange(users: dict[str, Credential] | None = None) -> ScramExchange:
    users = {"user": RFC_CREDENTIAL} if users is None else users
    return ScramExchange(users.get, make_nonce=lambda: RFC_SERVER_NONCE)


def error_code(call, *args) -> int:
    with pytest.raises(ScramError) as info:
        call(*args)
    return info.value.code


def test_rfc7677_vector() -> None:
    exchange = rfc_exchange()
    assert exchange.first(RFC_CLIENT_FIRST) == RFC_SERVER_FIRST
    assert exchange.final(RFC_CLIENT_FINAL) == RFC_SERVER_FINAL
    assert exchange.username == "user"


def test_make_credential_defaults() -> None:
    credential = make_credential("pencil")
    assert len(credential.salt) == 16
    assert credential.iterations == DEFAULT_ITERATIONS == 4096
    expected = hashlib.pbkdf2_hmac("sha256", b"pencil", credential.salt, 4096)
    assert credential.salted_password == expected


def test_salts_are_random() -> None:
    assert make_credential("x", iterations=1).salt != make_credential("x", iterations=1).salt


def test_check_password() -> None:
    credential = make_credential("pencil", iterations=16)
    assert credential.check_password("pencil")
    assert credential.check_password(b"pencil")
    assert not credential.check_password("Pencil")
    assert not credential.check_password("")
    assert make_credential("", iterations=16).check_password("")


def test_passwords_are_hashed_as_utf8_without_normalisation() -> None:
    credential = make_credential("ﬁ", iterations=16)  # NFKC would turn the ligature into "fi"
    assert credential.check_password("ﬁ".encode())
    assert not credential.check_password("fi")


def test_credential_dict_round_trip() -> None:
    credential = make_credential("pencil", iterations=16)
    data = credential.to_dict()
    assert data == {
        "algorithm": "SCRAM-SHA-256",
        "salt": credential.salt,
        "iterations": 16,
        "salted_password": credential.salted_password,
    }
    assert all(type(value) in (str, int, bytes) for value in data.values())
    assert Credential.from_dict(data) == credential


@pytest.mark.parametrize(
    "change",
    [
        {"algorithm": "MD5"},
        {"salt": "not bytes"},
        {"iterations": 0},
        {"iterations": True},
        {"salted_password": b"short"},
    ],
)
def test_credential_from_dict_rejects_malformed(change: dict) -> None:
    data = make_credential("x", iterations=1).to_dict() | change
    with pytest.raises(ValueError):
        Credential.from_dict(data)


def test_make_credential_rejects_zero_iterations() -> None:
    with pytest.raises(ValueError):
        make_credential("x", iterations=0)


def test_server_nonce_is_base64_of_18_bytes() -> None:
    nonce = new_server_nonce()
    assert len(base64.b64decode(nonce, validate=True)) == 18
    assert nonce != new_server_nonce()


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [("plain", "plain"), ("a=2Cb", "a,b"), ("=3D=3D", "=="), ("x=2C=3Dy", "x,=y"), ("", "")],
)
def test_decode_saslname(encoded: str, decoded: str) -> None:
    assert decode_saslname(encoded) == decoded


@pytest.mark.parametrize("encoded", ["a=", "a=2", "a=2c", "a=41", "=", "a=3Db=XY"])
def test_decode_saslname_rejects_bad_escapes(encoded: str) -> None:
    assert error_code(decode_saslname, encoded) == 18


@pytest.mark.parametrize(
    ("client_first", "code"),
    [
        ("y,,n=user,r=abc", 15),
        ("p=tls-unique,,n=user,r=abc", 15),
        ("", 15),
        ("n,", 10),
        ("n,,", 10),
        ("n,,n=user", 10),
        ("n,,r=abc", 10),
        ("n,,n=user,r=abc,r=def", 10),
        ("n,,n=user,,r=abc", 10),
        ("n,,n=user,r=abc,x", 10),
        ("n,,n=user,r=abc,1=x", 10),
        ("n,,nn=user,r=abc", 10),
        ("n,,m=ext,n=user,r=abc", 11),
        ("n,,n=us=er,r=abc", 18),
    ],
)
def test_client_first_errors(client_first: str, code: int) -> None:
    assert error_code(rfc_exchange().first, client_first) == code


def test_authzid_is_ignored() -> None:
    assert rfc_exchange().first("n,a=someone,n=user,r=rOprNGfwEbeRWgbNEkqO") == RFC_SERVER_FIRST


@pytest.mark.parametrize(
    ("client_final", "code"),
    [
        ("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", 10),
        ("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA", 10),
        ("c=biws,p=AAAA", 10),
        ("c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA", 10),
        ("c=biws,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA", 10),
        ("garbage", 10),
        ("c=biws,r=rOprNGfwEbeRWgbNEkqO,p=AAAA", 20),
        ("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA", 12),
        ("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=", 12),
        ("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=ü", 12),
    ],
)
def test_client_final_errors(client_final: str, code: int) -> None:
    exchange = rfc_exchange()
    exchange.first(RFC_CLIENT_FIRST)
    assert error_code(exchange.final, client_final) == code


def test_error_messages_are_rethinkdbs() -> None:
    messages = {
        10: "Invalid encoding",
        11: "Extensions not supported",
        12: "Wrong password",
        15: "Channel binding is not supported",
        17: "Unknown user",
        18: "Invalid username encoding",
        20: "Other error",
    }
    for code, message in messages.items():
        assert ScramError(code).message == str(ScramError(code)) == message


def test_unknown_user_gets_a_plausible_challenge_then_fails_as_a_wrong_password() -> None:
    exchange = rfc_exchange(users={})
    server_first = exchange.first(RFC_CLIENT_FIRST)
    attributes = dict(item.split("=", 1) for item in server_first.split(","))
    assert attributes["r"] == "rOprNGfwEbeRWgbNEkqO" + RFC_SERVER_NONCE
    assert len(base64.b64decode(attributes["s"])) == 16
    assert attributes["i"] == "4096"
    assert error_code(exchange.final, RFC_CLIENT_FINAL) == 12


def test_an_unknown_user_is_challenged_with_the_same_salt_every_time() -> None:
    # A salt drawn anew on each attempt (as RethinkDB does) would tell that nobody has that name.
    salts = {rfc_exchange(users={}).first(RFC_CLIENT_FIRST).split(",s=")[1] for _ in range(3)}
    assert len(salts) == 1
    other = rfc_exchange(users={}).first(RFC_CLIENT_FIRST.replace("n=user", "n=someone"))
    assert other.split(",s=")[1] not in salts


def test_decoys_depend_on_the_secret() -> None:
    assert decoy_credential(b"a" * 32, "bob").salt == decoy_credential(b"a" * 32, "bob").salt
    assert decoy_credential(b"a" * 32, "bob").salt != decoy_credential(b"b" * 32, "bob").salt


def test_unknown_user_with_wrong_nonce_reports_the_nonce() -> None:
    exchange = rfc_exchange(users={})
    exchange.first(RFC_CLIENT_FIRST)
    assert error_code(exchange.final, "c=biws,r=other,p=AAAA") == 20


def test_final_before_first_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError):
        rfc_exchange().final(RFC_CLIENT_FINAL)


def client_final_for(password: str, client_first_bare: str, server_first: str) -> str:
    """An independent client-side computation (RFC 5802, section 3)."""
    attributes = dict(item.split("=", 1) for item in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attributes["s"]), int(attributes["i"]))
    without_proof = "c=biws,r=" + attributes["r"]
    auth_message = f"{client_first_bare},{server_first},{without_proof}".encode()
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    signature = hmac.digest(hashlib.sha256(client_key).digest(), auth_message, "sha256")
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    return without_proof + ",p=" + base64.b64encode(proof).decode()


@given(password=st.text(max_size=20), username=st.text(min_size=0, max_size=10))
def test_any_utf8_password_and_username_authenticate(password: str, username: str) -> None:
    users = {username: make_credential(password, iterations=2)}
    exchange = ScramExchange(users.get)
    escaped = username.replace("=", "=3D").replace(",", "=2C")
    bare = f"n={escaped},r=nonce"
    server_first = exchange.first("n,," + bare)
    assert exchange.final(client_final_for(password, bare, server_first)).startswith("v=")
    assert exchange.username == username


@given(st.text())
def test_random_client_first_only_raises_scram_errors(message: str) -> None:
    try:
        rfc_exchange().first(message)
    except ScramError as error:
        assert error.code in (10, 11, 15, 18)


@given(st.text())
def test_random_client_final_only_raises_scram_errors(message: str) -> None:
    exchange = rfc_exchange()
    exchange.first(RFC_CLIENT_FIRST)
    try:
        exchange.final(message)
    except ScramError as error:
        assert error.code in (10, 12, 20)
