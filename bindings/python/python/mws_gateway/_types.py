"""Types shared by the public modules."""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Union

#: A JSON object as the gateway returns it.
JSONObject = Dict[str, Any]
#: A request body: a dict (or any mapping) in the endpoint's own JSON shape.
Body = Mapping[str, Any]
#: A configuration file path.
PathLike = Union[str, "os.PathLike[str]"]
