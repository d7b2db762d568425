#!/usr/bin/python3
"""Read a Prometheus text-format file with the Prometheus client's own
parser and print every sample as one line, name{label="value",...} value,
labels sorted, lines sorted; exit 1 with the parser's error when the file
is not valid exposition text.

  prom-parse.py FILE

SPDX-License-Identifier: GPL-2.0-or-later
"""
import sys

from prometheus_client.parser import text_string_to_metric_families

if len(sys.argv) != 2:
    sys.exit(__doc__)
try:
    text = open(sys.argv[1], encoding="utf-8").read()
    lines = []
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
            lines.append("%s%s %s" % (s.name, "{%s}" % labels if labels else "", repr(s.value)))
    print("\n".join(sorted(lines)))
except Exception as e:  # the parser raises ValueError and others
    print("prom-parse.py: %s: %s" % (sys.argv[1], e), file=sys.stderr)
    sys.exit(1)
