"""How the model's loops are compiled: one decorator for every kernel, and
the one elementary function written here, ``1 - exp(-a)``.

:data:`kernel` is numba's ``njit`` with

* ``cache=True``: compiled once per machine, so the CLI does not recompile;
* ``error_model="numpy"``: a division by zero gives ``inf`` or ``nan`` as in
  NumPy instead of raising. A loop that divides then carries no exception
  branch, so LLVM can vectorise it.

Results do not change with it: ``fastmath`` stays off, so no operation is
reordered or contracted, and every loop computes the same IEEE operations
in the same order (the determinism tests check bit for bit).

:func:`one_minus_exp` is ``1 - exp(-a)`` for ``a >= 0``: the share of a
decisive force a guarantor can bring (``k_q``, deterrence) and hand-tying
(``h_g``, credibility). Why hand-written: without Intel's SVML, numba
calls libm's ``expm1`` once per value (13 ns on this machine), and the call
keeps the loop scalar; it was most of the guarantees' time (4.8 of 5 ms per
chunk of 4,096 futures). Written as plain arithmetic, the loop vectorises
(about 3 ns per value, 1.4 ms). The method is the textbook one (Tang 1992,
doi:10.1145/146847.146928, without the table):

    a = min(a, 60)                    (1 - exp(-60) is 1 in float64)
    k = round(-a / ln 2)              (exactly: adding 1.5 * 2**52 rounds to an integer)
    r = -a - k ln 2                   (|r| <= ln 2 / 2; ln 2 in two parts, Cody & Waite 1980)
    p = expm1(r) = r + r^2/2! + ... + r^13/13!   (Taylor: the first omitted term is below 2**-53 * |r|)
    1 - exp(-a) = (1 - 2**k) - 2**k p

``2**k`` is built from its bits. For ``k = 0`` (``a <= ln 2 / 2``) the result
is ``-p``, so small ``a`` keep their full relative precision.
``tests/test_compiled.py`` checks it against ``-numpy.expm1(-a)`` within two
units in the last place over the whole range (one in 2,000 values below
``a = 1`` is two off, none above), and ``0``, ``inf`` and ``nan``.
"""

from __future__ import annotations

import math
import struct

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, register_jitable

#: The decorator of every compiled loop of the model (module docstring).
kernel = njit(cache=True, error_model="numpy")

_ROUND = 1.5 * 2.0**52  # adding it rounds a float below 2**51 to an integer
_ROUND_BITS = struct.unpack("<q", struct.pack("<d", _ROUND))[0]  # its bits as an integer
_INV_LN2 = 1.0 / math.log(2.0)
_LN2_HI = 6.93147180369123816490e-01  # ln 2 with 21 trailing zero bits: k * _LN2_HI is exact (fdlibm)
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI (fdlibm)
_A_MAX = 60.0
_EXP_BIAS = 1023
_MANTISSA_BITS = 52
# 1 / k! for the Taylor series of expm1, k = 2 .. 13
_F2, _F3, _F4, _F5, _F6, _F7, _F8, _F9, _F10, _F11, _F12, _F13 = (1.0 / math.factorial(k) for k in range(2, 14))


@intrinsic
def _bits(typingctx, x):
    """The bits of a float64 as an int64 (no conversion)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, b):
    """The float64 whose bits are the int64 ``b``."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@register_jitable
def one_minus_exp(a):
    """``1 - exp(-a)`` for ``a >= 0`` (``nan`` stays ``nan``), within two
    units in the last place; compiled code only (module docstring)."""
    y = -a if not (a > _A_MAX) else -_A_MAX
    t = y * _INV_LN2 + _ROUND
    k = t - _ROUND
    r = (y - k * _LN2_HI) - k * _LN2_LO
    p = r * (1.0 + r * (_F2 + r * (_F3 + r * (_F4 + r * (_F5 + r * (_F6 + r * (_F7 + r * (_F8 + r * (_F9 + r * (_F10 + r * (_F11 + r * (_F12 + r * _F13))))))))))))
    two_k = _from_bits((_bits(t) - _ROUND_BITS + _EXP_BIAS) << _MANTISSA_BITS)
    return (1.0 - two_k) - two_k * p
