"""Brand images, manifest and licence: what Home Assistant, hassfest and HACS read.

Rules checked here, from their documentation (none of those tools' code is copied):
- Home Assistant >= 2026.3 serves a custom integration's ``brand/`` folder under
  ``/api/brands/integration/<domain>/<image>``, only for the eight names in
  ``homeassistant.components.brands.const.ALLOWED_IMAGES``; HACS' brands check looks for
  ``custom_components/<domain>/brand/icon.png``.
- home-assistant/brands image rules: PNG, transparency preferred, trimmed, compressed;
  icons 1:1 at 256x256 (hDPI 512x512); logos landscape, shortest side 128-256 (hDPI
  256-512).
- Integration manifest: ``domain``, ``name``, then the other keys alphabetically;
  custom integrations need ``version``, ``documentation``, ``codeowners``,
  ``requirements``, and (for HACS) ``issue_tracker``.
"""

from __future__ import annotations

from importlib.metadata import version
import importlib.util
import io
import json
from pathlib import Path
import sys
import tomllib
from types import ModuleType
from typing import get_type_hints

from homeassistant.components.brands.const import ALLOWED_IMAGES
from homeassistant.core import HomeAssistant
from homeassistant.loader import Manifest
from homeassistant.setup import async_setup_component
from packaging.requirements import Requirement
from PIL import Image, ImageChops
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

ROOT = Path(__file__).resolve().parent.parent
COMPONENT = ROOT / "custom_components" / "notify_bridge"
BRAND = COMPONENT / "brand"
MANIFEST = COMPONENT / "manifest.json"

# A brand image is fetched by every browser that opens the integrations page.
MAX_BYTES = 100 * 1024
ICON_SIZES = {"icon.png": 256, "icon@2x.png": 512}
LOGO_SHORT_SIDE = {"logo.png": (128, 256), "logo@2x.png": (256, 512)}
# developers.home-assistant.io/docs/creating_integration_manifest#iot-class
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}


def _open(name: str) -> Image.Image:
    image = Image.open(BRAND / name)
    image.load()
    return image


def _light_name(name: str) -> str:
    return name.removeprefix("dark_")


def _brand_files() -> list[str]:
    return sorted(path.name for path in BRAND.iterdir())


def test_brand_folder_holds_only_images_home_assistant_serves() -> None:
    """Anything else in brand/ is shipped to every user by HACS and never served."""
    names = _brand_files()
    assert {"icon.png", "icon@2x.png", "logo.png", "logo@2x.png"} <= set(names)
    assert set(names) <= ALLOWED_IMAGES
    # A dark variant without its light counterpart would leave light themes on the
    # fallback chain's icon while dark themes get a logo.
    for name in names:
        assert _light_name(name) in names, name


@pytest.mark.parametrize("name", sorted(ALLOWED_IMAGES))
def test_each_brand_image_is_a_small_transparent_png(name: str) -> None:
    if not (BRAND / name).exists():
        pytest.skip(f"{name} not shipped: Home Assistant falls back to another image")
    assert (BRAND / name).stat().st_size < MAX_BYTES
    image = _open(name)
    assert image.format == "PNG"
    assert image.mode == "RGBA"
    # No embedded colour profile: the pixels are read as sRGB, as the brands rules ask.
    assert "icc_profile" not in image.info
    alpha = image.getchannel("A")
    width, height = image.size
    corners = [(0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1)]
    assert all(alpha.getpixel(corner) == 0 for corner in corners)
    # Trimmed: the artwork reaches (within 2 %) both ends of its longer extent.
    left, top, right, bottom = alpha.getbbox() or (0, 0, 0, 0)
    slack = max(2, round(0.02 * max(width, height)))
    spans_width = left <= slack and right >= width - slack
    spans_height = top <= slack and bottom >= height - slack
    assert spans_width or spans_height, (left, top, right, bottom)


@pytest.mark.parametrize("name", sorted(ICON_SIZES))
@pytest.mark.parametrize("prefix", ["", "dark_"])
def test_icons_are_square_at_the_exact_size(prefix: str, name: str) -> None:
    if not (BRAND / f"{prefix}{name}").exists():
        pytest.skip("no dark icon: the icon reads on dark themes too")
    side = ICON_SIZES[name]
    assert _open(f"{prefix}{name}").size == (side, side)


@pytest.mark.parametrize("name", sorted(LOGO_SHORT_SIDE))
@pytest.mark.parametrize("prefix", ["", "dark_"])
def test_logos_are_landscape_within_the_size_bounds(prefix: str, name: str) -> None:
    width, height = _open(f"{prefix}{name}").size
    low, high = LOGO_SHORT_SIDE[name]
    assert width >= height
    assert low <= height <= high
    # The brands rules prefer the largest allowed shortest side.
    assert height == high


@pytest.mark.parametrize("prefix", ["", "dark_"])
def test_hdpi_images_are_the_same_picture_at_twice_the_size(prefix: str) -> None:
    for base in ("icon", "logo"):
        if not (BRAND / f"{prefix}{base}.png").exists():
            continue
        small = _open(f"{prefix}{base}.png")
        large = _open(f"{prefix}{base}@2x.png")
        assert abs(large.width - 2 * small.width) <= 1
        assert large.height == 2 * small.height
        # Downscaled, the hDPI image matches the 1x one: same design, not a stale copy.
        shrunk = large.resize(small.size, Image.Resampling.BOX)
        assert _differing_fraction(shrunk, small) < 0.005


