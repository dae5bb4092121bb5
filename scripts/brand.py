"""Draw Notify Bridge's brand images: SVG sources and the PNGs Home Assistant serves.

Run from the repository root after changing the design:

    .venv/bin/python scripts/brand.py          # rewrite SVGs and PNGs
    .venv/bin/python scripts/brand.py --check  # exit 1 if a committed file is stale

One set of shape definitions (below) feeds both outputs: ``scripts/brand/*.svg`` (for
people editing the design) and ``custom_components/notify_bridge/brand/*.png`` (what
Home Assistant >= 2026.3 serves from ``/api/brands/integration/notify_bridge/...``).
The PNGs are rendered with Pillow only — no Cairo, no fonts: the wordmark is drawn from
the same geometric strokes as the icon, so the output is identical on every machine.
The SVGs live outside the integration folder: HACS copies ``brand/`` to users and Home
Assistant only serves the eight PNG names, so sources there would be dead weight.

Only Pillow is needed (it comes with Home Assistant). To see that an SVG matches its
PNG, render it with any SVG renderer, e.g. ``rsvg-convert scripts/brand/icon.svg -o
/tmp/icon.png`` (Debian: ``apt-get install librsvg2-bin``): they differ only in how
edge pixels are anti-aliased. ``tests/test_brand.py`` fails when a committed file is
not what this script draws.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
import io
import itertools
import math
from pathlib import Path
import sys

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
PNG_DIR = ROOT / "custom_components" / "notify_bridge" / "brand"
SVG_DIR = ROOT / "scripts" / "brand"

# Draw this many times larger, then downsample: Pillow's polygons have no anti-aliasing.
SUPERSAMPLE = 4
# Curves are flattened to segments no longer than this, in output pixels.
FLATNESS = 0.5

BLUE = "#2F6FDE"  # the bridge and the source: where events come from
AMBER = "#F5A524"  # the bell: the notification that arrives
INK = "#1F2937"  # wordmark on light backgrounds
INK_DARK = "#F3F4F6"  # wordmark on dark backgrounds

ICON_SIZE = 256  # design units of the icon; icon.png is 1:1, icon@2x.png is 2:1
LOGO_HEIGHT = 256  # logo.png's shortest side: the brands maximum (128-256)

Point = tuple[float, float]


# --- Shape model ---------------------------------------------------------------------


@dataclass
class Path2D:
    """A path of lines, circular arcs and cubic curves, stroked or filled."""

    start: Point
    commands: list[tuple[str, tuple[float, ...]]] = field(default_factory=list)
    closed: bool = False

    def line(self, x: float, y: float) -> Path2D:
        self.commands.append(("L", (x, y)))
        return self

    def arc(self, cx: float, cy: float, r: float, a0: float, a1: float) -> Path2D:
        """Arc around (cx, cy) from angle a0 to a1 (degrees, y down: 90 is south)."""
        self.commands.append(("A", (cx, cy, r, a0, a1)))
        return self

    def cubic(self, *pts: float) -> Path2D:
        self.commands.append(("C", pts))
        return self

    def close(self) -> Path2D:
        self.closed = True
        return self


@dataclass
class Shape:
    """A filled circle (``radius``) or a path, filled or stroked with round ends."""

    color: str
    path: Path2D | None = None
    center: Point = (0.0, 0.0)
    radius: float = 0.0
    stroke: float = 0.0  # 0: filled


def _arc_point(cx: float, cy: float, r: float, angle: float) -> Point:
    rad = math.radians(angle)
    return (cx + r * math.cos(rad), cy + r * math.sin(rad))


def _flatten(path: Path2D, step: float) -> list[Point]:
    """The path as a polyline with segments of about ``step`` design units."""
    points = [path.start]
    for op, args in path.commands:
        if op == "L":
            points.append((args[0], args[1]))
        elif op == "A":
            cx, cy, r, a0, a1 = args
            n = max(2, math.ceil(abs(math.radians(a1 - a0)) * r / step))
            points += [
                _arc_point(cx, cy, r, a0 + (a1 - a0) * i / n) for i in range(n + 1)
            ]
        else:
            (x0, y0), (x1, y1, x2, y2, x3, y3) = points[-1], args
            n = 48
            for i in range(1, n + 1):
                t = i / n
                u = 1 - t
                points.append(
                    (
                        u**3 * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t**3 * x3,
                        u**3 * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t**3 * y3,
                    )
                )
    return points


# --- The design ----------------------------------------------------------------------


def icon_shapes() -> list[Shape]:
    """The icon in a 256x256 box: a source dot and a bell joined by an arch bridge.

    The bell stands at the far end of the deck: the notification is the pier that
    events cross the bridge to reach.
    """
    rim = 160.0  # deck and bell rim height
    cx, half = 190.0, 54.0  # the bell
    dot = 24.0  # the source, at the near end of the deck
    arch = _segment(x0=44.0, x1=cx - half + 4, base=rim, rise=36.0)
    return [
        Shape(BLUE, arch.path, stroke=16.0),
        *[
            Shape(BLUE, Path2D((x, rim)).line(x, arch.y(x)), stroke=9.0)
            for x in arch.hangers(3)
        ],
        Shape(BLUE, Path2D((dot, rim)).line(cx, rim), stroke=18.0),
        *_bell(cx=cx, top=68.0, rim=rim, half_width=half),
        Shape(BLUE, center=(dot, rim), radius=20.0),
    ]


@dataclass
class _Arch:
    """A circular arch segment standing on a deck."""

    cx: float
    cy: float
    r: float
    x0: float
    x1: float
    path: Path2D

    def y(self, x: float) -> float:
        return self.cy - math.sqrt(max(0.0, self.r**2 - (x - self.cx) ** 2))

    def hangers(self, n: int) -> list[float]:
        return [self.x0 + (self.x1 - self.x0) * (i + 1) / (n + 1) for i in range(n)]


def _segment(x0: float, x1: float, base: float, rise: float) -> _Arch:
    """The arch from (x0, base) to (x1, base) whose top is ``rise`` above the deck."""
    half = (x1 - x0) / 2
    r = (half**2 + rise**2) / (2 * rise)
    cx, cy = x0 + half, base - rise + r
    a = math.degrees(math.atan2(base - cy, x0 - cx))
    path = Path2D((x0, base)).arc(cx, cy, r, a % 360, 540 - a % 360)
    return _Arch(cx, cy, r, x0, x1, path)


def _bell(cx: float, top: float, rim: float, half_width: float) -> list[Shape]:
    """A bell: a dome whose sides flare out to the rim, a clapper below, a knob on top."""
    w, h = half_width, rim - top
    waist = 0.56 * w
    body = Path2D((cx - w, rim))
    body.cubic(
        cx - 0.62 * w,
        rim - 0.08 * h,
        cx - waist,
        rim - 0.35 * h,
        cx - waist,
        top + 0.4 * h,
    )
    body.cubic(
        cx - waist,
        top - 0.12 * h,
        cx + waist,
        top - 0.12 * h,
        cx + waist,
        top + 0.4 * h,
    )
    body.cubic(cx + waist, rim - 0.35 * h, cx + 0.62 * w, rim - 0.08 * h, cx + w, rim)
    return [
        Shape(AMBER, body.close()),
        Shape(AMBER, Path2D((cx - w - 2, rim)).line(cx + w + 2, rim), stroke=18.0),
        Shape(AMBER, center=(cx, rim + 27), radius=14.0),
        Shape(AMBER, center=(cx, top - 2), radius=10.0),
    ]


# Wordmark glyphs: monoline strokes on centre lines. Cap height 100 (outer edges 0-100),
# x-height 62 (outer 38-100), descender to 135; stroke 16. Each glyph: (advance, shapes).
GLYPH_STROKE = 16.0
_R = 27.0  # bowl radius of o, d, g, e (centre line)
_BOWL_Y = 65.0


def _stroke(path: Path2D) -> Shape:
    return Shape(
        "", path, stroke=GLYPH_STROKE
    )  # the ink is set when the text is placed


def _bowl() -> Shape:
    return _stroke(Path2D((62.0, _BOWL_Y)).arc(35.0, _BOWL_Y, _R, 0.0, 359.9))


def _round_glyphs() -> dict[str, tuple[float, list[Shape]]]:
    """The letters built on the bowl: o, d, g, e."""
    tail = Path2D((62.0, 38.0)).line(62.0, 100.0).arc(35.0, 100.0, _R, 0.0, 150.0)
    e = Path2D((8.0, _BOWL_Y)).line(62.0, _BOWL_Y).arc(35.0, _BOWL_Y, _R, 0.0, -318.0)
    return {
        "o": (70.0, [_bowl()]),
        "d": (70.0, [_bowl(), _stroke(Path2D((62.0, 8.0)).line(62.0, 92.0))]),
        "g": (70.0, [_bowl(), _stroke(tail)]),
        "e": (70.0, [_stroke(e)]),
    }


def _straight_glyphs() -> dict[str, tuple[float, list[Shape]]]:
    """The letters built on stems: N, t, i, f, y, B, r, and the space."""
    n = Path2D((8.0, 92.0)).line(8.0, 8.0).line(68.0, 92.0).line(68.0, 8.0)
    t = Path2D((20.0, 14.0)).line(20.0, 74.0).arc(38.0, 74.0, 18.0, 180.0, 90.0)
    f = Path2D((22.0, 92.0)).line(22.0, 30.0).arc(44.0, 30.0, 22.0, 180.0, 270.0)
    b_top = Path2D((8.0, 50.0)).line(8.0, 8.0).line(38.0, 8.0)
    b_low = Path2D((8.0, 50.0)).line(8.0, 92.0).line(42.0, 92.0)
    b_top.arc(38.0, 29.0, 21.0, 270.0, 450.0).line(8.0, 50.0)
    b_low.arc(42.0, 71.0, 21.0, 90.0, -90.0).line(8.0, 50.0)
    r = Path2D((8.0, 92.0)).line(8.0, 64.0).arc(34.0, 64.0, 26.0, 180.0, 270.0)
    return {
        "N": (76.0, [_stroke(n)]),
        "t": (48.0, [_stroke(t), _stroke(Path2D((6.0, 38.0)).line(40.0, 38.0))]),
        "i": (
            16.0,
            [
                _stroke(Path2D((8.0, 38.0)).line(8.0, 92.0)),
                Shape("", center=(8.0, 12.0), radius=10.0),
            ],
        ),
        "f": (
            46.0,
            [
                _stroke(f.line(50.0, 8.0)),
                _stroke(Path2D((6.0, 38.0)).line(42.0, 38.0)),
            ],
        ),
        "y": (
            68.0,
            [
                _stroke(Path2D((8.0, 38.0)).line(34.0, 90.0)),
                _stroke(Path2D((60.0, 38.0)).line(20.0, 127.0)),
            ],
        ),
        "B": (76.0, [_stroke(b_top), _stroke(b_low)]),
        "r": (46.0, [_stroke(r.line(42.0, 38.0))]),
        " ": (22.0, []),
    }


def wordmark_shapes(
    text: str, color: str, x0: float, y0: float, scale: float
) -> list[Shape]:
    """The text in ``color``, its caps' top-left corner at (x0, y0)."""
    glyphs = _round_glyphs() | _straight_glyphs()
    tracking = 12.0
    shapes: list[Shape] = []
    x = 0.0
    for ch in text:
        advance, glyph = glyphs[ch]
        for shape in glyph:
            shape.color = color
            shapes.append(_transform(shape, x0 + x * scale, y0, scale))
        x += advance + tracking
    return shapes


