import pytest

from knowledge.masking import mask_pii


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("身份证110101199003071234", "身份证110101********1234"),
        ("身份证11010119900307123X", "身份证110101********123X"),
        ("电话13812345678", "电话138****5678"),
        ("电话 +86 138-1234-5678", "电话 +86 138****5678"),
        ("订单号202506021234567890", "订单号202506021234567890"),  # not a birth date
        ("金额12345元", "金额12345元"),
    ],
)
def test_mask_pii(text: str, masked: str) -> None:
    assert mask_pii(text) == masked
