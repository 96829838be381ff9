"""Incidents under the emergency plan (应急预案): the plan as data, the lifecycle and the
reports to the bureau."""
