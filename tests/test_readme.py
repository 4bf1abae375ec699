"""The README against the file: its worked example, run as a doctest, and its reading guide's line
ranges."""
import doctest
import re
import sys

import pytest

from conftest import ROOT, SCRIPT, load


def test_the_readme_session_prints_what_the_readme_says(monkeypatch):
    # `from microgpt import Value` in the session gets the script's own Value, already loaded
    monkeypatch.setitem(sys.modules, 'microgpt', load())
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    blocks = list(re.finditer(r'^```pycon\n(.*?)^```', readme, flags=re.M | re.S))
    assert blocks, 'the README has lost its >>> session'
    runner, names, report = doctest.DocTestRunner(optionflags=doctest.REPORT_NDIFF), {}, []
    for block in blocks:  # one session: the blocks share their names
        first_line = readme.count('\n', 0, block.start(1))
        session = doctest.DocTestParser().get_doctest(block.group(1), names, 'README.md',
                                                      'README.md', first_line)
        runner.run(session, out=report.append, clear_globs=False)
    assert runner.tries >= 5 and runner.failures == 0, ''.join(report)


@pytest.mark.reference  # the shipped file's line numbers: an edit moves them
def test_each_reading_guide_section_names_its_lines_in_the_file():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    guide = readme.split('## Reading guide', 1)[1].split('\n## ', 1)[0]
    sections = re.findall(r'^\*\*(\w+) \(lines (\d+)–(\d+)\)\.\*\*', guide, flags=re.M)
    assert len(sections) == 7, sections
    lines = SCRIPT.read_text(encoding='utf-8').split('\n')
    if lines[-1] == '':
        lines.pop()
    for name, first, last in sections:
        first, last = int(first), int(last)
        # a section starts after a blank line, with a line that names it, and ends before
        # a blank line
        assert first == 1 or lines[first - 2] == '', f'{name}: line {first - 1} is not blank'
        assert name.lower() in lines[first - 1].lower(), (f'{name}: line {first} is '
                                                          f'{lines[first - 1]!r}')
        assert last == len(lines) or lines[last] == '', f'{name}: line {last + 1} is not blank'
    ends = [(int(first), int(last)) for _, first, last in sections]
    assert all(last < next_first for (_, last), (next_first, _) in zip(ends, ends[1:]))
