"""Charts (matplotlib, Noto Sans CJK SC): the trend chart and horizontal bars, as PNG."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from .document import Chart

CJK_FAMILY = "Noto Sans CJK SC"


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """The CJK font for charts; a clear error when it is not installed."""
    from matplotlib import font_manager as fm

    try:
        return fm.findfont(fm.FontProperties(family=CJK_FAMILY), fallback_to_default=False)
    except ValueError:
        for path in sorted(Path("/usr/share/fonts").rglob("NotoSansCJK*.tt[cf]")):
            fm.fontManager.addfont(str(path))
        try:
            return fm.findfont(fm.FontProperties(family=CJK_FAMILY), fallback_to_default=False)
        except ValueError:
            raise RuntimeError(
                f"font {CJK_FAMILY!r} not found: install Debian's fonts-noto-cjk (scripts/setup.sh)"
            ) from None


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cjk_font()
    plt.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [CJK_FAMILY, "DejaVu Sans"],
            "axes.unicode_minus": False,
            "font.size": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def trend_chart(
    cid: str, title: str, labels: list[str], counts: list[int | None], lines: dict[str, list]
) -> Chart:
    """Bars of 受理量 with rates (fractions) as lines on a percentage axis."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    xs = list(range(len(labels)))
    bars = ax.bar(xs, [c or 0 for c in counts], color="#90caf9", label="受理量（件）")
    for b, c in zip(bars, counts, strict=True):
        if c is not None:
            ax.annotate(
                f"{c:,}",
                (b.get_x() + b.get_width() / 2, b.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    ax.set_ylabel("受理量（件）")
    ax.set_xticks(
        xs, labels, rotation=45 if len(labels) > 8 else 0, ha="right" if len(labels) > 8 else "center"
    )
    handles = [bars]
    if lines:
        ax2 = ax.twinx()
        ax2.spines["top"].set_visible(False)
        for (name, values), color in zip(lines.items(), ("#d32f2f", "#2e7d32", "#6a1b9a"), strict=False):
            pts = [(x, v * 100) for x, v in zip(xs, values, strict=True) if v is not None]
            if pts:
                (h,) = ax2.plot(
                    [p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, color=color, label=name
                )
                handles.append(h)
        ax2.set_ylabel("比率（%）")
        ax2.set_ylim(0, 105)
    top = max([c for c in counts if c is not None], default=0)
    ax.set_ylim(0, max(1, top) * 1.8)  # bars in the lower half, rates (60–100%) above them
    ax.set_title(title)
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12 if len(labels) <= 8 else -0.22),
        fontsize=8,
        frameon=False,
        ncol=len(handles),
    )
    return Chart(cid, title, _png(fig))


def hbar_chart(
    cid: str,
    title: str,
    items: list[tuple[str, float]],
    xlabel: str,
    percent: bool = False,
    marker: float | None = None,
    marker_label: str = "",
) -> Chart:
    """Horizontal bars, largest on top; `marker` draws a vertical reference line (e.g. 序时进度)."""
    plt = _plt()
    items = list(reversed(items))
    fig, ax = plt.subplots(figsize=(6.4, max(1.6, 0.32 * len(items) + 0.9)))
    ys = list(range(len(items)))
    vals = [v * 100 if percent else v for _, v in items]
    bars = ax.barh(ys, vals, color="#64b5f6")
    ax.set_yticks(ys, [k for k, _ in items], fontsize=8)
    for b, v in zip(bars, vals, strict=True):
        ax.annotate(
            f"{v:.2f}%" if percent else f"{v:,.0f}",
            (b.get_width(), b.get_y() + b.get_height() / 2),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    if marker is not None:
        m = marker * 100 if percent else marker
        label = f"{marker_label} {m:.2f}%" if percent else marker_label
        ax.axvline(m, color="#d32f2f", linestyle="--", linewidth=1, label=label)
        ax.set_xlim(0, max([m, *vals, 1]) * 1.2)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), fontsize=8, frameon=False)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return Chart(cid, title, _png(fig))
