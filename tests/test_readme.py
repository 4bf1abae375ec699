"""The README's worked example, run as a doctest: change a number there and this test fails."""
import doctest
import re
import sys

from conftest import ROOT, load


def test_the_readme_session_prints_what_the_readme_says(monkeypatch):
    # `from microgpt import Value` in the session gets the script's own Value, already loaded
    monkeypatch.setitem(sys.modules, 'microgpt', load())
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    blocks = list(re.finditer(r'^```pycon\n(.*?)^```', readme, flags=re.M | re.S))
    assert blocks, 'the README has lost its >>> session'
    runner, names, report = doctest.DocTestRunner(optionflags=doctest.REPORT_NDIFF), {}, []
    for block in blocks:  # one session: the blocks share their names
        first_line = readme.count('\n', 0, block.start(1))
        session = doctest.DocTestParser().get_doctest(block.group(1), names, 'README.md', 'README.md',
                                                      first_line)
        runner.run(session, out=report.append, clear_globs=False)
    assert runner.tries >= 5 and runner.failures == 0, ''.join(report)
