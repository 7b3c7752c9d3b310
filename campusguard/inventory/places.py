"""Inventory section: buildings and their rooms."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from campusguard.config.types import Identifier, NonEmptyStr, StrictModel

__all__ = ["Building", "Room"]


class Room(StrictModel):
    """A room. ``kind`` is free, e.g. classroom, lab, office, server_room, dorm, kitchen,
    bathroom, corridor, workshop, reading_room, hall. Floors count from 1 (ground floor);
    basements are negative."""

    id: Identifier
    kind: Identifier
    name: NonEmptyStr | None = None
    name_en: NonEmptyStr | None = None
    floor: Annotated[int, Field(ge=-9, le=300)] | None = None
    description: NonEmptyStr | None = None


class Building(StrictModel):
    """A building; room ids are unique within it (checked with the site's cross-references)."""

    id: Identifier
    name: NonEmptyStr
    name_en: NonEmptyStr | None = None
    floors: Annotated[int, Field(ge=1, le=300)] = 1
    rooms: tuple[Room, ...] = ()
    description: NonEmptyStr | None = None

    def room(self, room_id: str) -> Room | None:
        return next((room for room in self.rooms if room.id == room_id), None)
