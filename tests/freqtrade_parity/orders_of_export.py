"""Each trade's filled orders from Freqtrade's full trade export (export_trades.py with
FT_EXPORT_FULL=1), in the shape our `--export` writes them; trades by (open date, pair).

usage: orders_of_export.py TRADES_FULL_JSON_GZ > reference/orders/<Case>.json
"""

import gzip
import json
import sys
from datetime import UTC, datetime


def _iso(milliseconds: int) -> str:
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def main() -> None:
    with gzip.open(sys.argv[1], "rt") as fh:
        trades = json.load(fh)
    rows = [{
        "pair": t["pair"], "open_date": _iso(t["open_timestamp"]),
        "orders": [{"side": o["ft_order_side"], "amount": o["amount"], "price": o["safe_price"],
                    "filled_date": _iso(o["order_filled_timestamp"]),
                    "tag": o["ft_order_tag"] or None} for o in t["orders"]],
    } for t in trades]
    rows.sort(key=lambda r: (r["open_date"], r["pair"]))
    sys.stdout.write("[\n" + ",\n".join(json.dumps(r) for r in rows) + "\n]\n")


if __name__ == "__main__":
    main()
