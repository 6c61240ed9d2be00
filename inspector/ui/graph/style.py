"""Palettes (light, dark) and category colours for the graph view; plain data, no Qt."""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[int, int, int]

#: Header fill per op category. Netron's hues where it has one, so the graph reads the same.
CATEGORY_COLORS: dict[str, RGB] = {
    "input": (238, 238, 238),
    "output": (238, 238, 238),
    "layer": (51, 85, 136),
    "activation": (112, 41, 33),
    "normalization": (51, 85, 68),
    "pooling": (51, 85, 51),
    "dropout": (69, 71, 112),
    "recurrent": (48, 110, 120),
    "attention": (104, 62, 130),
    "embedding": (140, 90, 30),
    "merge": (84, 84, 92),
    "math": (210, 210, 210),
    "shape": (108, 79, 71),
    "tensor": (89, 66, 59),
    "logic": (150, 120, 40),
    "control": (150, 60, 100),
    "quantization": (80, 40, 0),
    "constant": (190, 190, 190),
    "data": (85, 85, 85),
    "custom": (128, 128, 128),
    "other": (225, 225, 225),
    "group": (70, 90, 120),
}


def category_color(category: str) -> RGB:
    """The header colour of `category` (grey for anything unknown)."""
    return CATEGORY_COLORS.get(category, CATEGORY_COLORS["other"])


def luminance(rgb: RGB) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0 black .. 1 white)."""

    def lin(c: float) -> float:
        c /= 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    """WCAG 2 contrast ratio of two colours (1 .. 21; text wants 4.5, lines 3)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(rgb: RGB) -> RGB:
    """Black or white, whichever has the higher WCAG contrast on `rgb` (a plain luminance
    cut put white on the olive "logic" header at 4.2:1)."""
    black, white = (0, 0, 0), (255, 255, 255)
    return black if contrast(rgb, black) >= contrast(rgb, white) else white


@dataclass(frozen=True)
class Palette:
    """Every colour the view uses apart from category headers."""

    name: str
    background: RGB
    node_body: RGB
    node_border: RGB
    node_text: RGB
    key_text: RGB
    edge: RGB
    edge_label: RGB
    io_fill: RGB
    io_border: RGB
    frame_fill: RGB
    frame_border: RGB
    frame_text: RGB
    selection: RGB
    dim_alpha: int
    overlay_fill: RGB
    overlay_text: RGB
    #: Header colours replaced in this palette: near-white headers glare on a dark canvas.
    category_overrides: tuple[tuple[str, RGB], ...] = ()

    def header(self, category: str) -> RGB:
        """The header colour of `category` in this palette."""
        for name, rgb in self.category_overrides:
            if name == category:
                return rgb
        return category_color(category)


LIGHT = Palette(
    name="light",
    background=(255, 255, 255),
    node_body=(252, 252, 252),
    node_border=(110, 110, 110),
    node_text=(20, 20, 20),
    key_text=(105, 105, 105),
    edge=(90, 90, 90),
    edge_label=(110, 110, 110),
    io_fill=(238, 238, 238),
    io_border=(90, 90, 90),
    frame_fill=(241, 245, 252),
    frame_border=(160, 178, 205),
    frame_text=(60, 80, 110),
    selection=(222, 104, 0),  # 3:1 on white, the WCAG minimum for a thin outline
    dim_alpha=50,
    overlay_fill=(245, 245, 245),
    overlay_text=(40, 40, 40),
)

DARK = Palette(
    name="dark",
    background=(30, 31, 34),
    node_body=(48, 50, 55),
    node_border=(120, 124, 132),
    node_text=(228, 228, 228),
    key_text=(160, 164, 172),
    edge=(165, 168, 175),
    edge_label=(150, 154, 160),
    io_fill=(60, 62, 68),
    io_border=(170, 172, 178),
    frame_fill=(38, 42, 52),
    frame_border=(80, 96, 124),
    frame_text=(170, 185, 210),
    selection=(255, 160, 40),
    dim_alpha=45,
    overlay_fill=(45, 46, 50),
    overlay_text=(220, 220, 220),
    category_overrides=(
        ("input", (92, 96, 104)),
        ("output", (92, 96, 104)),
        ("math", (96, 100, 110)),
        ("constant", (104, 104, 110)),
        ("other", (84, 88, 96)),
        ("custom", (104, 104, 112)),
    ),
)

PALETTES: dict[str, Palette] = {"light": LIGHT, "dark": DARK}


def palette(name: str) -> Palette:
    """The palette called `name` ("light" or "dark"); ValueError for anything else."""
    try:
        return PALETTES[name]
    except KeyError:
        raise ValueError(f"unknown palette {name!r}: choose light or dark") from None
