"""This run of agenthost: its UTC stamp (the folder its backups go in) and its own id (in the
run lock, and in temporary names, so two runs never write through the same file)."""

import uuid
from datetime import UTC, datetime

RUN_STAMP = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
RUN_ID = f"{RUN_STAMP}-{uuid.uuid4().hex[:8]}"
