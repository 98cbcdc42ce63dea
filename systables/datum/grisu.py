"""The digits RethinkDB prints for a double: rapidjson's Grisu2.

RethinkDB writes numbers in JSON (``coerce_to('string')``, ``to_json_string``)
with rapidjson, whose ``dtoa`` is Grisu2 (Loitsch 2010, as adapted by Milo
Yip).  Grisu2 always round-trips but is not always the shortest or closest
representation: for some doubles it prints other last digits than Python's
``repr`` (``40007862.917250897`` where ``repr`` gives ``…894``, the same
double).  This is a transliteration of rapidjson's ``internal/dtoa.h`` and
``diyfp.h`` with Python integers standing in for ``uint64_t``/``__uint128``.

The rapidjson bundled with RethinkDB 2.4 has a table of only ten powers of
ten in ``DigitGen``: past ten fractional digits its last rounding step reads
beyond the table and does nothing (the digits stay those of the upper
bound).  Measured against the reference server on 9,000 doubles, the digits
agree exactly only with that behaviour.
"""

from __future__ import annotations

import struct

_U64 = (1 << 64) - 1
_SIGNIFICAND_BITS = 52
_HIDDEN_BIT = 1 << _SIGNIFICAND_BITS
_EXPONENT_BIAS = 0x3FF + _SIGNIFICAND_BITS
_MIN_EXPONENT = -_EXPONENT_BIAS
_DIY_SIGNIFICAND_BITS = 64
_POW10 = [10**i for i in range(20)]


def _cached_powers() -> list[tuple[int, int]]:
    """10^-348, 10^-340, …, 10^340 as normalized 64-bit (significand,
    binary exponent) pairs, rounded to nearest: rapidjson's table."""
    table = []
    for k in range(-348, 341, 8):
        if k >= 0:
            exact_num, exact_den = 10**k, 1
        else:
            exact_num, exact_den = 1, 10**-k
        # find e with 2^63 <= 10^k / 2^e < 2^64
        e = (exact_num.bit_length() - exact_den.bit_length()) - 64
        while True:
            num, den = (exact_num, exact_den << e) if e >= 0 else (exact_num << -e, exact_den)
            f, rem = divmod(num, den)
            if f >= 1 << 64:
                e += 1
            elif f < 1 << 63:
                e -= 1
            else:
                break
        if 2 * rem >= den:
            f += 1
            if f == 1 << 64:
                f, e = 1 << 63, e + 1
        table.append((f, e))
    return table


_CACHED = _cached_powers()


def _multiply(f1: int, e1: int, f2: int, e2: int) -> tuple[int, int]:
    """DiyFp product: the high 64 bits of the 128-bit product, rounded half up."""
    p = f1 * f2
    h = p >> 64
    if p & (1 << 63):
        h += 1
    return h & _U64, e1 + e2 + 64


def _normalize(f: int, e: int) -> tuple[int, int]:
    shift = 64 - f.bit_length()
    return (f << shift) & _U64, e - shift


def _normalize_boundary(f: int, e: int) -> tuple[int, int]:
    while not f & (_HIDDEN_BIT << 1):
        f <<= 1
        e -= 1
    shift = _DIY_SIGNIFICAND_BITS - _SIGNIFICAND_BITS - 2
    return (f << shift) & _U64, e - shift


def _diyfp(value: float) -> tuple[int, int]:
    bits = struct.unpack(">Q", struct.pack(">d", value))[0]
    biased_e = (bits >> _SIGNIFICAND_BITS) & 0x7FF
    significand = bits & (_HIDDEN_BIT - 1)
    if biased_e:
        return significand + _HIDDEN_BIT, biased_e - _EXPONENT_BIAS
    return significand, _MIN_EXPONENT + 1


def _boundaries(f: int, e: int) -> tuple[tuple[int, int], tuple[int, int]]:
    plus = _normalize_boundary((f << 1) + 1, e - 1)
    if f == _HIDDEN_BIT:
        mf, me = (f << 2) - 1, e - 2
    else:
        mf, me = (f << 1) - 1, e - 1
    mf <<= me - plus[1]
    return (mf, plus[1]), plus


def _cached_power(e: int) -> tuple[int, int, int]:
    """(significand, exponent, K) of the cached power for a binary exponent."""
    dk = (-61 - e) * 0.30102999566398114 + 347
    k = int(dk)
    if dk - k > 0.0:
        k += 1
    index = (k >> 3) + 1
    f, pe = _CACHED[index]
    return f, pe, -(-348 + index * 8)


def _round(digits: list[int], delta: int, rest: int, ten_kappa: int, wp_w: int) -> None:
    while rest < wp_w and delta - rest >= ten_kappa and (
        rest + ten_kappa < wp_w or wp_w - rest > rest + ten_kappa - wp_w
    ):
        digits[-1] -= 1
        rest += ten_kappa


def _digit_gen(w: tuple[int, int], mp: tuple[int, int], delta: int, k: int) -> tuple[list[int], int]:
    one_e = -mp[1]
    one_f = 1 << one_e
    wp_w = (mp[0] - w[0]) & _U64
    p1 = mp[0] >> one_e
    p2 = mp[0] & (one_f - 1)
    kappa = len(str(p1)) if p1 else 1
    kappa = min(kappa, 9)
    digits: list[int] = []
    while kappa > 0:
        divisor = _POW10[kappa - 1]
        d, p1 = divmod(p1, divisor)
        if d or digits:
            digits.append(d)
        kappa -= 1
        tmp = (p1 << one_e) + p2
        if tmp <= delta:
            k += kappa
            _round(digits, delta, tmp, _POW10[kappa] << one_e, wp_w)
            return digits, k
    while True:
        p2 *= 10
        delta *= 10
        d = p2 >> one_e
        if d or digits:
            digits.append(d)
        p2 &= one_f - 1
        kappa -= 1
        if p2 < delta:
            k += kappa
            index = -kappa
            # Ten powers in RethinkDB's table: beyond, no rounding (see above).
            _round(digits, delta, p2, one_f, (wp_w * _POW10[index]) & _U64 if index < 10 else 0)
            return digits, k


def grisu2(value: float) -> tuple[str, int]:
    """Digits and decimal exponent of a positive finite double: value ≈ digits × 10^k."""
    f, e = _diyfp(value)
    minus, plus = _boundaries(f, e)
    cf, ce, k = _cached_power(plus[1])
    w = _multiply(*_normalize(f, e), cf, ce)
    wp = _multiply(plus[0], plus[1], cf, ce)
    wm = _multiply(minus[0], minus[1], cf, ce)
    wm = (wm[0] + 1, wm[1])
    wp = (wp[0] - 1, wp[1])
    digits, k = _digit_gen(w, wp, wp[0] - wm[0], k)
    return "".join(map(str, digits)), k
