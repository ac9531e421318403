#!/usr/bin/env bash
# Freqtrade 2026.9's trades for the parity fixtures, written to reference/<Strategy>.json.
#   usage: tests/freqtrade_parity/regenerate.sh [Case ...]   (default: every configs/*.json)
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
for case in "$@"; do
    config="$HERE/configs/$case.json"
    # A case is its config; the strategy is the config's "strategy", else the case's name.
    strategy=$("$FTPY" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("strategy", sys.argv[2]))' "$config" "$case")
    log=$(FT_CONFIG="$config" FT_MARKETS_FILE="$HERE/markets.json" \
        "$ORACLE/run_freqtrade.sh" "$HERE/data" "$HERE/strategies" "$strategy" "$OUT/$case" | sed -n 's/^log: //p')
    cp "$OUT/${case}_${strategy}_trades.json" "$HERE/reference/$case.json"
    # A case with position adjustment keeps each trade's orders too (reference/orders/).
    if "$FTPY" -c 'import json, sys; sys.exit(not json.load(open(sys.argv[1])).get("position_adjustment_enable"))' "$config"; then
        FT_EXPORT_FULL=1 "$FTPY" "$ORACLE/export_trades.py" "$(dirname "$log")/user_data/backtest_results" "$OUT/full-$case" >/dev/null
        mkdir -p "$HERE/reference/orders"
        "$FTPY" "$HERE/orders_of_export.py" "$OUT/full-${case}_${strategy}_trades_full.json.gz" > "$HERE/reference/orders/$case.json"
    fi
    echo "$case ($strategy): $(grep -c '"pair"' "$HERE/reference/$case.json") trades -> reference/$case.json"
done