def test_dark_logo_differs_from_the_light_one() -> None:
    """A dark variant identical to the light image is dead weight: HA falls back."""
    light, dark = _open("logo.png"), _open("dark_logo.png")
    assert light.size == dark.size
    assert _differing_fraction(light, dark) > 0.01


def _differing_fraction(a: Image.Image, b: Image.Image, threshold: int = 48) -> float:
    """Share of pixels where a and b differ by more than ``threshold`` in a channel."""
    diff = ImageChops.difference(_premultiplied(a), _premultiplied(b))
    per_pixel = diff.convert("L").point(lambda v: 255 if v > threshold else 0)
    hist = per_pixel.histogram()
    return hist[255] / (a.width * a.height)


def _premultiplied(image: Image.Image) -> Image.Image:
    # Colour under full transparency is invisible; compare what is shown.
    return image.convert("RGBa").convert("RGB")


@pytest.fixture(scope="module")
def brand_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "brand_script", ROOT / "scripts" / "brand.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_committed_images_are_what_the_script_draws(brand_script: ModuleType) -> None:
    """The PNGs and SVGs come from scripts/brand.py: nobody edited one by hand."""
    outputs: dict[Path, bytes] = brand_script.outputs()
    assert {path.name for path in outputs if path.parent == BRAND} == set(
        _brand_files()
    )
    for path, data in outputs.items():
        if path.suffix == ".svg":
            assert path.read_text() == data.decode(), (
                f"{path.name}: run scripts/brand.py"
            )
            continue
        expected = Image.open(io.BytesIO(data))
        # Pillow versions may rasterise an edge pixel differently; the design may not.
        assert _differing_fraction(_open(path.name), expected) < 0.002, path.name


def test_wordmark_has_every_letter_of_the_name(brand_script: ModuleType) -> None:
    manifest = json.loads(MANIFEST.read_text())
    shapes = brand_script.wordmark_shapes(manifest["name"], "#000", 0.0, 0.0, 1.0)
    assert len(shapes) >= len(manifest["name"].replace(" ", ""))
    with pytest.raises(KeyError):
        brand_script.wordmark_shapes("Notify Bridgé", "#000", 0.0, 0.0, 1.0)


# --- manifest.json ---------------------------------------------------------------


def _manifest_pairs() -> list[tuple[str, object]]:
    pairs: list[tuple[str, object]] = json.loads(
        MANIFEST.read_text(), object_pairs_hook=list
    )
    return pairs


def test_manifest_keys_are_in_hassfest_order() -> None:
    keys = [key for key, _ in _manifest_pairs()]
    assert len(keys) == len(set(keys))
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_has_what_a_custom_integration_needs() -> None:
    manifest = dict(_manifest_pairs())
    assert manifest["domain"] == COMPONENT.name
    for key in (
        "codeowners",
        "documentation",
        "integration_type",
        "iot_class",
        "issue_tracker",
        "requirements",
        "version",
    ):
        assert manifest.get(key), key
    # A misspelt key is silently ignored by Home Assistant.
    assert set(manifest) <= set(get_type_hints(Manifest))
    assert manifest["iot_class"] in IOT_CLASSES
    for key in ("documentation", "issue_tracker"):
        assert str(manifest[key]).startswith("https://"), key


def test_manifest_requirements_are_met_by_the_test_stack() -> None:
    """The ranges users get installed include the versions the suite runs on."""
    manifest = dict(_manifest_pairs())
    requirements = [Requirement(line) for line in manifest["requirements"]]  # type: ignore[attr-defined]
    assert {req.name for req in requirements} == {"aiosmtplib", "python-telegram-bot"}
    for req in requirements:
        assert req.specifier.contains(version(req.name)), (req, version(req.name))
        # A range, not a pin: Home Assistant's own pins for these libraries move.
        assert not any(spec.operator == "==" for spec in req.specifier), req


def test_manifest_loggers_are_modules_of_the_requirements() -> None:
    """Enabling debug logging for the integration raises exactly these loggers."""
    manifest = dict(_manifest_pairs())
    loggers: list[str] = manifest["loggers"]  # type: ignore[assignment]
    assert loggers == ["telegram"]
    for logger in loggers:
        assert importlib.util.find_spec(logger.split(".")[0]) is not None, logger


# --- licence ---------------------------------------------------------------------


def test_licence_file_and_pyproject_agree() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 Notify Bridge contributors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text


# --- served by Home Assistant --------------------------------------------------------

# What a browser asking Home Assistant for each image gets: the file itself, or (no
# dark icon is shipped) the light icon through Home Assistant's fallback chain.
SERVED_AS = {
    "icon.png": "icon.png",
    "icon@2x.png": "icon@2x.png",
    "logo.png": "logo.png",
    "logo@2x.png": "logo@2x.png",
    "dark_icon.png": "icon.png",
    "dark_icon@2x.png": "icon@2x.png",
    "dark_logo.png": "dark_logo.png",
    "dark_logo@2x.png": "dark_logo@2x.png",
}


async def test_home_assistant_serves_the_brand_images(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """The integrations page gets our images from the local API, not the brands CDN."""
    assert set(SERVED_AS) == ALLOWED_IMAGES
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()
    for image, source in SERVED_AS.items():
        response = await client.get(f"/api/brands/integration/{COMPONENT.name}/{image}")
        assert response.status == 200, image
        assert response.content_type == "image/png"
        assert await response.read() == (BRAND / source).read_bytes(), image
