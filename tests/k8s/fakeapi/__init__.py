# SPDX-License-Identifier: BSD-3-Clause
"""A fake Kubernetes API server for lbd's control-plane tests (tests/k8s/README.md)."""
from . import objects
from .control import ControlClient
from .errors import ApiError
from .server import FakeAPI

__all__ = ["FakeAPI", "ControlClient", "ApiError", "objects"]
