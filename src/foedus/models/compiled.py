"""How the model's loops are compiled: one decorator for every kernel, and
the elementary functions they use (``exp``, ``log``, ``log1p`` and
``1 - exp(-a)``), written here so that the loops vectorise.

:data:`kernel` is numba's ``njit`` with

* ``cache=True``: compiled once per machine, so the CLI does not recompile;
* ``error_model="numpy"``: a division by zero gives ``inf`` or ``nan`` as in
  NumPy instead of raising. A loop that divides then carries no exception
  branch, so LLVM can vectorise it.

Results do not change with it: ``fastmath`` stays off, so no operation is
reordered or contracted, and every loop computes the same IEEE operations
in the same order (the determinism tests check bit for bit).

numba's cache knows only the file of each loop, not the files of the
functions it calls: after editing this module or ``by_package.py``, delete
the ``*.nbi`` and ``*.nbc`` files under ``src/foedus/models/__pycache__``
(a fresh clone or install has none).

*The elementary functions.* Why hand-written: without Intel's SVML, numba
calls libm once per value (``expm1`` 13 ns on this machine, ``exp`` 6 ns),
and the call keeps the loop scalar; ``1 - exp(-a)`` alone was most of the
guarantees' time (4.8 of 5 ms per chunk of 4,096 futures). As plain
arithmetic, inlined into each loop (:func:`_inlined`: numba would
otherwise call each as a function, and the loop would stay scalar), the
loops vectorise: 3 to 6 ns per value. The methods are the
textbook ones (Tang 1989, ACM TOMS 15(2):144-157, and 1992,
doi:10.1145/146847.146928, without the tables; Cody & Waite 1980,
*Software Manual for the Elementary Functions*)::

    exp(y):    k = round(y / ln 2)             (adding 1.5 * 2**52 rounds to an integer)
               r = y - k ln 2                  (|r| <= ln 2 / 2; ln 2 in two parts)
               p = expm1(r) = r + r^2/2! + ... + r^13/13!   (the first omitted term is below 2**-53 |r|)
               exp(y) = 2**k (1 + p)           (2**k built from its bits, in two halves
                                                so that subnormal results come out right)
    1 - exp(-a) = (1 - 2**k) - 2**k p          (for a >= 0; k = 0 below ln 2 / 2, so small a
                                                keep their full relative precision)
    log(x):    x = 2**e m,  m in [sqrt(2)/2, sqrt(2)),  s = (m - 1) / (m + 1)
               log(x) = e ln 2 + 2 atanh(s) = e ln 2 + 2 (s + s^3/3 + ... + s^19/19)
    log1p(x) = x                               if 1 + x == 1
             = log(1 + x) x / ((1 + x) - 1)    otherwise (Goldberg 1991, doi:10.1145/103162.103163)

``tests/test_compiled.py`` checks each against NumPy over the whole range
and at the edges (0, subnormals, overflow, ``inf``, ``nan``): ``exp``
within one unit in the last place, ``log`` and ``1 - exp(-a)`` within two,
``log1p`` within three (NumPy's own are within one of the exact value).
"""

from __future__ import annotations

import math
import struct

from llvmlite import ir
from numba import njit, types
from numba.core.compiler import Flags
from numba.extending import intrinsic

#: The decorator of every compiled loop of the model (module docstring).
kernel = njit(cache=True, error_model="numpy")

_ROUND = 1.5 * 2.0**52  # adding it rounds a float below 2**51 to an integer
_ROUND_BITS = struct.unpack("<q", struct.pack("<d", _ROUND))[0]  # its bits as an integer
_INV_LN2 = 1.0 / math.log(2.0)
_LN2_HI = 6.93147180369123816490e-01  # ln 2 with 21 trailing zero bits: k * _LN2_HI is exact (fdlibm)
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI (fdlibm)
_A_MAX = 60.0  # 1 - exp(-60) is 1 in float64
_EXP_MAX = 710.0  # exp(710) overflows to inf
_EXP_MIN = -746.0  # exp(-746) underflows to 0
_MANTISSA = (1 << 52) - 1
_ONE_BITS = 1023 << 52  # the exponent bits of 1.0
_SQRT2 = math.sqrt(2.0)
_TINY = 2.0**-1022  # the smallest normal float64
_SUBNORMAL_SHIFT = 54  # subnormals are scaled by 2**54 before their bits are read
_EXP_BIAS = 1023
_MANTISSA_BITS = 52
# 1 / k! for the Taylor series of expm1, k = 2 .. 13
_F2, _F3, _F4, _F5, _F6, _F7, _F8, _F9, _F10, _F11, _F12, _F13 = (1.0 / math.factorial(k) for k in range(2, 14))
# 1 / k for the series of atanh, k = 3, 5, .. 19
_L3, _L5, _L7, _L9, _L11, _L13, _L15, _L17, _L19 = (1.0 / k for k in range(3, 20, 2))


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


