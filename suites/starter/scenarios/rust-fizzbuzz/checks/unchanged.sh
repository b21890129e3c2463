#!/bin/sh
# Heuristic check: the named workspace file is byte-identical to the fixture's copy
# (the agent fixed the code, not the tests). Usage: unchanged.sh FILE
# Runs in the workspace. The fixture is found from this script's own (absolute) path rather
# than $ZEBENCH_SCENARIO_DIR, which can be relative to the directory zebench was started in.
f=${1:?usage: unchanged.sh FILE}
scenario_dir=$(cd "$(dirname "$0")/.." && pwd)
if cmp -s "$scenario_dir/repo-fixture/$f" "$f"; then
  echo "$f unchanged"
else
  echo "$f was modified or removed (compared with $scenario_dir/repo-fixture/$f)"
  exit 1
fi
