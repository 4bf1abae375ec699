"""The lessons' pictures (progression/pictures/): each one parses, the script draws each from the
kept numbers byte for byte, the numbers are the model's own, and every picture the README or the
lessons show is there."""
import importlib.util
import json
import re
import xml.etree.ElementTree as ElementTree

import pytest

from conftest import ROOT, SPEC_LOSSES

PICTURES = ROOT / 'progression' / 'pictures'


def the_script():
    spec = importlib.util.spec_from_file_location('pictures', ROOT / 'progression' / 'pictures.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def numbers():
    return json.loads((PICTURES / 'numbers.json').read_text(encoding='utf-8'))


@pytest.mark.parametrize('name', sorted(p.name for p in PICTURES.glob('*.svg')))
def test_a_picture_is_an_svg_that_parses(name):
    root = ElementTree.parse(PICTURES / name).getroot()
    assert root.tag == '{http://www.w3.org/2000/svg}svg' and root.get('viewBox'), root.tag


def test_the_script_draws_the_pictures_from_the_numbers_byte_for_byte():
    drawn = the_script().draw(numbers())
    assert sorted(drawn) == sorted(p.name for p in PICTURES.glob('*.svg'))
    for name, picture in drawn.items():
        assert (PICTURES / name).read_text(encoding='utf-8') == picture, \
            (f'progression/pictures/{name} is not what the script draws: '
             f'python3 progression/pictures.py --draw')


@pytest.mark.reference
def test_the_numbers_are_the_model_s_own():
    kept = numbers()
    # the loss curve starts with the reference's first losses; the worked graph is the
    # file's Value's
    assert [f'{loss:.4f}' for loss in kept['loss_curve']['losses'][:5]] == SPEC_LOSSES
    assert kept['value_graph'] == the_script().worked_graph()
    assert len(kept['loss_curve']['losses']) == 1000 and kept['attention']['word'] == 'olivia'


def test_every_picture_shown_is_there():
    for page in (ROOT / 'README.md', ROOT / 'progression' / 'README.md'):
        shown = re.findall(r'!\[[^\]]*\]\(([^)]+\.svg)\)', page.read_text(encoding='utf-8'))
        assert shown, f'{page.name} shows no picture'
        for path in shown:
            assert (page.parent / path).is_file(), (f'{page.relative_to(ROOT)} shows {path}, '
                                                    f'which is not there')
