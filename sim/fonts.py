"""A CJK font that installs with the project (Noto Sans CJK SC, from the ``mplfonts`` package).

Charts and PDF reports must render Chinese on a fresh machine, so the font comes from a Python
dependency rather than the system.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    import mplfonts

    path = Path(mplfonts.__file__).resolve().parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    if not path.exists():  # pragma: no cover - a broken install
        raise FileNotFoundError(f"CJK font missing: {path}")
    return path


@lru_cache(maxsize=1)
def use_cjk_in_matplotlib() -> str:
    """Register the CJK font with matplotlib and make it the default; returns its family name."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager, rcParams

    font_manager.fontManager.addfont(str(cjk_font_path()))
    name = font_manager.FontProperties(fname=str(cjk_font_path())).get_name()
    rcParams["font.family"] = "sans-serif"
    rcParams["font.sans-serif"] = [name, "DejaVu Sans"]
    rcParams["axes.unicode_minus"] = False
    return name
