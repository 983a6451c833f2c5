"""The one recogniser behind masking and extraction (bot.pii).

Literal numbers here are the invalid 13800000000 (in several spellings) or the standard's own
sample ID; everything else is generated at test time and never printed by a passing run.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import pii

PHONE = "13800000000"
ID = "11010519491231002X"  # the standard's own sample number
CHINESE = {"0": "零〇", "1": "一幺壹", "2": "二贰", "3": "三叁", "4": "四肆", "5": "五伍",
           "6": "六陆", "7": "七柒", "8": "八捌", "9": "九玖"}
FULL = {d: chr(0xFF10 + int(d)) for d in "0123456789"}


def test_phone_found_and_masked_in_many_spellings() -> None:
    for spelling in (PHONE, "138 0000 0000", "138-0000-0000", "+86 13800000000", "１３８００００００００",
                     "138.0000.0000", "138 - 0000 - 0000", "138\u200b0000\u200b0000",
                     "1\u200b3800000000", "一三八零零零零零零零零", "幺三八 零零零零 〇〇〇〇",
                     "138·0000·0000", "0086-138-0000-0000", "+8613800000000"):
        assert pii.find_phones(f"电话{spelling}谢谢") == [PHONE], spelling
        assert pii.mask(f"电话{spelling}") == "电话138****0000", spelling


def test_id_checksum() -> None:
    assert pii.id_checksum_ok(ID)
    assert not pii.id_checksum_ok(ID[:-1] + "1")
    assert pii.find_ids(f"身份证{ID}") == [ID]
    assert ID not in pii.mask(f"身份证{ID}")
    spaced = f"{ID[:6]} {ID[6:14]} {ID[14:]}"
    assert pii.find_ids(f"身份证{spaced}") == [ID]
    assert pii.find_ids("".join(CHINESE[d][0] if d.isdigit() else d for d in ID)) == [ID]
    assert pii.mask(f"身份证{spaced}") == "身份证110***********002X"


def test_token_mask_for_features() -> None:
    assert pii.mask(f"电话{PHONE}", token=True) == "电话<PHONE>"
    assert pii.mask("电话138****5678", token=True) == "电话<PHONE>"
    assert pii.mask("电话一三八零零零零零零零零", token=True) == "电话<PHONE>"


def test_longer_digit_runs_are_not_phones() -> None:
    assert pii.find_phones("订单号 213800000000123") == []
    assert pii.find_phones("订单号 1380000000012") == []


def test_ordinary_chinese_numerals_are_not_numbers() -> None:
    text = "一三五要去医院，二四六透析，一共三个人，十一点前到"
    assert pii.find_phones(text) == []
    assert pii.mask(text) == text


_SEPARATORS = st.sampled_from([" ", "-", " - ", ".", "\u200b", "\u3000", "\u2014", "·", "\ufeff"])


class Spelled:
    """A generated number and its spelling; its repr is masked, so a failing run prints no number."""

    def __init__(self, digits: str, text: str) -> None:
        self.digits, self.text = digits, text

    def __repr__(self) -> str:
        return f"Spelled({pii.mask_phone(self.digits)!r}, {len(self.text)} characters)"


@st.composite
def spelled_phone(draw: st.DrawFn) -> Spelled:
    """A generated mobile number (kept in memory) and one way a person might write it."""
    digits = "1" + draw(st.sampled_from("3456789")) + "".join(
        draw(st.lists(st.sampled_from("0123456789"), min_size=9, max_size=9)))
    script = draw(st.sampled_from(["ascii", "full", "chinese", "mixed"]))
    chars = []
    for d in digits:
        s = script if script != "mixed" else draw(st.sampled_from(["ascii", "full", "chinese"]))
        chars.append(d if s == "ascii" else FULL[d] if s == "full" else
                     draw(st.sampled_from(CHINESE[d])))
    cuts = draw(st.sets(st.integers(1, 10), max_size=4))
    out = ""
    for i, ch in enumerate(chars):
        if i in cuts:
            out += draw(_SEPARATORS)
        out += ch
    prefix = draw(st.sampled_from(["", "+86 ", "0086-", "+86"]))
    return Spelled(digits, prefix + out)


_WORDS = st.text(alphabet="请联系电话我是孕妇急谢谢，。！ abc", max_size=12)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300, print_blob=False)
@given(spelled_phone(), _WORDS, _WORDS)
def test_every_spelling_is_extracted_and_masked(number: Spelled, before: str, after: str) -> None:
    digits, spelled = number.digits, number.text
    text = f"{before}{spelled}{after}"
    # booleans only, so a failure message never echoes the generated number
    extracted = pii.find_phones(text) == [digits]
    masked = pii.mask(text)
    hidden = masked == f"{before}{digits[:3]}****{digits[-4:]}{after}"
    assert extracted, "extraction missed a spelling"
    assert hidden, "masking left a readable number"
    assert pii.find_phones(masked) == []
    same_mask = pii.mask_phone(spelled) == digits[:3] + "****" + digits[-4:]
    assert same_mask


@given(st.text())
def test_mask_never_raises_and_hides_phones(text: str) -> None:
    out = pii.mask(text)
    assert pii.find_phones(out) == []
