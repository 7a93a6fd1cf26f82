"""Bridges between dlscratch and other frameworks.

``dlscratch.interop.torch``: PyTorch state_dicts, ``torch.nn`` modules and torchvision
checkpoints. PyTorch is optional (``pip install torch==2.13.0`` takes the CPU build); it is
imported only when a function that needs it is called, so importing this package never
requires it.
"""

__all__: list[str] = []
