"""R's normal quantile, normal distribution function and ``uniroot``, bit for bit.

The planning integers are ceilings of doubles, so they agree with R only when
the doubles do. SciPy's ``ndtri``/``ndtr`` (Cephes) and ``brentq`` can differ
from R in the last bits, and ``uniroot`` stops at ``tol = eps^0.25`` (about
1.2e-4), so a different iterate path can move ``power.prop.test``'s ``n`` by
up to that much. This module re-implements, in plain double arithmetic in the
same operation order, the algorithms R 4.2 uses:

* :func:`qnorm`: Wichura's AS 241 (``src/nmath/qnorm.c``), lower or upper tail;
* :func:`pnorm`: Cody's rational approximations (``src/nmath/pnorm.c``);
* :func:`uniroot`: R's ``uniroot`` with ``extendInt = "upX"`` and Brent's
  zeroin (Forsythe, Malcolm and Moler; ``src/library/stats/src/zeroin.c``).

Python floats are IEEE doubles and ``math.log``/``math.exp``/``math.sqrt`` call
the same C library as R, so the results are identical (checked against R on a
grid in ``tests/test_plan.py``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

DBL_EPSILON = sys.float_info.epsilon
_SQRT_32 = 5.656854249492380195206754896838
_1_SQRT_2PI = 0.398942280401432677939946059934

# AS 241 coefficients (Wichura 1988): |q| <= 0.425, then r <= 5, then r > 5
_A = (3.387132872796366608, 133.14166789178437745, 1971.5909503065514427, 13731.693765509461125,
      45921.953931549871457, 67265.770927008700853, 33430.575583588128105, 2509.0809287301226727)
_B = (1.0, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077,
      21213.794301586595867, 39307.89580009271061, 28729.085735721942674, 5226.495278852854561)
_C = (1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055,
      3.64784832476320460504, 1.27045825245236838258, .24178072517745061177,
      .0227238449892691845833, 7.7454501427834140764e-4)
_D = (1.0, 2.05319162663775882187, 1.6763848301838038494, .68976733498510000455,
      .14810397642748007459, .0151986665636164571966, 5.475938084995344946e-4,
      1.05075007164441684324e-9)
_E = (6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358, .29656057182850489123,
      .026532189526576123093, .0012426609473880784386, 2.71155556874348757815e-5,
      2.01033439929228813265e-7)
_F = (1.0, .59983220655588793769, .13692988092273580531, .0148753612908506148525,
      7.868691311456132591e-4, 1.8463183175100546818e-5, 1.4215117583164458887e-7,
      2.04426310338993978564e-15)


def _horner(coef: tuple[float, ...], r: float) -> float:
    """``((c7 r + c6) r + ...) r + c0``, the nesting of R's C code."""
    value = coef[7]
    for c in coef[6::-1]:
        value = value * r + c
    return value


def qnorm(p: float, lower_tail: bool = True) -> float:
    """R's ``qnorm(p, lower.tail = lower_tail)`` for 0 <= p <= 1."""
    if math.isnan(p) or p < 0 or p > 1:
        return math.nan
    if p == 0:
        return -math.inf if lower_tail else math.inf
    if p == 1:
        return math.inf if lower_tail else -math.inf
    p_ = p if lower_tail else 0.5 - p + 0.5  # R_DT_qIv
    q = p_ - 0.5
    if abs(q) <= .425:
        r = .180625 - q * q
        return q * _horner(_A, r) / _horner(_B, r)
    # R_DT_CIv(p) = 1 - p in the lower tail, p itself in the upper tail
    r = math.log((0.5 - p + 0.5 if lower_tail else p) if q > 0 else p_)
    r = math.sqrt(-r)
    if r <= 5.:
        r += -1.6
        val = _horner(_C, r) / _horner(_D, r)
    else:
        r += -5.
        val = _horner(_E, r) / _horner(_F, r)
    return -val if q < 0.0 else val


_PA = (2.2352520354606839287, 161.02823106855587881, 1067.6894854603709582,
       18154.981253343561249, 0.065682337918207449113)
_PB = (47.20258190468824187, 976.09855173777669322, 10260.932208618978205, 45507.789335026729956)
_PC = (0.39894151208813466764, 8.8831497943883759412, 93.506656132177855979,
       597.27027639480026226, 2494.5375852903726711, 6848.1904505362823326,
       11602.651437647350124, 9842.7148383839780218, 1.0765576773720192317e-8)
_PD = (22.266688044328115691, 235.38790178262499861, 1519.377599407554805,
       6485.558298266760755, 18615.571640885098091, 34900.952721145977266,
       38912.003286093271411, 19685.429676859990727)
_PP = (0.21589853405795699, 0.1274011611602473639, 0.022235277870649807,
       0.001421619193227893466, 2.9112874951168792e-5, 0.02307344176494017303)
