"""Program-owned markdown sections: a rewrite replaces its own section only, appends a new one, starts a page."""

from __future__ import annotations

from core.markdown import replace_section


def test_a_section_is_replaced_appended_or_started(tmp_path):
    page = tmp_path / "page.md"
    replace_section(page, "results", "a", "first A", "Results")
    assert page.read_text() == "# Results\n\n<!-- results:a -->\nfirst A\n<!-- /results:a -->\n"
    replace_section(page, "results", "b", "B", "Results")
    page.write_text(page.read_text().replace("# Results\n", "# Results\n\nProse a person wrote.\n"))
    replace_section(page, "results", "a", "second A\n\nwith $1 and \\1 kept as they are", "Results")
    text = page.read_text()
    assert "Prose a person wrote." in text and "first A" not in text
    assert "second A\n\nwith $1 and \\1 kept as they are" in text
    assert text.index("<!-- results:a -->") < text.index("<!-- results:b -->")  # replaced in place
    assert text.count("<!-- results:a -->") == 1 and text.count("<!-- /results:b -->") == 1
