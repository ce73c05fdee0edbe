"""The filing calendar and the stage of each invoice type derived from it."""

from appliance.calendar.filing import FilingCalendar, default_calendar
from appliance.calendar.stage import Stage, TypeStatus, derive_status

__all__ = ["FilingCalendar", "Stage", "TypeStatus", "default_calendar", "derive_status"]
