"""Incidents under the emergency plan (应急预案): the plan as data (plan), where incidents
come from (sources), their life (lifecycle) and the table of what people may do to them
(actions), their deadlines (timers, sweep), the card on-call chats get (cards), reports to
the bureau (bureau gathers, reports renders), and the one object the channels hold
(service.Incidents)."""
