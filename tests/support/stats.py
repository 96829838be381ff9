"""A statistics CSV's header and one row, and the shipped sample, for the stats tests."""

from __future__ import annotations

from pathlib import Path

HEADER = (
    "日期,行业,发放券数,发放金额（元）,领券人数,用券人数,核销笔数,核销金额（元）,"
    "配套优惠金额（元）,退款金额（元）,参与商户数,带动销售额（元）"
)
ROW = (
    '2025-06-02,家电,"12,000","1,800,000.00",9500,4200,4800,"720,000.50",'
    '150000,12000,320,"5,600,000"'
)
SAMPLE = Path(__file__).parents[2] / "escalation" / "digests" / "data" / "stats-sample.csv"
