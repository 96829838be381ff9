"""Scheduled digests for supervisors and the bureau: the schedule, what a period adds up to,
how it is rendered, and the T+1 statistics it reports."""
