#!/usr/bin/env bash
# Freqtrade 2026.9's trades for the parity fixtures, written to reference/<Strategy>.json.
#   usage: tests/freqtrade_parity/regenerate.sh [Strategy ...]   (default: every configs/*.json)
# env: FTPY    python of a venv with freqtrade==2026.9 (default: /work/ftvenv/bin/python)
#      ORACLE  the oracle scripts (default: ../shared/oracle beside the project)
# Freqtrade runs offline on this folder's data/ and markets.json with --fee 0.001; nothing here
# is needed by the tests, which only read the lists it leaves behind.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export FTPY=${FTPY:-/work/ftvenv/bin/python}
ORACLE=${ORACLE:-$HERE/../../../shared/oracle}
OUT=$(mktemp -d)
if [ $# -eq 0 ]; then
    set -- $(cd "$HERE/configs" && ls *.json | sed 's/\.json$//')
fi
for strategy in "$@"; do
    FT_CONFIG="$HERE/configs/$strategy.json" FT_MARKETS_FILE="$HERE/markets.json" \
        "$ORACLE/run_freqtrade.sh" "$HERE/data" "$HERE/strategies" "$strategy" "$OUT/ft" >/dev/null
    cp "$OUT/ft_${strategy}_trades.json" "$HERE/reference/$strategy.json"
    echo "$strategy: $(grep -c '"pair"' "$HERE/reference/$strategy.json") trades -> reference/$strategy.json"
done
