"""Money in integer fen: parsing yuan amounts, showing them, shares rounded half-up."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def yuan(fen: int) -> str:
    """``123456`` → ``1,234.56元`` (fen as integers only)."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}元"


def to_fen(value: str | Decimal | None) -> int:
    """A decimal yuan string (``"12.30"``) in fen; refuses more than two decimals."""
    if value in (None, ""):
        return 0
    amount = Decimal(str(value))
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError(f"not an amount in yuan: {value!r}")
    return int(amount * 100)


def percent(ratio: Decimal) -> str:
    return f"{(ratio * 100).quantize(Decimal('0.01')).normalize():f}%"


def share(fen: int, ratio: Decimal) -> int:
    """``fen × ratio`` rounded half-up to the fen."""
    return int((Decimal(fen) * ratio).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
