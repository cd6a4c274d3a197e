"""What a PyTorch peer computes with, for its output line.

`backend()` is "BLAS,ISA" with no spaces, e.g. "mkl-2024.2,AVX512": the BLAS
library PyTorch was built with and its version (from torch.__config__.show(),
the same text a user reads), and the CPU kernels PyTorch dispatches to
(torch.backends.cpu.get_cpu_capability()). A bench line names its own BLAS
and core; this names the peer's, so a ratio says which two libraries it
compares.
"""

import re

import torch


def backend() -> str:
    config = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=(\w+)", config)
    name = blas.group(1) if blas else "unknown"
    version = re.search(r"Math Kernel Library Version ([0-9.]+)", config)
    if name == "mkl" and version:
        name = f"mkl-{version.group(1)}"
    try:
        isa = torch.backends.cpu.get_cpu_capability()
    except AttributeError:  # torch < 2.1
        isa = "unknown"
    return f"{name},{isa}".replace(" ", "_")
