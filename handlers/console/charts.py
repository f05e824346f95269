"""Bar charts drawn on the server as SVG (no script, no external library): labels escaped,
colours from presentation attributes so the console's content security policy holds."""

from __future__ import annotations

from html import escape


def bar_chart(
    title: str, bars: list[tuple[str, float]], *, unit: str = "", percent: bool = False
) -> str:
    """A horizontal bar chart: one bar per (label, value)."""
    row, label_w, bar_w, pad = 28, 180, 360, 8
    height = pad * 2 + 24 + row * max(len(bars), 1)
    top = max((v for _, v in bars), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 120}" height="{height}" '
        f'viewBox="0 0 {label_w + bar_w + 120} {height}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{pad}" y="{pad + 14}" font-size="14" font-weight="bold" fill="#1f2933">'
        f"{escape(title)}</text>",
    ]
    for i, (label, value) in enumerate(bars):
        y = pad + 24 + i * row
        width = max(int(bar_w * value / top), 1 if value else 0)
        shown = f"{value:.1%}" if percent else f"{value:g}{unit}"
        parts += [
            f'<text x="{label_w - 6}" y="{y + 17}" font-size="13" text-anchor="end" '
            f'fill="#1f2933">{escape(label[:14])}</text>',
            f'<rect x="{label_w}" y="{y + 4}" width="{width}" height="18" fill="#0b5fa5"/>',
            f'<text x="{label_w + width + 6}" y="{y + 17}" font-size="13" fill="#1f2933">'
            f"{escape(shown)}</text>",
        ]
    if not bars:
        parts.append(
            f'<text x="{label_w}" y="{pad + 42}" font-size="13" fill="#52606d">无数据</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