@intrinsic
def _select(typingctx, condition, a, b):
    """``a if condition else b`` for float64, without a branch (numba
    compiles a conditional expression as a branch, which keeps the loop
    around it from vectorising)."""

    def codegen(context, builder, signature, args):
        return builder.select(args[0], args[1], args[2])

    return types.float64(types.boolean, types.float64, types.float64), codegen


def _inlined(impl):
    """``impl`` (float64 -> float64, plain arithmetic) as a function the
    compiled loops call: compiled once per process (numba keeps compiled
    subroutines) and marked ``alwaysinline``, so LLVM puts its body in each
    loop, which then vectorises. numba's own inlining (``inline="always"``)
    gives the same code but types the body again at every call site, and
    nested calls multiplied the first compile of the model (12.6 s for the
    hazard's loop alone)."""

    @intrinsic
    def call(typingctx, x):
        def codegen(context, builder, signature, args):
            flags = Flags()
            flags.error_model = "numpy"  # as kernel: IEEE division, no exception paths
            compiled = context.compile_subroutine(builder, impl, signature, flags=flags)
            fn = context.declare_function(builder.module, compiled.fndesc)
            fn.attributes.add("alwaysinline")
            _, out = context.call_conv.call_function(builder, fn, signature.return_type, signature.args, args)
            return out

        return types.float64(types.float64), codegen

    call.__doc__ = impl.__doc__
    return call


@_inlined
def _expm1_reduced(r):
    """``expm1(r)`` for ``|r| <= ln 2 / 2``: its Taylor series to ``r**13``."""
    return r * (1.0 + r * (_F2 + r * (_F3 + r * (_F4 + r * (_F5 + r * (_F6 + r * (_F7 + r * (_F8 + r * (_F9 + r * (_F10 + r * (_F11 + r * (_F12 + r * _F13))))))))))))


@_inlined
def exp(y):
    """``e**y`` within one unit in the last place; compiled code only."""
    y = _select(y < _EXP_MIN, _EXP_MIN, _select(y > _EXP_MAX, _EXP_MAX, y))
    t = y * _INV_LN2 + _ROUND
    k = t - _ROUND
    r = (y - k * _LN2_HI) - k * _LN2_LO
    ki = _bits(t) - _ROUND_BITS
    half = ki >> 1
    return (1.0 + _expm1_reduced(r)) * _from_bits((half + _EXP_BIAS) << _MANTISSA_BITS) * _from_bits((ki - half + _EXP_BIAS) << _MANTISSA_BITS)


@_inlined
def one_minus_exp(a):
    """``1 - exp(-a)`` for ``a >= 0`` (``nan`` stays ``nan``), within two
    units in the last place; compiled code only (module docstring)."""
    y = -_select(a > _A_MAX, _A_MAX, a)
    t = y * _INV_LN2 + _ROUND
    k = t - _ROUND
    r = (y - k * _LN2_HI) - k * _LN2_LO
    two_k = _from_bits((_bits(t) - _ROUND_BITS + _EXP_BIAS) << _MANTISSA_BITS)
    return (1.0 - two_k) - two_k * _expm1_reduced(r)


@_inlined
def log(x):
    """The natural logarithm within two units in the last place (``-inf``
    at 0, ``nan`` below); compiled code only."""
    shift = _SUBNORMAL_SHIFT * (x < _TINY)  # subnormals: read the bits of x * 2**54
    b = _bits(x * _from_bits((shift + _EXP_BIAS) << _MANTISSA_BITS))
    m = _from_bits((b & _MANTISSA) | _ONE_BITS)  # x = 2**e m, m in [1, 2)
    big = m > _SQRT2
    m = _select(big, m * 0.5, m)
    k = float((b >> _MANTISSA_BITS) - _EXP_BIAS - shift + big)
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    atanh = s + s * z * (_L3 + z * (_L5 + z * (_L7 + z * (_L9 + z * (_L11 + z * (_L13 + z * (_L15 + z * (_L17 + z * _L19))))))))
    out = k * _LN2_HI + (2.0 * atanh + k * _LN2_LO)
    edge = _select(x == 0.0, -math.inf, _select(x > 0.0, x, math.nan))
    return _select((x > 0.0) & (x < math.inf), out, edge)


@_inlined
def log1p(x):
    """``log(1 + x)`` for ``x >= -1`` within three units in the last place,
    small ``x`` included; compiled code only."""
    u = 1.0 + x
    return _select((u == 1.0) | (u == math.inf), x, log(u) * (x / (u - 1.0)))