def _transform(shape: Shape, dx: float, dy: float, k: float) -> Shape:
    def pt(p: Point) -> Point:
        return (dx + p[0] * k, dy + p[1] * k)

    path = None
    if shape.path is not None:
        path = Path2D(pt(shape.path.start), closed=shape.path.closed)
        for op, args in shape.path.commands:
            if op == "A":
                cx, cy = pt((args[0], args[1]))
                path.commands.append((op, (cx, cy, args[2] * k, args[3], args[4])))
            else:
                moved = [
                    c
                    for i in range(0, len(args), 2)
                    for c in pt((args[i], args[i + 1]))
                ]
                path.commands.append((op, tuple(moved)))
    return Shape(
        shape.color, path, pt(shape.center), shape.radius * k, shape.stroke * k
    )


def logo_shapes(ink: str) -> tuple[list[Shape], tuple[int, int]]:
    """Icon left, wordmark right, trimmed to LOGO_HEIGHT; returns shapes and size."""
    icon = icon_shapes()
    top, bottom = _bounds(icon)[1::2]
    cap = 0.52 * (bottom - top)  # caps half the icon's height: descenders stay inside
    scale = cap / 100
    cap_top = (top + bottom) / 2 - cap * 0.6  # caps a little above the middle
    words = wordmark_shapes("Notify Bridge", ink, ICON_SIZE + 20, cap_top, scale)
    return _fit([*icon, *words], LOGO_HEIGHT, margin=2.0)