_PQ = (1.28426009614491121, 0.468238212480865118, 0.0659881378689285515,
       0.00378239633202758244, 7.29751555083966205e-5)


def _tail(x: float, temp: float) -> tuple[float, float]:
    """Cody's ``exp(-x^2/2) * temp`` split so that x^2 is exact; (cum, ccum) for |x|."""
    xsq = math.ldexp(math.trunc(math.ldexp(x, 4)), -4)
    delta = (x - xsq) * (x + xsq)
    cum = math.exp(-xsq * math.ldexp(xsq, -1)) * math.exp(-math.ldexp(delta, -1)) * temp
    return cum, 1.0 - cum


def pnorm(x: float, lower_tail: bool = True) -> float:
    """R's ``pnorm(x, lower.tail = lower_tail)`` (not on the log scale)."""
    if math.isnan(x):
        return x
    if math.isinf(x):
        return (0.0 if x < 0 else 1.0) if lower_tail else (1.0 if x < 0 else 0.0)
    y = abs(x)
    if y <= 0.67448975:
        if y > DBL_EPSILON * 0.5:
            xsq = x * x
            xnum = _PA[4] * xsq
            xden = xsq
            for i in range(3):
                xnum = (xnum + _PA[i]) * xsq
                xden = (xden + _PB[i]) * xsq
        else:
            xnum = xden = 0.0
        temp = x * (xnum + _PA[3]) / (xden + _PB[3])
        return 0.5 + temp if lower_tail else 0.5 - temp
    if y <= _SQRT_32:
        xnum = _PC[8] * y
        xden = y
        for i in range(7):
            xnum = (xnum + _PC[i]) * y
            xden = (xden + _PD[i]) * y
        temp = (xnum + _PC[7]) / (xden + _PD[7])
        cum, ccum = _tail(y, temp)
    elif (lower_tail and -37.5193 < x < 8.2924) or (not lower_tail and -8.2924 < x < 37.5193):
        xsq = 1.0 / (x * x)
        xnum = _PP[5] * xsq
        xden = xsq
        for i in range(4):
            xnum = (xnum + _PP[i]) * xsq
            xden = (xden + _PQ[i]) * xsq
        temp = xsq * (xnum + _PP[4]) / (xden + _PQ[4])
        temp = (_1_SQRT_2PI - temp) / y
        cum, ccum = _tail(x, temp)
    else:
        cum, ccum = (1.0, 0.0) if x > 0 else (0.0, 1.0)
        return cum if lower_tail else ccum
    if x > 0.:
        cum, ccum = ccum, cum
    return cum if lower_tail else ccum


def zeroin(f: Callable[[float], float], ax: float, bx: float, fa: float, fb: float,
           tol: float, maxit: int = 1000) -> tuple[float, int, float]:
    """Brent's zero finder as R's ``R_zeroin2``: (root, iterations or -1, precision)."""
    a, b = ax, bx
    c, fc = a, fa
    if fa == 0.0:
        return a, 0, 0.0
    if fb == 0.0:
        return b, 0, 0.0
    left = maxit + 1
    while left:
        left -= 1
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * DBL_EPSILON * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b, maxit - left, abs(c - b)
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0.0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0.0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b, -1, abs(c - b)


TOL_QUARTER = DBL_EPSILON ** 0.25  # R's default uniroot tol, .Machine$double.eps^0.25


def uniroot_up(f: Callable[[float], float], lower: float, upper: float,
               tol: float = TOL_QUARTER, maxiter: int = 1000) -> float:
    """R's ``uniroot(f, c(lower, upper), tol = tol, extendInt = "upX")$root``.

    ``upX``: f is increasing; while f(lower) > 0 the lower end moves down, while
    f(upper) < 0 the upper end moves up, by steps ``0.01 * max(1e-4, |end|)``
    doubling each time, as R does.
    """
    f_lower, f_upper = f(lower), f(upper)
    it = 0
    delta = 0.01 * max(1e-4, abs(lower))
    while f_lower > 0:  # False for NaN, as R's isTRUE()
        it += 1
        if it > maxiter:
            raise ValueError(f"no sign change found in {maxiter} iterations")
        lower = lower - delta
        f_lower = f(lower)
        delta = 2 * delta
    delta = 0.01 * max(1e-4, abs(upper))
    while f_upper < 0:
        it += 1
        if it > maxiter:
            raise ValueError(f"no sign change found in {maxiter} iterations")
        upper = upper + delta
        f_upper = f(upper)
        delta = 2 * delta
    if (math.isnan(f_lower) or math.isnan(f_upper) or (f_lower > 0 and f_upper > 0)
            or (f_lower < 0 and f_upper < 0)):
        raise ValueError("did not succeed extending the interval endpoints for "
                         "f(lower) * f(upper) <= 0")
    root, _, _ = zeroin(f, lower, upper, f_lower, f_upper, tol, maxiter)
    return root
