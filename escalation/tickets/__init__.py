"""Tickets: the rules and references (rules), the working-time calendar, SLA arithmetic (sla)
and clock rows (clocks), the store, one change to a ticket (changes), the agents' desk
(desk, with views, customer and sweep), the actions agents take (actions), and what people
read about them (notices)."""