def _bounds(shapes: list[Shape]) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of what the shapes paint."""
    boxes = []
    for shape in shapes:
        if shape.path is None:
            (x, y), r = shape.center, shape.radius
            boxes.append((x - r, y - r, x + r, y + r))
            continue
        pad = shape.stroke / 2
        points = _flatten(shape.path, 0.5)
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        boxes.append((min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad))
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _fit(
    shapes: list[Shape], height: float, margin: float
) -> tuple[list[Shape], tuple[int, int]]:
    """Scale and move the shapes so they fill ``height`` with ``margin`` on every side."""
    left, top, right, bottom = _bounds(shapes)
    k = (height - 2 * margin) / (bottom - top)
    moved = [
        _transform(shape, margin - left * k, margin - top * k, k) for shape in shapes
    ]
    return moved, (math.ceil((right - left) * k + 2 * margin), round(height))


# --- Output --------------------------------------------------------------------------


def _svg_path(path: Path2D) -> str:
    d = [f"M{path.start[0]:.2f} {path.start[1]:.2f}"]
    for op, args in path.commands:
        if op == "A":
            cx, cy, r, a0, a1 = args
            x, y = _arc_point(cx, cy, r, a1)
            large = 1 if abs(a1 - a0) > 180 else 0
            sweep = 1 if a1 > a0 else 0
            d.append(f"A{r:.2f} {r:.2f} 0 {large} {sweep} {x:.2f} {y:.2f}")
        else:
            d.append(op + " ".join(f"{v:.2f}" for v in args))
    return " ".join(d) + (" Z" if path.closed else "")


def to_svg(shapes: list[Shape], size: tuple[int, int]) -> str:
    width, height = size
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
    ]
    for shape in shapes:
        if shape.path is None:
            c = shape.center
            lines.append(
                f'  <circle cx="{c[0]:.2f}" cy="{c[1]:.2f}" r="{shape.radius:.2f}" fill="{shape.color}"/>'
            )
        elif shape.stroke:
            lines.append(
                f'  <path d="{_svg_path(shape.path)}" fill="none" stroke="{shape.color}" '
                f'stroke-width="{shape.stroke:.2f}" stroke-linecap="round" stroke-linejoin="round"/>'
            )
        else:
            lines.append(f'  <path d="{_svg_path(shape.path)}" fill="{shape.color}"/>')
    return "\n".join([*lines, "</svg>", ""])


def to_png(shapes: list[Shape], size: tuple[int, int], scale: float) -> bytes:
    """Render at ``scale`` output pixels per design unit, anti-aliased by supersampling."""
    k = scale * SUPERSAMPLE
    out = (round(size[0] * scale), round(size[1] * scale))
    image = Image.new(
        "RGBA", (out[0] * SUPERSAMPLE, out[1] * SUPERSAMPLE), (0, 0, 0, 0)
    )
    draw = ImageDraw.Draw(image)
    for shape in shapes:
        _draw(draw, shape, k, FLATNESS / scale)
    # Premultiplied while resampling, so transparent pixels do not darken the edges.
    small = image.convert("RGBa").resize(out, Image.Resampling.BOX).convert("RGBA")
    buffer = io.BytesIO()
    small.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _draw(draw: ImageDraw.ImageDraw, shape: Shape, k: float, step: float) -> None:
    # Pillow puts integer coordinates on pixel centres and includes an ellipse's right
    # and bottom edges; SVG puts them on pixel corners. These offsets line the two up
    # (rsvg-convert of the SVGs differs from the PNGs in edge anti-aliasing only).
    def disc(x: float, y: float, r: float) -> None:
        draw.ellipse([x - r, y - r, x + r - 1, y + r - 1], fill=shape.color)

    if shape.path is None:
        disc(shape.center[0] * k, shape.center[1] * k, shape.radius * k)
        return
    points = [(x * k - 0.5, y * k - 0.5) for x, y in _flatten(shape.path, step)]
    if not shape.stroke:
        draw.polygon(points, fill=shape.color)
        return
    radius = shape.stroke * k / 2
    # Each segment as a quad and each vertex as a disc: round joins and caps, and no
    # seams between the many short segments of a flattened curve.
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        length = math.hypot(x1 - x0, y1 - y0) or 1.0
        nx, ny = (y0 - y1) / length * radius, (x1 - x0) / length * radius
        quad = [
            (x0 + nx, y0 + ny),
            (x1 + nx, y1 + ny),
            (x1 - nx, y1 - ny),
            (x0 - nx, y0 - ny),
        ]
        draw.polygon(quad, fill=shape.color)
    for x, y in points:
        disc(x + 0.5, y + 0.5, radius)


def outputs() -> dict[Path, bytes]:
    """Every file this script writes, by path."""
    icon = icon_shapes()
    files: dict[Path, bytes] = {
        SVG_DIR / "icon.svg": to_svg(icon, (ICON_SIZE, ICON_SIZE)).encode()
    }
    files[PNG_DIR / "icon.png"] = to_png(icon, (ICON_SIZE, ICON_SIZE), 1.0)
    files[PNG_DIR / "icon@2x.png"] = to_png(icon, (ICON_SIZE, ICON_SIZE), 2.0)
    # The icon reads on light and dark themes alike (mid-tone colours, no outline), so
    # there is no dark_icon: Home Assistant falls back to icon.png. The wordmark's ink
    # does not, hence dark_logo.
    for prefix, ink in (("", INK), ("dark_", INK_DARK)):
        logo, size = logo_shapes(ink)
        files[SVG_DIR / f"{prefix}logo.svg"] = to_svg(logo, size).encode()
        files[PNG_DIR / f"{prefix}logo.png"] = to_png(logo, size, 1.0)
        files[PNG_DIR / f"{prefix}logo@2x.png"] = to_png(logo, size, 2.0)
    return files


def same_content(path: Path, data: bytes) -> bool:
    """Whether the file holds this content: pixels for PNGs (zlib builds differ), bytes else."""
    if not path.exists():
        return False
    if path.suffix != ".png":
        return path.read_bytes() == data
    with Image.open(path) as old, Image.open(io.BytesIO(data)) as new:
        return (
            old.mode == new.mode
            and old.size == new.size
            and old.tobytes() == new.tobytes()
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a file is stale"
    )
    args = parser.parse_args()
    stale = [
        (path, data) for path, data in outputs().items() if not same_content(path, data)
    ]
    for path, data in stale:
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        sys.stdout.write(
            f"{'stale' if args.check else 'written'}: {path.relative_to(ROOT)}\n"
        )
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
