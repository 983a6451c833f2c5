from hypothesis import given
from hypothesis import strategies as st

from bot import pii

PHONE = "13800000000"
ID = "11010519491231002X"  # the standard's own sample number


def test_phone_found_and_masked_in_many_spellings() -> None:
    for spelling in (PHONE, "138 0000 0000", "138-0000-0000", "+86 13800000000", "１３８００００００００"):
        assert pii.find_phones(f"电话{spelling}谢谢") == [PHONE]
        assert "0000 0000" not in pii.mask(spelling)
        assert pii.mask(f"电话{spelling}") == "电话138****0000"


def test_id_checksum() -> None:
    assert pii.id_checksum_ok(ID)
    assert not pii.id_checksum_ok(ID[:-1] + "1")
    assert pii.find_ids(f"身份证{ID}") == [ID]
    assert ID not in pii.mask(f"身份证{ID}")


def test_token_mask_for_features() -> None:
    assert pii.mask(f"电话{PHONE}", token=True) == "电话<PHONE>"
    assert pii.mask("电话138****5678", token=True) == "电话<PHONE>"


def test_longer_digit_runs_are_not_phones() -> None:
    assert pii.find_phones("订单号 213800000000123") == []


@given(st.text())
def test_mask_never_raises_and_hides_phones(text: str) -> None:
    out = pii.mask(text)
    assert pii.find_phones(out) == []
