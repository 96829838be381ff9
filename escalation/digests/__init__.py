"""Scheduled digests for supervisors and the bureau: when they are due (cron.py,
schedule.py), what a period adds up to (model.py, report.py), how it is rendered
(render.py, chart.py), and the T+1 statistics it reports (stats.py)."""
