"""Retention and the data subject's rights: the purge (PIPL Art. 19), a person's export and
erasure (Art. 45, 47).

`scope` says what a run covers, `apply` deletes and anonymises it, `audit` is the ledger
of runs, `purge` the retention, `subject` one person's export and erasure.

What a purge past the cut-off does:

- **Deleted**: the conversation record — `message` rows, `answer_feedback`, `handoff` — and
  the outbox copies of those messages (the replies and desk messages sent to the person,
  which carry their chat id). Users left with nothing are deleted.
- **Anonymised**: closed tickets closed and last changed before the cut-off. Their free text
  (summary, thread entries, order number, merchant, call-back phone, rating comment, the
  audit trail's free-text before/after, the agents' chat copies in the outbox) becomes a
  fixed marker or NULL, and the customer's identity in the thread and audit becomes
  "customer". The row keeps its reference, type, category, priority, status, assignee,
  times, SLA clocks and their results, and the CSAT score, so the digests' and reports'
  ticket numbers stay what they were. A user whose only remains are such tickets is kept
  as a pseudonym ("anonymised:#42", never a number, so nothing can be sent to it):
  `ticket.user_id` must point somewhere.
- **Kept**: everything of a user with a ticket that is not closed (open tickets and the
  conversation around them are live work); messages about an incident that is not resolved
  yet (and the replies to them): the evidence of a running incident; the incidents, their
  timelines and reports, digests and their ledger (the platform's own records, with masked
  excerpts only); agents and their console sessions (staff, not data subjects).

The cut-off is at least the reopen window: a closed ticket may be reopened by its customer
for seven days. Every purge and erasure writes a `privacy_audit` row; a dry run counts by
the very conditions the purge deletes by, and writes nothing, not even that row. Purging is
idempotent: every step selects only what is still there (or not yet marked), so a second
run at the same cut-off changes nothing; scheduled purges are also claimed once per slot
by a unique ledger key, so two instances on one database run each slot once.
"""
