"""Generated protobuf code lives here (``make proto``); importing this package makes it importable.

cosmpy ships the Cosmos SDK and CometBFT messages compiled as top-level packages (``cosmos``,
``tendermint``); Infera's own messages are generated under ``chain/pb/infera``. Both roots are
put on ``sys.path`` so generated imports such as ``from infera.bank.v1 import tx_pb2`` resolve.
"""

import os
import sys

import cosmpy.protos  # noqa: F401  (adds cosmpy's generated root to sys.path)

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.append(_HERE)
