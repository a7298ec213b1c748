"""The ``tmb-reuse`` papermill engine: papermill's nbclient engine, run in a kernel that is already running.

papermill finds it through the ``papermill.engine`` entry point in ``pyproject.toml`` when papermill is
imported; :func:`tmb_analysis.site.kernels.execute_notebook` passes the kernel (``tmb_kernel``) and the
report's deadline (``tmb_deadline``). Import papermill before this module, as papermill itself does: the
entry point is loaded while ``papermill.engines`` is being imported.
"""

from __future__ import annotations

import math
import sys
import time

if "papermill.engines" not in sys.modules:
    # Imported before papermill. Importing papermill.engines loads the papermill.engine entry points, this
    # module among them, and would find it half-imported. So this half-run copy steps aside: papermill loads
    # the module anew, in full, and the import system hands that copy (what sys.modules holds under this
    # name when this body ends) to whoever imported this one; the rest of this body runs unused.
    del sys.modules[__name__]
    import papermill.engines  # noqa: F401

from nbclient.exceptions import CellTimeoutError
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine
from papermill.log import logger
from papermill.utils import remove_args

#: The engine's name, as the entry point registers it.
ENGINE_NAME = "tmb-reuse"


class DeadlineClient(PapermillNotebookClient):
    """papermill's notebook client that starts no code cell once the report's deadline has passed."""

    deadline = math.inf

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type == "code" and time.monotonic() >= self.deadline:
            raise CellTimeoutError.error_from_timeout_and_cell("The report's deadline passed", 0, cell)
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)


class ReuseEngine(NBClientEngine):
    """Executes the notebook in the running kernel given as ``tmb_kernel``
    (a :class:`~tmb_analysis.site.kernels.Kernel`):
    nbclient neither starts nor stops a kernel, so a worker runs every report in one kernel."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man,
        kernel_name,
        log_output=False,
        stdout_file=None,
        stderr_file=None,
        start_timeout=60,
        execution_timeout=None,
        **kwargs,
    ):
        kernel = kwargs.pop("tmb_kernel")
        deadline: float = kwargs.pop("tmb_deadline")
        kwargs = remove_args(["input_path", "timeout", "startup_timeout", "km"], **kwargs)
        client = DeadlineClient(
            nb_man,
            km=kernel.km,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            startup_timeout=start_timeout,
            timeout_func=lambda cell: max(1, math.ceil(deadline - time.monotonic())),
            **kwargs,
        )
        client.kc = kernel.kc  # the running kernel's client
        client.deadline = deadline
        return client.execute()
