"""Print pip constraints that pin every `name>=floor` of a requirements file to its floor, so that an
install with them gets the lowest versions the requirements allow (CI's floor step)."""

import re
import sys
from pathlib import Path

for line in Path(sys.argv[1] if len(sys.argv) > 1 else "requirements.txt").read_text().splitlines():
    found = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][^,;\s#]*)", line)
    if found:
        print(f"{found.group(1)}=={found.group(2)}")
