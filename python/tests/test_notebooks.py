"""The notebooks in notebooks/ are stored without outputs and run headless without error
(run with PYTHONPATH=build/python and Debian's /usr/bin/python3; the Jupyter kernel is the
"python3" kernelspec, which must be /usr/bin/python3 too)."""

import glob
import json
import os
import sys
import tempfile

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
traitlets = pytest.importorskip("traitlets")
import traitlets.config  # noqa: E402

import fulcrum  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTEBOOK_DIR = os.path.join(REPO, "notebooks")
NOTEBOOKS = sorted(glob.glob(os.path.join(NOTEBOOK_DIR, "*.ipynb")))
PYTHON = "/usr/bin/python3"
KERNEL = "python3"


def kernel_env():
    """The kernel's environment: this one, with PYTHONPATH made absolute (the kernel runs in
    notebooks/, so a relative PYTHONPATH=build/python would miss) and led by the directory
    this process imported fulcrum from, so both use the same build."""
    fulcrum_dir = os.path.dirname(os.path.dirname(os.path.abspath(fulcrum.__file__)))
    entries = [fulcrum_dir]
    for p in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if p and os.path.abspath(p) not in entries:
            entries.append(os.path.abspath(p))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(entries)
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # ipykernel's debugger warns about frozen modules
    env.pop("FULCRUM_REPO", None)  # policies_under_failure finds the repository from its cwd
    return env


def execute(nb):
    # The kernel's channels are Unix sockets in a folder of this test's own: over TCP,
    # jupyter_client picks five ports free a moment ago (bind to port 0, close) and the
    # kernel binds them later, when another test process (ctest -j) may have taken one.
    with tempfile.TemporaryDirectory(prefix="fulcrum-kernel-") as sockets:
        config = traitlets.config.Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(sockets, "k")}})
        client = nbclient.NotebookClient(nb, timeout=120, kernel_name=KERNEL, config=config,
                                         resources={"metadata": {"path": NOTEBOOK_DIR}})
        client.execute(env=kernel_env())
    return nb


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_notebooks_exist():
    names = {os.path.basename(p) for p in NOTEBOOKS}
    assert {"quickstart.ipynb", "policies_under_failure.ipynb", "resources.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL
    for i, cell in enumerate(code_cells(nb)):
        assert cell.outputs == [], f"{os.path.basename(path)}: code cell {i} has stored outputs"
        assert cell.execution_count is None, f"{os.path.basename(path)}: code cell {i} has an execution count"


def test_kernel_is_debian_python_with_fulcrum():
    """The "python3" kernel is /usr/bin/python3 and imports the same fulcrum as this process."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import json, os, sys, fulcrum\n"
        "print(json.dumps({'executable': sys.executable, 'fulcrum': fulcrum.__file__, 'cwd': os.getcwd()}))")])
    execute(nb)
    outputs = nb.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream" and o.name == "stdout")
    info = json.loads(text.strip().splitlines()[-1])
    assert os.path.realpath(info["executable"]) == os.path.realpath(PYTHON)
    assert os.path.realpath(sys.executable) == os.path.realpath(PYTHON)
    assert os.path.realpath(info["fulcrum"]) == os.path.realpath(fulcrum.__file__)
    assert os.path.realpath(info["cwd"]) == os.path.realpath(NOTEBOOK_DIR)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    try:
        execute(nb)  # raises CellExecutionError on the first failing cell
    finally:
        # for a look after a failure; never written into the repository
        nbformat.write(nb, str(tmp_path / os.path.basename(path)))
    cells = code_cells(nb)
    errors = [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    assert all(c.execution_count is not None for c in cells)
    images = [o for c in cells for o in c.outputs
              if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    assert images, f"{os.path.basename(path)} displayed no image/png"
    # the stored notebook is untouched
    stored = nbformat.read(path, as_version=4)
    assert all(c.outputs == [] for c in code_cells(stored))
