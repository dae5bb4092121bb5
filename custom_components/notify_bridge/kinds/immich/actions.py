"""The Immich source's part of the `send` action: `immich_asset_id` media."""

from __future__ import annotations

from typing import Any
import uuid

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import voluptuous as vol

from ...const import DOMAIN
from ...pipeline.models import MediaItem, MediaType
from ...sources.immich.client import (
    ImmichAuthError,
    ImmichBadRequestError,
    ImmichError,
    ImmichMediaTooLargeError,
    ImmichNotFoundError,
)
from ...sources.immich.media import async_fetch_one
from .setup import ImmichConfigEntry

ATTR_IMMICH_ASSET_ID = "immich_asset_id"


def validate_asset_id(value: Any) -> str:
    """Validate an Immich asset id (a UUID; it becomes part of a request path)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as err:
        raise vol.Invalid("immich_asset_id must be an asset UUID") from err


async def async_fetch_asset(
    hass: HomeAssistant,
    entries: list[ImmichConfigEntry],
    asset_id: str,
    media_type: MediaType,
) -> MediaItem:
    """Fetch an asset from the loaded Immich server that has it (`send` action)."""
    failure: ImmichError | None = None
    for entry in entries:
        coordinator = entry.runtime_data.coordinator
        try:
            return await async_fetch_one(coordinator.client, asset_id, media_type)
        except ImmichNotFoundError, ImmichBadRequestError:
            continue
        except ImmichMediaTooLargeError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="immich_media_too_large",
                translation_placeholders={"asset_id": asset_id},
            ) from err
        except ImmichAuthError as err:
            coordinator.config_entry.async_start_reauth(hass)
            failure = err
        except ImmichError as err:
            failure = err
    if failure is not None:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="immich_download_failed",
            translation_placeholders={"asset_id": asset_id, "error": str(failure)},
        ) from failure
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="immich_asset_not_found",
        translation_placeholders={"asset_id": asset_id},
    )
