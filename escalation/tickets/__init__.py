"""Tickets: the rules, the working-time calendar, SLA clocks, the store, the agents' desk and what
people read about them."""
