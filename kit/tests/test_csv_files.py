import pytest

from jembatan_kit.csv_files import read_rows
from jembatan_kit.errors import RuleViolation


def test_rows_come_back_with_lower_case_columns_and_stripped_values() -> None:
    content = "\ufeffNIK , Full_Name\n 3367010101000001 ,  Budi \n\n"
    assert read_rows(content.encode(), ("nik", "full_name")) == [
        {"nik": "3367010101000001", "full_name": "Budi"}
    ]


def test_tab_separated_files_are_read() -> None:
    assert read_rows(b"a\tb\n1\t2\n", ("a", "b")) == [{"a": "1", "b": "2"}]


def test_a_file_that_is_not_utf8_is_refused_with_the_rule() -> None:
    with pytest.raises(RuleViolation) as refused:
        read_rows("nik\n\u00e9".encode("latin-1"), ("nik",))
    assert refused.value.rule == "bulk_encoding"


def test_too_many_rows_are_refused_before_anything_is_read_further() -> None:
    with pytest.raises(RuleViolation) as refused:
        read_rows(b"a\n1\n2\n3\n", ("a",), max_rows=2)
    assert refused.value.rule == "bulk_too_large"
    assert "at most 2 rows" in refused.value.message
