"""Write the student handout: this repository without the homework's solutions, as a folder and a
zip. A script, not a test; standard library only, so it runs from a clone or from a downloaded zip
(no git needed), on any system:

    python3 tests/handout.py ../handout       # macOS, Linux
    py tests\\handout.py ..\\handout            # Windows, cmd or PowerShell

It writes ../handout/microgpt/ (the repository's files but tests/solutions.py: no .git, .venv or
caches, and nothing else you keep beside them, such as a folder of submissions) and
../handout/microgpt.zip of the same files. The destination must be outside the repository, and must
not hold a handout already.
"""
import os
import shutil
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEFT_OUT_FILES = {os.path.join('tests', 'solutions.py'), 'input.txt.part'}
LEFT_OUT_FOLDERS = {'.git', '.venv', '__pycache__', '.pytest_cache'}


# What the repository holds at its top level: anything else there (a teacher's submissions/, a
# copy being graded) is not handed out
TOP = ['.ci', '.gitignore', 'LICENSE', 'README.md', 'input.txt', 'microgpt.py', 'progression',
       'tests']


def files():
    """The repository's files to hand out, as paths relative to its root, sorted."""
    found = []
    for top in TOP:
        if os.path.isfile(os.path.join(ROOT, top)):
            found.append(top)
        for folder, subfolders, names in os.walk(os.path.join(ROOT, top)):
            subfolders[:] = sorted(d for d in subfolders if d not in LEFT_OUT_FOLDERS)
            for name in sorted(names):
                path = os.path.relpath(os.path.join(folder, name), ROOT)
                if path not in LEFT_OUT_FILES and not name.endswith('.pyc'):
                    found.append(path)
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    destination = os.path.abspath(sys.argv[1])
    if os.path.commonpath([destination, ROOT]) == ROOT:
        sys.exit(f'handout: {destination} is inside the repository; write it outside, '
                 f'e.g. ../handout')
    folder = os.path.join(destination, 'microgpt')
    archive = os.path.join(destination, 'microgpt.zip')
    if os.path.exists(folder) or os.path.exists(archive):
        sys.exit(f'handout: {destination} already holds a handout; remove it first')
    handed_out = files()
    os.makedirs(destination, exist_ok=True)
    with zipfile.ZipFile(archive + '.part', 'w', zipfile.ZIP_DEFLATED) as zipped:
        for path in handed_out:
            target = os.path.join(folder, path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, path), target)
            zipped.write(os.path.join(ROOT, path), 'microgpt/' + path.replace(os.sep, '/'))
    os.replace(archive + '.part', archive)
    print(f'handout: {len(handed_out)} files in {folder} and {archive} '
          f'(without tests/solutions.py)')


if __name__ == '__main__':
    main()
